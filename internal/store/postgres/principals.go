package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/brigadeplatform/brigade/internal/core"
)

// userStore keeps users. A user's id compares without regard to (ASCII)
// case, as SQLite's NOCASE does: lookups go through lower_id and return
// the id as first stored.
type userStore struct{ s *Store }

const userColumns = `id, name, created_ns, locked_ns`

// foldID lowers ASCII letters only, like SQLite's NOCASE.
func foldID(id string) string {
	b := []byte(id)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + ('a' - 'A')
		}
	}
	return string(b)
}

func scanUser(r interface{ Scan(...any) error }) (core.User, error) {
	var (
		u       core.User
		created int64
		locked  *int64
	)
	if err := r.Scan(&u.Metadata.ID, &u.Name, &created, &locked); err != nil {
		return u, err
	}
	c := fromNS(created)
	u.Metadata.Created = &c
	u.Locked = fromNullNS(locked)
	return u, nil
}

func (us userStore) Ensure(ctx context.Context, u *core.User) (*core.User, bool, error) {
	if u == nil || u.Metadata.ID == "" {
		return nil, false, core.NewBadRequest("a user needs an id")
	}
	var (
		stored  core.User
		created bool
	)
	err := us.s.write(ctx, func(ctx context.Context, st *txState) error {
		at := time.Now().UTC()
		if u.Metadata.Created != nil {
			at = *u.Metadata.Created
		}
		tag, err := st.Exec(ctx,
			`INSERT INTO users (id, lower_id, name, created_ns, locked_ns) VALUES ($1, $2, $3, $4, NULL) ON CONFLICT DO NOTHING`,
			u.Metadata.ID, foldID(u.Metadata.ID), u.Name, at.UnixNano())
		if err != nil {
			return fmt.Errorf("create user %q: %w", u.Metadata.ID, err)
		}
		created = tag.RowsAffected() == 1
		stored, err = scanUser(st.QueryRow(ctx, `SELECT `+userColumns+` FROM users WHERE lower_id = $1`, foldID(u.Metadata.ID)))
		if err != nil {
			return fmt.Errorf("read user %q: %w", u.Metadata.ID, err)
		}
		return nil
	})
	if err != nil {
		return nil, false, err
	}
	return &stored, created, nil
}

func (us userStore) Get(ctx context.Context, id string) (*core.User, error) {
	u, err := scanUser(us.s.reader(ctx).QueryRow(ctx, `SELECT `+userColumns+` FROM users WHERE lower_id = $1`, foldID(id)))
	if noRows(err) {
		return nil, core.NewNotFound("User", id)
	}
	if err != nil {
		return nil, fmt.Errorf("get user %q: %w", id, err)
	}
	return &u, nil
}

func (us userStore) List(ctx context.Context, opts core.ListOptions) ([]core.User, core.ListMeta, error) {
	return pageByID(ctx, us.s, "users", userColumns, opts, scanUser, func(u core.User) string { return u.Metadata.ID })
}

func (us userStore) Lock(ctx context.Context, id string, t time.Time) error {
	return us.s.write(ctx, func(ctx context.Context, st *txState) error {
		if err := mustUpdate(ctx, st, "User", id, `UPDATE users SET locked_ns = $1 WHERE lower_id = $2`, t.UnixNano(), foldID(id)); err != nil {
			return err
		}
		if _, err := st.Exec(ctx,
			`DELETE FROM sessions WHERE user_id <> '' AND user_id = (SELECT id FROM users WHERE lower_id = $1)`, foldID(id)); err != nil {
			return fmt.Errorf("delete the sessions of user %q: %w", id, err)
		}
		return nil
	})
}

func (us userStore) Unlock(ctx context.Context, id string) error {
	return us.s.write(ctx, func(ctx context.Context, st *txState) error {
		return mustUpdate(ctx, st, "User", id, `UPDATE users SET locked_ns = NULL WHERE lower_id = $1`, foldID(id))
	})
}

func (us userStore) Delete(ctx context.Context, id string) error {
	return us.s.write(ctx, func(ctx context.Context, st *txState) error {
		var stored string
		err := st.QueryRow(ctx, `DELETE FROM users WHERE lower_id = $1 RETURNING id`, foldID(id)).Scan(&stored)
		if noRows(err) {
			return core.NewNotFound("User", id)
		}
		if err != nil {
			return fmt.Errorf("delete user %q: %w", id, err)
		}
		if _, err := st.Exec(ctx, `DELETE FROM sessions WHERE user_id <> '' AND user_id = $1`, stored); err != nil {
			return fmt.Errorf("delete the sessions of user %q: %w", stored, err)
		}
		return revokeAllOf(ctx, st, core.PrincipalReference{Type: core.PrincipalTypeUser, ID: stored})
	})
}

type serviceAccountStore struct{ s *Store }

const serviceAccountColumns = `id, description, created_ns, locked_ns, token_hash`

func scanServiceAccount(r interface{ Scan(...any) error }) (core.ServiceAccount, error) {
	var (
		sa      core.ServiceAccount
		created int64
		locked  *int64
	)
	if err := r.Scan(&sa.Metadata.ID, &sa.Description, &created, &locked, &sa.TokenHash); err != nil {
		return sa, err
	}
	c := fromNS(created)
	sa.Metadata.Created = &c
	sa.Locked = fromNullNS(locked)
	return sa, nil
}

