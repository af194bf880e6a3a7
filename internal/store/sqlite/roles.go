package sqlite

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
		if _, err := st.ExecContext(ctx,
			`INSERT INTO role_assignments (principal_type, principal_id, role, scope) VALUES (?, ?, ?, ?)
			 ON CONFLICT DO NOTHING`, a.Principal.Type, a.Principal.ID, a.Role, a.Scope); err != nil {
			return fmt.Errorf("grant %s to %s %q: %w", a.Role, a.Principal.Type, a.Principal.ID, err)
		}
		return nil
	})
}

func (rs roleStore) Revoke(ctx context.Context, a core.RoleAssignment) error {
	return rs.s.write(ctx, func(ctx context.Context, st *txState) error {
		if _, err := st.ExecContext(ctx,
			`DELETE FROM role_assignments WHERE principal_type = ? AND principal_id = ? AND role = ? AND scope = ?`,
			a.Principal.Type, a.Principal.ID, a.Role, a.Scope); err != nil {
			return fmt.Errorf("revoke %s from %s %q: %w", a.Role, a.Principal.Type, a.Principal.ID, err)
		}
		return nil
	})
}

func (rs roleStore) GrantProject(ctx context.Context, a core.ProjectRoleAssignment) error {
	return rs.s.write(ctx, func(ctx context.Context, st *txState) error {
		if err := mustExist(ctx, st, "Project", projectExists, a.ProjectID); err != nil {
			return err
		}
		if _, err := st.ExecContext(ctx,
			`INSERT INTO project_role_assignments (project_id, principal_type, principal_id, role) VALUES (?, ?, ?, ?)
			 ON CONFLICT DO NOTHING`, a.ProjectID, a.Principal.Type, a.Principal.ID, a.Role); err != nil {
			return fmt.Errorf("grant %s on project %q to %s %q: %w", a.Role, a.ProjectID, a.Principal.Type, a.Principal.ID, err)
		}
		return nil
	})
}

func (rs roleStore) RevokeProject(ctx context.Context, a core.ProjectRoleAssignment) error {
	return rs.s.write(ctx, func(ctx context.Context, st *txState) error {
		if _, err := st.ExecContext(ctx,
			`DELETE FROM project_role_assignments WHERE project_id = ? AND principal_type = ? AND principal_id = ? AND role = ?`,
			a.ProjectID, a.Principal.Type, a.Principal.ID, a.Role); err != nil {
			return fmt.Errorf("revoke %s on project %q from %s %q: %w", a.Role, a.ProjectID, a.Principal.Type, a.Principal.ID, err)
		}
		return nil
	})
}

// revokeAllOf removes every assignment of a principal, inside st.
func revokeAllOf(ctx context.Context, st *txState, p core.PrincipalReference) error {
	for _, table := range []string{"role_assignments", "project_role_assignments"} {
		if _, err := st.ExecContext(ctx,
			`DELETE FROM `+table+` WHERE principal_type = ? AND principal_id = ?`, p.Type, p.ID); err != nil {
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
	var where []string
	var args []any
	if sel.Principal != nil {
		where = append(where, "principal_type = ? AND principal_id = ?")
		args = append(args, sel.Principal.Type, sel.Principal.ID)
	}
	if sel.Role != "" {
		where = append(where, "role = ?")
		args = append(args, sel.Role)
	}
	return pageRows(ctx, q, "role_assignments", "principal_type, principal_id, role, scope", 1, where, args, opts, limit,
		func(r interface{ Scan(...any) error }) (core.RoleAssignment, []string, error) {
			var a core.RoleAssignment
			err := r.Scan(&a.Principal.Type, &a.Principal.ID, &a.Role, &a.Scope)
			return a, []string{string(a.Principal.Type), a.Principal.ID, string(a.Role), a.Scope}, err
		})
}

func listProjectRoles(ctx context.Context, q querier, sel core.ProjectRoleAssignmentSelector, opts core.ListOptions, limit int) ([]core.ProjectRoleAssignment, core.ListMeta, error) {
	var where []string
	var args []any
	if sel.ProjectID != "" {
		where = append(where, "project_id = ?")
		args = append(args, sel.ProjectID)
	}
	if sel.Principal != nil {
		where = append(where, "principal_type = ? AND principal_id = ?")
		args = append(args, sel.Principal.Type, sel.Principal.ID)
	}
	if sel.Role != "" {
		where = append(where, "role = ?")
		args = append(args, sel.Role)
	}
	return pageRows(ctx, q, "project_role_assignments", "project_id, principal_type, principal_id, role", 2, where, args, opts, limit,
		func(r interface{ Scan(...any) error }) (core.ProjectRoleAssignment, []string, error) {
			var a core.ProjectRoleAssignment
			err := r.Scan(&a.ProjectID, &a.Principal.Type, &a.Principal.ID, &a.Role)
			return a, []string{a.ProjectID, string(a.Principal.Type), a.Principal.ID, string(a.Role)}, err
		})
}

// pageRows pages through a table of four key columns in their order; the
// cursor is the last row's key. limit < 0 reads everything.
func pageRows[T any](ctx context.Context, q querier, table, columns string, idAt int, where []string, args []any,
	opts core.ListOptions, limit int, scan func(interface{ Scan(...any) error }) (T, []string, error)) ([]T, core.ListMeta, error) {
	var meta core.ListMeta
	filter := func(after []string) (string, []any) {
		w, a := append([]string{}, where...), append([]any{}, args...)
		if after != nil {
			w = append(w, "("+columns+") > (?, ?, ?, ?)")
			for _, v := range after {
				a = append(a, v)
			}
		}
		if len(w) == 0 {
			return "", a
		}
		return " WHERE " + strings.Join(w, " AND "), a
	}
	var after []string
	if opts.Continue != "" {
		var ok bool
		if after, ok = splitCursor(opts.Continue, idAt); !ok {
			return nil, meta, badCursor(opts.Continue)
		}
	}
	cond, a := filter(after)
	query := `SELECT ` + columns + ` FROM ` + table + cond + ` ORDER BY ` + columns
	if limit >= 0 {
		query += fmt.Sprintf(" LIMIT %d", limit)
	}
	rows, err := q.QueryContext(ctx, query, a...)
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
	if limit < 0 || len(out) < limit {
		return out, meta, nil
	}
	cond, a = filter(last)
	if err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM `+table+cond, a...).Scan(&meta.RemainingItemCount); err != nil {
		return nil, meta, fmt.Errorf("count remaining %s: %w", table, err)
	}
	if meta.RemainingItemCount > 0 {
		meta.Continue = strings.Join(last, ":")
	}
	return out, meta, nil
}
