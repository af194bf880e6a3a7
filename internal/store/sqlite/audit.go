package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/brigadeplatform/brigade/internal/core"
)

type auditStore struct{ s *Store }

func (as auditStore) Append(ctx context.Context, entries []core.AuditEntry) error {
	if len(entries) == 0 {
		return nil
	}
	return as.s.writeAtomic(ctx, func(ctx context.Context, st *txState) error {
		for i := range entries {
			e := &entries[i]
			if e.Time.IsZero() {
				e.Time = time.Now().UTC()
			}
			res, err := st.ExecContext(ctx,
				`INSERT INTO audit (time_ns, principal_kind, principal_id, action, object, client, status, error)
				 VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
				e.Time.UnixNano(), e.Principal.Kind, e.Principal.ID, e.Action, e.Object, e.Client, e.Status, e.Error)
			if err != nil {
				return fmt.Errorf("append audit entry %q: %w", e.Action, err)
			}
			if e.ID, err = res.LastInsertId(); err != nil {
				return err
			}
		}
		return nil
	})
}

// auditWhere builds the filter of sel, after the cursor id (0: none).
func auditWhere(sel core.AuditSelector, before int64) (string, []any) {
	var (
		conds []string
		args  []any
	)
	add := func(cond string, a ...any) {
		conds = append(conds, cond)
		args = append(args, a...)
	}
	if before > 0 {
		add("id < ?", before)
	}
	if sel.PrincipalKind != "" {
		add("principal_kind = ?", sel.PrincipalKind)
	}
	if sel.PrincipalID != "" {
		add("principal_id = ?", sel.PrincipalID)
	}
	if sel.Action != "" {
		add("instr(action, ?) > 0", sel.Action)
	}
	if sel.Object != "" {
		o := strings.TrimSuffix(sel.Object, "/")
		add("(object = ? OR substr(object, 1, ?) = ?)", o, len(o)+1, o+"/")
	}
	if !sel.Since.IsZero() {
		add("time_ns >= ?", sel.Since.UnixNano())
	}
	if !sel.Until.IsZero() {
		add("time_ns < ?", sel.Until.UnixNano())
	}
	if len(conds) == 0 {
		return "", nil
	}
	return " WHERE " + strings.Join(conds, " AND "), args
}

func (as auditStore) List(ctx context.Context, sel core.AuditSelector, opts core.ListOptions) ([]core.AuditEntry, core.ListMeta, error) {
	limit := pageLimit(opts.Limit)
	var after int64
	if opts.Continue != "" {
		n, err := strconv.ParseInt(opts.Continue, 10, 64)
		if err != nil || n <= 0 {
			return nil, core.ListMeta{}, badCursor(opts.Continue)
		}
		after = n
	}
	var (
		out  []core.AuditEntry
		meta core.ListMeta
	)
	err := as.s.read(ctx, func(q querier) error {
		where, args := auditWhere(sel, after)
		rows, err := q.QueryContext(ctx,
			`SELECT id, time_ns, principal_kind, principal_id, action, object, client, status, error FROM audit`+
				where+` ORDER BY id DESC LIMIT ?`, append(args, limit)...)
		if err != nil {
			return fmt.Errorf("list audit entries: %w", err)
		}
		if out, err = scanAudit(rows); err != nil || len(out) == 0 {
			return err
		}
		last := out[len(out)-1].ID
		where, args = auditWhere(sel, last)
		if err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM audit`+where, args...).
			Scan(&meta.RemainingItemCount); err != nil {
			return fmt.Errorf("count remaining audit entries: %w", err)
		}
		if meta.RemainingItemCount > 0 {
			meta.Continue = strconv.FormatInt(last, 10)
		}
		return nil
	})
	if err != nil {
		return nil, core.ListMeta{}, err
	}
	return out, meta, nil
}

func scanAudit(rows *sql.Rows) ([]core.AuditEntry, error) {
	defer rows.Close()
	var out []core.AuditEntry
	for rows.Next() {
		var (
			e  core.AuditEntry
			ns int64
		)
		if err := rows.Scan(&e.ID, &ns, &e.Principal.Kind, &e.Principal.ID, &e.Action, &e.Object,
			&e.Client, &e.Status, &e.Error); err != nil {
			return nil, fmt.Errorf("read audit entry: %w", err)
		}
		e.Time = fromNS(ns)
		out = append(out, e)
	}
	return out, rows.Err()
}

func (as auditStore) Prune(ctx context.Context, before time.Time, keep int) (int64, error) {
	var n int64
	err := as.s.writeAtomic(ctx, func(ctx context.Context, st *txState) error {
		if !before.IsZero() {
			res, err := st.ExecContext(ctx, `DELETE FROM audit WHERE time_ns < ?`, before.UnixNano())
			if err != nil {
				return fmt.Errorf("prune audit entries by age: %w", err)
			}
			k, err := affected(res)
			if err != nil {
				return err
			}
			n += k
		}
		if keep > 0 {
			res, err := st.ExecContext(ctx,
				`DELETE FROM audit WHERE id <= (SELECT id FROM audit ORDER BY id DESC LIMIT 1 OFFSET ?)`, keep)
			if err != nil {
				return fmt.Errorf("prune audit entries by count: %w", err)
			}
			k, err := affected(res)
			if err != nil {
				return err
			}
			n += k
		}
		return nil
	})
	return n, err
}