func (ss serviceAccountStore) Create(ctx context.Context, sa *core.ServiceAccount) error {
	if sa == nil || sa.Metadata.ID == "" || sa.TokenHash == "" {
		return core.NewBadRequest("a service account needs an id and a token hash")
	}
	created := stamp(&sa.Metadata.Created)
	return ss.s.write(ctx, func(ctx context.Context, st *txState) error {
		tag, err := st.Exec(ctx,
			`INSERT INTO service_accounts (`+serviceAccountColumns+`) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING`,
			sa.Metadata.ID, sa.Description, created.UnixNano(), nullNS(sa.Locked), sa.TokenHash)
		if err != nil {
			return fmt.Errorf("create service account %q: %w", sa.Metadata.ID, err)
		}
		if tag.RowsAffected() == 0 {
			return core.NewConflict("ServiceAccount", sa.Metadata.ID,
				fmt.Sprintf("A service account with the ID %q already exists.", sa.Metadata.ID))
		}
		return nil
	})
}

func (ss serviceAccountStore) get(ctx context.Context, where, arg, id string) (*core.ServiceAccount, error) {
	sa, err := scanServiceAccount(ss.s.reader(ctx).QueryRow(ctx,
		`SELECT `+serviceAccountColumns+` FROM service_accounts WHERE `+where+` = $1`, arg))
	if noRows(err) {
		return nil, core.NewNotFound("ServiceAccount", id)
	}
	if err != nil {
		return nil, fmt.Errorf("get service account: %w", err)
	}
	return &sa, nil
}

func (ss serviceAccountStore) Get(ctx context.Context, id string) (*core.ServiceAccount, error) {
	return ss.get(ctx, "id", id, id)
}

func (ss serviceAccountStore) GetByTokenHash(ctx context.Context, hash string) (*core.ServiceAccount, error) {
	return ss.get(ctx, "token_hash", hash, "")
}

func (ss serviceAccountStore) List(ctx context.Context, opts core.ListOptions) ([]core.ServiceAccount, core.ListMeta, error) {
	return pageByID(ctx, ss.s, "service_accounts", serviceAccountColumns, opts, scanServiceAccount,
		func(sa core.ServiceAccount) string { return sa.Metadata.ID })
}

func (ss serviceAccountStore) Lock(ctx context.Context, id string, t time.Time) error {
	return ss.s.write(ctx, func(ctx context.Context, st *txState) error {
		return mustUpdate(ctx, st, "ServiceAccount", id, `UPDATE service_accounts SET locked_ns = $1 WHERE id = $2`, t.UnixNano(), id)
	})
}

func (ss serviceAccountStore) Unlock(ctx context.Context, id, tokenHash string) error {
	return ss.s.writeAtomic(ctx, func(ctx context.Context, st *txState) error {
		err := mustUpdate(ctx, st, "ServiceAccount", id,
			`UPDATE service_accounts SET locked_ns = NULL, token_hash = $1 WHERE id = $2`, tokenHash, id)
		if isUniqueViolation(err) {
			return core.NewConflict("ServiceAccount", id, "another service account already holds that token")
		}
		return err
	})
}

func (ss serviceAccountStore) Delete(ctx context.Context, id string) error {
	return ss.s.write(ctx, func(ctx context.Context, st *txState) error {
		if err := mustUpdate(ctx, st, "ServiceAccount", id, `DELETE FROM service_accounts WHERE id = $1`, id); err != nil {
			return err
		}
		return revokeAllOf(ctx, st, core.PrincipalReference{Type: core.PrincipalTypeServiceAccount, ID: id})
	})
}

// mustUpdate runs a statement that changes one row of an object, and
// returns NotFoundError when it changed none.
func mustUpdate(ctx context.Context, q querier, kind, id, query string, args ...any) error {
	tag, err := q.Exec(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("update %s %q: %w", kind, id, err)
	}
	if tag.RowsAffected() == 0 {
		return core.NewNotFound(kind, id)
	}
	return nil
}

// pageByID pages through a table ordered by id: the cursor is the last id
// returned.
func pageByID[T any](ctx context.Context, s *Store, table, columns string, opts core.ListOptions,
	scan func(interface{ Scan(...any) error }) (T, error), id func(T) string) ([]T, core.ListMeta, error) {
	limit := pageLimit(opts.Limit)
	var (
		out  []T
		meta core.ListMeta
	)
	err := s.read(ctx, func(q querier) error {
		rows, err := q.Query(ctx,
			`SELECT `+columns+` FROM `+table+` WHERE id > $1 ORDER BY id LIMIT $2`, opts.Continue, limit)
		if err != nil {
			return fmt.Errorf("list %s: %w", table, err)
		}
		defer rows.Close()
		for rows.Next() {
			v, err := scan(rows)
			if err != nil {
				return fmt.Errorf("read %s: %w", table, err)
			}
			out = append(out, v)
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("list %s: %w", table, err)
		}
		rows.Close()
		if len(out) < limit {
			return nil
		}
		last := id(out[len(out)-1])
		if err := q.QueryRow(ctx, `SELECT COUNT(*) FROM `+table+` WHERE id > $1`, last).
			Scan(&meta.RemainingItemCount); err != nil {
			return fmt.Errorf("count remaining %s: %w", table, err)
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
