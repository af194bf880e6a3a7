package postgres

import (
	"context"
	"fmt"
	"strings"

	"github.com/brigadeplatform/brigade/internal/core"
)

// roleStore keeps role assignments: system roles in role_assignments (scope
// empty when unscoped), project roles in project_role_assignments, which go
// with their project.
type roleStore struct{ s *Store }

func (rs roleStore) Grant(ctx context.Context, a core.RoleAssignment) error {
	return rs.s.write(ctx, func(ctx context.Context, st *txState) error {
		if _, err := st.Exec(ctx,
			`INSERT INTO role_assignments (principal_type, principal_id, role, scope) VALUES ($1, $2, $3, $4)
			 ON CONFLICT DO NOTHING`, string(a.Principal.Type), a.Principal.ID, string(a.Role), a.Scope); err != nil {
			return fmt.Errorf("grant %s to %s %q: %w", a.Role, a.Principal.Type, a.Principal.ID, err)
		}
		return nil
	})
}

func (rs roleStore) Revoke(ctx context.Context, a core.RoleAssignment) error {
	return rs.s.write(ctx, func(ctx context.Context, st *txState) error {
		if _, err := st.Exec(ctx,
			`DELETE FROM role_assignments WHERE principal_type = $1 AND principal_id = $2 AND role = $3 AND scope = $4`,
			string(a.Principal.Type), a.Principal.ID, string(a.Role), a.Scope); err != nil {
			return fmt.Errorf("revoke %s from %s %q: %w", a.Role, a.Principal.Type, a.Principal.ID, err)
		}
		return nil
	})
}

func (rs roleStore) GrantProject(ctx context.Context, a core.ProjectRoleAssignment) error {
	return rs.s.write(ctx, func(ctx context.Context, st *txState) error {
		if err := mustExist(ctx, st, "Project", projectExists+` FOR KEY SHARE`, a.ProjectID); err != nil {
			return err
		}
		if _, err := st.Exec(ctx,
			`INSERT INTO project_role_assignments (project_id, principal_type, principal_id, role) VALUES ($1, $2, $3, $4)
			 ON CONFLICT DO NOTHING`, a.ProjectID, string(a.Principal.Type), a.Principal.ID, string(a.Role)); err != nil {
			return fmt.Errorf("grant %s on project %q to %s %q: %w", a.Role, a.ProjectID, a.Principal.Type, a.Principal.ID, err)
		}
		return nil
	})
}

func (rs roleStore) RevokeProject(ctx context.Context, a core.ProjectRoleAssignment) error {
	return rs.s.write(ctx, func(ctx context.Context, st *txState) error {
		if _, err := st.Exec(ctx,
			`DELETE FROM project_role_assignments WHERE project_id = $1 AND principal_type = $2 AND principal_id = $3 AND role = $4`,
			a.ProjectID, string(a.Principal.Type), a.Principal.ID, string(a.Role)); err != nil {
			return fmt.Errorf("revoke %s on project %q from %s %q: %w", a.Role, a.ProjectID, a.Principal.Type, a.Principal.ID, err)
		}
		return nil
	})
}

// revokeAllOf removes every assignment of a principal.
func revokeAllOf(ctx context.Context, q querier, p core.PrincipalReference) error {
	for _, table := range []string{"role_assignments", "project_role_assignments"} {
		if _, err := q.Exec(ctx,
			`DELETE FROM `+table+` WHERE principal_type = $1 AND principal_id = $2`, string(p.Type), p.ID); err != nil {
			return fmt.Errorf("revoke the roles of %s %q: %w", p.Type, p.ID, err)
		}
	}
	return nil
}

