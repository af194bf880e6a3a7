package postgres

import (
	"context"
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
	return as.s.write(ctx, func(ctx context.Context, st *txState) error {
		for i := range entries {
			e := &entries[i]
			if e.Time.IsZero() {
				e.Time = time.Now().UTC()
			}
			if err := st.QueryRow(ctx,
				`INSERT INTO audit (time_ns, principal_kind, principal_id, action, object, client, status, error)
				 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id`,
				e.Time.UnixNano(), e.Principal.Kind, e.Principal.ID, e.Action, e.Object, e.Client, e.Status, e.Error).
				Scan(&e.ID); err != nil {
				return fmt.Errorf("append audit entry %q: %w", e.Action, err)
			}
		}
		return nil
	})
}

// auditWhere builds the filter of sel, after the cursor id (0: none).
func auditWhere(sel core.AuditSelector, before int64) where {
	var w where
	if before > 0 {
		w.add("id < ?", before)
	}
	if sel.PrincipalKind != "" {
		w.add("principal_kind = ?", sel.PrincipalKind)
	}
	if sel.PrincipalID != "" {
		w.add("principal_id = ?", sel.PrincipalID)
	}
	if sel.Action != "" {
		w.add("strpos(action, ?) > 0", sel.Action)
	}
	if sel.Object != "" {
		o := strings.TrimSuffix(sel.Object, "/")
		w.add("(object = ? OR left(object, ?) = ?)", o, len(o)+1, o+"/")
	}
	if !sel.Since.IsZero() {
		w.add("time_ns >= ?", sel.Since.UnixNano())
	}
	if !sel.Until.IsZero() {
		w.add("time_ns < ?", sel.Until.UnixNano())
	}
	return w
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
		w := auditWhere(sel, after)
		rows, err := q.Query(ctx,
			`SELECT id, time_ns, principal_kind, principal_id, action, object, client, status, error FROM audit WHERE `+
				w.String()+` ORDER BY id DESC LIMIT `+strconv.Itoa(limit), w.args...)
		if err != nil {
			return fmt.Errorf("list audit entries: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var (
				e  core.AuditEntry
				ns int64
			)
			if err := rows.Scan(&e.ID, &ns, &e.Principal.Kind, &e.Principal.ID, &e.Action, &e.Object,
				&e.Client, &e.Status, &e.Error); err != nil {
				return fmt.Errorf("read audit entry: %w", err)
			}
			e.Time = fromNS(ns)
			out = append(out, e)
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("list audit entries: %w", err)
		}
		rows.Close()
		if len(out) == 0 {
			return nil
		}
		last := out[len(out)-1].ID
		w = auditWhere(sel, last)
		if err := q.QueryRow(ctx, `SELECT COUNT(*) FROM audit WHERE `+w.String(), w.args...).
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

func (as auditStore) Prune(ctx context.Context, before time.Time, keep int) (int64, error) {
	var n int64
	err := as.s.write(ctx, func(ctx context.Context, st *txState) error {
		if !before.IsZero() {
			tag, err := st.Exec(ctx, `DELETE FROM audit WHERE time_ns < $1`, before.UnixNano())
			if err != nil {
				return fmt.Errorf("prune audit entries by age: %w", err)
			}
			n += tag.RowsAffected()
		}
		if keep > 0 {
			tag, err := st.Exec(ctx,
				`DELETE FROM audit WHERE id <= (SELECT id FROM audit ORDER BY id DESC LIMIT 1 OFFSET $1)`, keep)
			if err != nil {
				return fmt.Errorf("prune audit entries by count: %w", err)
			}
			n += tag.RowsAffected()
		}
		return nil
	})
	return n, err
}
