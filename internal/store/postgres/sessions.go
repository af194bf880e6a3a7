package postgres

import (
	"context"
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
		tag, err := st.Exec(ctx,
			`INSERT INTO sessions (id, token_hash, root, user_id, created_ns, authenticated_ns, expires_ns,
			 auth_state_hash, success_url)
			 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING`,
			sess.ID, sess.TokenHash, sess.Root, sess.UserID, sess.Created.UnixNano(),
			nullNS(sess.Authenticated), nullNS(sess.Expires), nullString(sess.AuthStateHash), sess.SuccessURL)
		if err != nil {
			return fmt.Errorf("create session %q: %w", sess.ID, err)
		}
		if tag.RowsAffected() == 0 {
			return core.NewConflict("Session", sess.ID, fmt.Sprintf("session %q or its token already exists", sess.ID))
		}
		return nil
	})
}

func (ss sessionStore) GetByTokenHash(ctx context.Context, hash string) (*core.Session, error) {
	sess, err := scanSession(ss.s.reader(ctx).QueryRow(ctx,
		`SELECT `+sessionColumns+` FROM sessions WHERE token_hash = $1`, hash))
	if noRows(err) {
		return nil, &core.NotFoundError{Type: "Session", Reason: "no session holds that token"}
	}
	if err != nil {
		return nil, fmt.Errorf("find session by token: %w", err)
	}
	return sess, nil
}

func (ss sessionStore) PendingByStateHash(ctx context.Context, hash string) (*core.Session, error) {
	sess, err := scanSession(ss.s.reader(ctx).QueryRow(ctx,
		`SELECT `+sessionColumns+` FROM sessions WHERE auth_state_hash = $1 AND authenticated_ns IS NULL`, hash))
	if noRows(err) {
		return nil, &core.NotFoundError{Type: "Session", Reason: "no login under way has that state"}
	}
	if err != nil {
		return nil, fmt.Errorf("find session by login state: %w", err)
	}
	return sess, nil
}

func (ss sessionStore) Authenticate(ctx context.Context, id, userID string, at, expires time.Time) (*core.Session, error) {
	var sess *core.Session
	err := ss.s.write(ctx, func(ctx context.Context, st *txState) error {
		var err error
		sess, err = scanSession(st.QueryRow(ctx,
			`UPDATE sessions SET user_id = $1, authenticated_ns = $2, expires_ns = $3, auth_state_hash = NULL
			 WHERE id = $4 AND authenticated_ns IS NULL AND auth_state_hash IS NOT NULL
			 RETURNING `+sessionColumns,
			userID, at.UnixNano(), expires.UnixNano(), id))
		if noRows(err) {
			return &core.NotFoundError{Type: "Session", ID: id, Reason: "no login under way has that session: it was completed or deleted"}
		}
		if err != nil {
			return fmt.Errorf("complete session %q: %w", id, err)
		}
		return nil
	})
	return sess, err
}

const sessionColumns = `id, token_hash, root, user_id, created_ns, authenticated_ns, expires_ns,
	coalesce(auth_state_hash, ''), success_url`

func scanSession(row interface{ Scan(...any) error }) (*core.Session, error) {
	var (
		sess              core.Session
		created           int64
		authenticated, ex *int64
	)
	err := row.Scan(&sess.ID, &sess.TokenHash, &sess.Root, &sess.UserID, &created, &authenticated, &ex,
		&sess.AuthStateHash, &sess.SuccessURL)
	if err != nil {
		return nil, err
	}
	sess.Created = fromNS(created)
	sess.Authenticated = fromNullNS(authenticated)
	sess.Expires = fromNullNS(ex)
	return &sess, nil
}

func (ss sessionStore) Delete(ctx context.Context, id string) error {
	return ss.s.write(ctx, func(ctx context.Context, st *txState) error {
		tag, err := st.Exec(ctx, `DELETE FROM sessions WHERE id = $1`, id)
		if err != nil {
			return fmt.Errorf("delete session %q: %w", id, err)
		}
		if tag.RowsAffected() == 0 {
			return core.NewNotFound("Session", id)
		}
		return nil
	})
}

func (ss sessionStore) DeleteExpired(ctx context.Context, t time.Time) (int64, error) {
	var n int64
	err := ss.s.write(ctx, func(ctx context.Context, st *txState) error {
		tag, err := st.Exec(ctx, `DELETE FROM sessions WHERE expires_ns IS NOT NULL AND expires_ns < $1`, t.UnixNano())
		if err != nil {
			return fmt.Errorf("delete sessions that expired before %s: %w", t.UTC().Format(time.RFC3339), err)
		}
		n = tag.RowsAffected()
		return nil
	})
	return n, err
}
