package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/brigadeplatform/brigade/internal/core"
)

type sessionStore struct{ s *Store }

func (ss sessionStore) Create(ctx context.Context, sess *core.Session) error {
	if sess == nil || sess.ID == "" || sess.TokenHash == "" {
		return core.NewBadRequest("a session needs an id and a token hash")
	}
	if sess.Created.IsZero() {
		sess.Created = time.Now().UTC()
	}
	return ss.s.write(ctx, func(ctx context.Context, st *txState) error {
		res, err := st.ExecContext(ctx,
			`INSERT INTO sessions (id, token_hash, root, user_id, created_ns, authenticated_ns, expires_ns)
			 VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
			sess.ID, sess.TokenHash, sess.Root, sess.UserID, sess.Created.UnixNano(),
			nullNS(sess.Authenticated), nullNS(sess.Expires))
		if err != nil {
			return fmt.Errorf("create session %q: %w", sess.ID, err)
		}
		n, err := affected(res)
		if err != nil {
			return err
		}
		if n == 0 {
			return core.NewConflict("Session", sess.ID, fmt.Sprintf("session %q or its token already exists", sess.ID))
		}
		return nil
	})
}

func (ss sessionStore) GetByTokenHash(ctx context.Context, hash string) (*core.Session, error) {
	var (
		sess              core.Session
		created           int64
		authenticated, ex sql.NullInt64
	)
	err := ss.s.reader(ctx).QueryRowContext(ctx,
		`SELECT id, token_hash, root, user_id, created_ns, authenticated_ns, expires_ns
		 FROM sessions WHERE token_hash = ?`, hash).
		Scan(&sess.ID, &sess.TokenHash, &sess.Root, &sess.UserID, &created, &authenticated, &ex)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, &core.NotFoundError{Type: "Session", Reason: "no session holds that token"}
	}
	if err != nil {
		return nil, fmt.Errorf("find session by token: %w", err)
	}
	sess.Created = fromNS(created)
	sess.Authenticated = fromNullNS(authenticated)
	sess.Expires = fromNullNS(ex)
	return &sess, nil
}

func (ss sessionStore) Delete(ctx context.Context, id string) error {
	return ss.s.write(ctx, func(ctx context.Context, st *txState) error {
		res, err := st.ExecContext(ctx, `DELETE FROM sessions WHERE id = ?`, id)
		if err != nil {
			return fmt.Errorf("delete session %q: %w", id, err)
		}
		n, err := affected(res)
		if err != nil {
			return err
		}
		if n == 0 {
			return core.NewNotFound("Session", id)
		}
		return nil
	})
}

func (ss sessionStore) DeleteExpired(ctx context.Context, t time.Time) (int64, error) {
	var n int64
	err := ss.s.write(ctx, func(ctx context.Context, st *txState) error {
		res, err := st.ExecContext(ctx,
			`DELETE FROM sessions WHERE expires_ns IS NOT NULL AND expires_ns < ?`, t.UnixNano())
		if err != nil {
			return fmt.Errorf("delete sessions that expired before %s: %w", t.UTC().Format(time.RFC3339), err)
		}
		n, err = affected(res)
		return err
	})
	return n, err
}
