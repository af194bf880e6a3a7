package api

import (
	"context"
	"fmt"

	"github.com/google/uuid"

	"github.com/brigadeplatform/brigade/internal/auth"
	"github.com/brigadeplatform/brigade/internal/core"
)

// CreateProject stores a new project. The server assigns created and the
// substrate namespace.
func (s *Service) CreateProject(ctx context.Context, p *core.Project) (*core.Project, error) {
	who, err := require(ctx, auth.RoleProjectCreator, "")
	if err != nil {
		return nil, err
	}
	if err := checkProjectPaths(p); err != nil { // paths.go
		return nil, err
	}
	p.Metadata.Created = timePtr(s.now())
	p.Kubernetes = &core.ProjectKubernetes{Namespace: "brigade-" + uuid.NewString()}
	defer s.forgetPrincipals() // the creator's new roles hold from its next request on
	err = s.store.Tx(ctx, func(ctx context.Context) error {
		if err := s.store.Projects().Create(ctx, p); err != nil {
			return err
		}
		return s.grantCreator(ctx, who, p.Metadata.ID)
	})
	if err != nil {
		return nil, err
	}
	s.log.Info("project created", "project", p.Metadata.ID)
	return p, nil
}

// GetProject returns one project.
func (s *Service) GetProject(ctx context.Context, id string) (*core.Project, error) {
	if _, err := require(ctx, auth.RoleReader, ""); err != nil {
		return nil, err
	}
	return s.store.Projects().Get(ctx, id)
}

// ListProjects pages through projects by id.
func (s *Service) ListProjects(ctx context.Context, opts core.ListOptions) ([]core.Project, core.ListMeta, error) {
	if _, err := require(ctx, auth.RoleReader, ""); err != nil {
		return nil, core.ListMeta{}, err
	}
	return s.store.Projects().List(ctx, opts)
}

// UpdateProject changes a project's description and spec. With create, a
// missing project is created instead (which needs PROJECT_CREATOR).
func (s *Service) UpdateProject(ctx context.Context, id string, p *core.Project, create bool) (*core.Project, error) {
	if _, err := require(ctx, auth.RoleReader, ""); err != nil {
		return nil, err
	}
	if p.Metadata.ID != id {
		return nil, core.NewBadRequest(fmt.Sprintf("The project IDs in the URL path and request body do not match. The path names %q and the body %q.", id, p.Metadata.ID))
	}
	cur, err := s.store.Projects().Get(ctx, id)
	if core.IsNotFound(err) && create {
		return s.CreateProject(ctx, p)
	}
	if err != nil {
		return nil, err
	}
	if _, err := requireProject(ctx, id, auth.RoleProjectDeveloper); err != nil {
		return nil, err
	}
	if err := checkProjectPaths(p); err != nil { // paths.go
		return nil, err
	}
	cur.Description = p.Description
	cur.Spec = p.Spec
	if err := s.store.Projects().Update(ctx, cur); err != nil {
		return nil, err
	}
	return cur, nil
}

// DeleteProject removes a project and everything that belongs to it.
func (s *Service) DeleteProject(ctx context.Context, id string) error {
	if _, err := require(ctx, auth.RoleReader, ""); err != nil {
		return err
	}
	if _, err := s.store.Projects().Get(ctx, id); err != nil {
		return err
	}
	if _, err := requireProject(ctx, id, auth.RoleProjectAdmin); err != nil {
		return err
	}
	var ids []string
	defer s.forgetPrincipals() // roles on the project go with it
	err := s.store.Tx(ctx, func(ctx context.Context) error {
		var err error
		if ids, err = s.store.Events().IDs(ctx, core.EventSelector{ProjectID: id}); err != nil {
			return fmt.Errorf("listing the project's events: %w", err)
		}
		if err := s.store.Projects().Delete(ctx, id); err != nil {
			return err
		}
		for _, e := range ids {
			if err := s.scheduleCleanup(ctx, e, true); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	s.log.Info("project deleted", "project", id, "events", len(ids))
	return nil
}