func (rs roleStore) Of(ctx context.Context, p core.PrincipalReference) ([]core.RoleAssignment, []core.ProjectRoleAssignment, error) {
	var (
		sys  []core.RoleAssignment
		proj []core.ProjectRoleAssignment
	)
	err := rs.s.read(ctx, func(q querier) error {
		var err error
		sys, _, err = listRoles(ctx, q, core.RoleAssignmentSelector{Principal: &p}, core.ListOptions{}, -1)
		if err != nil {
			return err
		}
		proj, _, err = listProjectRoles(ctx, q, core.ProjectRoleAssignmentSelector{Principal: &p}, core.ListOptions{}, -1)
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	return sys, proj, nil
}

func (rs roleStore) List(ctx context.Context, sel core.RoleAssignmentSelector, opts core.ListOptions) ([]core.RoleAssignment, core.ListMeta, error) {
	var (
		out  []core.RoleAssignment
		meta core.ListMeta
	)
	err := rs.s.read(ctx, func(q querier) error {
		var err error
		out, meta, err = listRoles(ctx, q, sel, opts, pageLimit(opts.Limit))
		return err
	})
	return out, meta, err
}

func (rs roleStore) ListProject(ctx context.Context, sel core.ProjectRoleAssignmentSelector, opts core.ListOptions) ([]core.ProjectRoleAssignment, core.ListMeta, error) {
	var (
		out  []core.ProjectRoleAssignment
		meta core.ListMeta
	)
	err := rs.s.read(ctx, func(q querier) error {
		var err error
		out, meta, err = listProjectRoles(ctx, q, sel, opts, pageLimit(opts.Limit))
		return err
	})
	return out, meta, err
}

// A role assignment's cursor is its four key columns joined with ':' (a
// principal id may hold ':' in a quoted e-mail address; the other parts
// never do, so the id is what is between the first and the last two).
func splitCursor(c string, idAt int) ([]string, bool) {
	parts := strings.Split(c, ":")
	if len(parts) < 4 {
		return nil, false
	}
	extra := len(parts) - 4
	out := append([]string{}, parts[:idAt]...)
	out = append(out, strings.Join(parts[idAt:idAt+1+extra], ":"))
	return append(out, parts[idAt+1+extra:]...), true
}

func listRoles(ctx context.Context, q querier, sel core.RoleAssignmentSelector, opts core.ListOptions, limit int) ([]core.RoleAssignment, core.ListMeta, error) {
	var w where
	if sel.Principal != nil {
		w.add("principal_type = ? AND principal_id = ?", string(sel.Principal.Type), sel.Principal.ID)
	}
	if sel.Role != "" {
		w.add("role = ?", string(sel.Role))
	}
	return pageRows(ctx, q, "role_assignments", "principal_type, principal_id, role, scope", 1, w, opts, limit,
		func(r interface{ Scan(...any) error }) (core.RoleAssignment, []string, error) {
			var (
				a         core.RoleAssignment
				typ, role string
			)
			err := r.Scan(&typ, &a.Principal.ID, &role, &a.Scope)
			a.Principal.Type, a.Role = core.PrincipalType(typ), core.Role(role)
			return a, []string{typ, a.Principal.ID, role, a.Scope}, err
		})
}

func listProjectRoles(ctx context.Context, q querier, sel core.ProjectRoleAssignmentSelector, opts core.ListOptions, limit int) ([]core.ProjectRoleAssignment, core.ListMeta, error) {
	var w where
	if sel.ProjectID != "" {
		w.add("project_id = ?", sel.ProjectID)
	}
	if sel.Principal != nil {
		w.add("principal_type = ? AND principal_id = ?", string(sel.Principal.Type), sel.Principal.ID)
	}
	if sel.Role != "" {
		w.add("role = ?", string(sel.Role))
	}
	return pageRows(ctx, q, "project_role_assignments", "project_id, principal_type, principal_id, role", 2, w, opts, limit,
		func(r interface{ Scan(...any) error }) (core.ProjectRoleAssignment, []string, error) {
			var (
				a         core.ProjectRoleAssignment
				typ, role string
			)
			err := r.Scan(&a.ProjectID, &typ, &a.Principal.ID, &role)
			a.Principal.Type, a.Role = core.PrincipalType(typ), core.Role(role)
			return a, []string{a.ProjectID, typ, a.Principal.ID, role}, err
		})
}

// pageRows pages through a table of four key columns in their order; the
// cursor is the last row's key. limit < 0 reads everything.
func pageRows[T any](ctx context.Context, q querier, table, columns string, idAt int, base where,
	opts core.ListOptions, limit int, scan func(interface{ Scan(...any) error }) (T, []string, error)) ([]T, core.ListMeta, error) {
	var meta core.ListMeta
	filter := func(after []string) where {
		w := where{conds: append([]string{}, base.conds...), args: append([]any{}, base.args...)}
		if after != nil {
			w.add("("+columns+") > (?, ?, ?, ?)", after[0], after[1], after[2], after[3])
		}
		return w
	}
	var after []string
	if opts.Continue != "" {
		var ok bool
		if after, ok = splitCursor(opts.Continue, idAt); !ok {
			return nil, meta, badCursor(opts.Continue)
		}
	}
	w := filter(after)
	query := `SELECT ` + columns + ` FROM ` + table + ` WHERE ` + w.String() + ` ORDER BY ` + columns
	if limit >= 0 {
		query += fmt.Sprintf(" LIMIT %d", limit)
	}
	rows, err := q.Query(ctx, query, w.args...)
	if err != nil {
		return nil, meta, fmt.Errorf("list %s: %w", table, err)
	}
	defer rows.Close()
	var (
		out  []T
		last []string
	)
	for rows.Next() {
		v, key, err := scan(rows)
		if err != nil {
			return nil, meta, fmt.Errorf("read %s: %w", table, err)
		}
		out, last = append(out, v), key
	}
	if err := rows.Err(); err != nil {
		return nil, meta, fmt.Errorf("list %s: %w", table, err)
	}
	rows.Close()
	if limit < 0 || len(out) < limit {
		return out, meta, nil
	}
	w = filter(last)
	if err := q.QueryRow(ctx, `SELECT COUNT(*) FROM `+table+` WHERE `+w.String(), w.args...).Scan(&meta.RemainingItemCount); err != nil {
		return nil, meta, fmt.Errorf("count remaining %s: %w", table, err)
	}
	if meta.RemainingItemCount > 0 {
		meta.Continue = strings.Join(last, ":")
	}
	return out, meta, nil
}
