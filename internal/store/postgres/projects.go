package postgres

import (
	"context"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"

	"github.com/brigadeplatform/brigade/internal/core"
)

type projectStore struct{ s *Store }

func projectDoc(p *core.Project) (string, error) {
	c := *p
	c.Metadata.Created = utcPtr(c.Metadata.Created)
	return marshal("project", &c)
}

func (ps projectStore) Create(ctx context.Context, p *core.Project) error {
	if p == nil || p.Metadata.ID == "" {
		return core.NewBadRequest("a project needs an id")
	}
	created := stamp(&p.Metadata.Created)
	doc, err := projectDoc(p)
	if err != nil {
		return err
	}
	return ps.s.write(ctx, func(ctx context.Context, st *txState) error {
		tag, err := st.Exec(ctx,
			`INSERT INTO projects (id, created_ns, doc) VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING`,
			p.Metadata.ID, created.UnixNano(), doc)
		if err != nil {
			return fmt.Errorf("create project %q: %w", p.Metadata.ID, err)
		}
		if tag.RowsAffected() == 0 {
			return core.NewConflict("Project", p.Metadata.ID, fmt.Sprintf("Project %q already exists.", p.Metadata.ID))
		}
		return nil
	})
}

func (ps projectStore) Get(ctx context.Context, id string) (*core.Project, error) {
	return getProject(ctx, ps.s.reader(ctx), id, false)
}

// getProject reads a project; forUpdate locks its row until the
// transaction ends.
func getProject(ctx context.Context, q querier, id string, forUpdate bool) (*core.Project, error) {
	query := `SELECT doc FROM projects WHERE id = $1`
	if forUpdate {
		query += ` FOR UPDATE`
	}
	var doc string
	err := q.QueryRow(ctx, query, id).Scan(&doc)
	if noRows(err) {
		return nil, core.NewNotFound("Project", id)
	}
	if err != nil {
		return nil, fmt.Errorf("get project %q: %w", id, err)
	}
	var p core.Project
	if err := unmarshal("project", doc, &p); err != nil {
		return nil, err
	}
	return &p, nil
}

func (ps projectStore) List(ctx context.Context, opts core.ListOptions) ([]core.Project, core.ListMeta, error) {
	limit := pageLimit(opts.Limit)
	var (
		out  []core.Project
		meta core.ListMeta
	)
	err := ps.s.read(ctx, func(q querier) error {
		rows, err := q.Query(ctx, `SELECT id, doc FROM projects WHERE id > $1 ORDER BY id LIMIT $2`, opts.Continue, limit)
		if err != nil {
			return fmt.Errorf("list projects: %w", err)
		}
		out, err = scanProjects(rows)
		if err != nil || len(out) == 0 {
			return err
		}
		last := out[len(out)-1].Metadata.ID
		if err := q.QueryRow(ctx, `SELECT COUNT(*) FROM projects WHERE id > $1`, last).
			Scan(&meta.RemainingItemCount); err != nil {
			return fmt.Errorf("count remaining projects: %w", err)
		}
		if meta.RemainingItemCount > 0 {
			meta.Continue = last
		}
		return nil
	})
	if err != nil {
		return nil, core.ListMeta{}, err
	}
	return out, meta, nil
}

// All reads every project (each new event is matched against them).
func (ps projectStore) All(ctx context.Context) ([]core.Project, error) {
	rows, err := ps.s.reader(ctx).Query(ctx, `SELECT id, doc FROM projects ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("list all projects: %w", err)
	}
	return scanProjects(rows)
}

func (ps projectStore) Matching(ctx context.Context, keep func(*core.Project) bool) ([]core.Project, error) {
	all, err := ps.All(ctx)
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(all, func(p core.Project) bool { return !keep(&p) }), nil
}

func scanProjects(rows pgx.Rows) ([]core.Project, error) {
	defer rows.Close()
	var out []core.Project
	for rows.Next() {
		var id, doc string
		if err := rows.Scan(&id, &doc); err != nil {
			return nil, fmt.Errorf("read project row: %w", err)
		}
		var p core.Project
		if err := unmarshal("project "+id, doc, &p); err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read projects: %w", err)
	}
	return out, nil
}

func (ps projectStore) Update(ctx context.Context, p *core.Project) error {
	if p == nil || p.Metadata.ID == "" {
		return core.NewBadRequest("a project needs an id")
	}
	return ps.s.write(ctx, func(ctx context.Context, st *txState) error {
		cur, err := getProject(ctx, st, p.Metadata.ID, true)
		if err != nil {
			return err
		}
		cur.Description = p.Description
		cur.Spec = p.Spec
		doc, err := projectDoc(cur)
		if err != nil {
			return err
		}
		if _, err := st.Exec(ctx, `UPDATE projects SET doc = $1 WHERE id = $2`, doc, p.Metadata.ID); err != nil {
			return fmt.Errorf("update project %q: %w", p.Metadata.ID, err)
		}
		return nil
	})
}

// Delete removes the project; foreign keys cascade, in the same statement,
// to its events (and their jobs, logs and tasks) and secrets.
func (ps projectStore) Delete(ctx context.Context, id string) error {
	return ps.s.write(ctx, func(ctx context.Context, st *txState) error {
		ids, err := eventIDsWhere(ctx, st, `project_id = $1`, id)
		if err != nil {
			return fmt.Errorf("delete project %q: %w", id, err)
		}
		tag, err := st.Exec(ctx, `DELETE FROM projects WHERE id = $1`, id)
		if err != nil {
			return fmt.Errorf("delete project %q: %w", id, err)
		}
		if tag.RowsAffected() == 0 {
			return core.NewNotFound("Project", id)
		}
		for _, e := range ids {
			st.touch(core.TopicEvent(e), core.TopicWorker(e), core.TopicLogs(e))
		}
		if len(ids) > 0 {
			st.touch(core.TopicQueue)
		}
		return nil
	})
}

// eventIDsWhere lists the ids of events matching a condition on events.
func eventIDsWhere(ctx context.Context, q querier, cond string, args ...any) ([]string, error) {
	rows, err := q.Query(ctx, `SELECT id FROM events WHERE `+cond, args...)
	if err != nil {
		return nil, err
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, err
	}
	return ids, nil
}
