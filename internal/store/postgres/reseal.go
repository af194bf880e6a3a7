package postgres

import (
	"context"
	"fmt"
)

// Kinds of sealed values, as Reseal names them (the same as SQLite's).
const (
	SealedSecret = "secret" // a project secret: owner is the project, name the key
	SealedJobEnv = "jobenv" // a job's environment: owner is the event, name the job
)

// Reseal replaces every sealed value (project secrets and job environments)
// with what fn makes of it, and sets the settings given, in one
// transaction: either every value is resealed or none is.
func (s *Store) Reseal(ctx context.Context, settings map[string]string,
	fn func(kind, owner, name string, sealed []byte) ([]byte, error)) error {
	type row struct {
		kind, owner, name string
		sealed            []byte
	}
	return s.write(ctx, func(ctx context.Context, st *txState) error {
		var rows []row
		for _, q := range []struct{ kind, query string }{
			{SealedSecret, `SELECT project_id, key, sealed FROM secrets FOR UPDATE`},
			{SealedJobEnv, `SELECT event_id, name, sealed_env FROM jobs WHERE length(sealed_env) > 0 FOR UPDATE`},
		} {
			rs, err := st.Query(ctx, q.query)
			if err != nil {
				return fmt.Errorf("reading sealed values: %w", err)
			}
			for rs.Next() {
				r := row{kind: q.kind}
				if err := rs.Scan(&r.owner, &r.name, &r.sealed); err != nil {
					rs.Close()
					return fmt.Errorf("reading sealed values: %w", err)
				}
				rows = append(rows, r)
			}
			rs.Close()
			if err := rs.Err(); err != nil {
				return fmt.Errorf("reading sealed values: %w", err)
			}
		}
		for _, r := range rows {
			v, err := fn(r.kind, r.owner, r.name, r.sealed)
			if err != nil {
				return err
			}
			query := `UPDATE secrets SET sealed = $1 WHERE project_id = $2 AND key = $3`
			if r.kind == SealedJobEnv {
				query = `UPDATE jobs SET sealed_env = $1 WHERE event_id = $2 AND name = $3`
			}
			if _, err := st.Exec(ctx, query, v, r.owner, r.name); err != nil {
				return fmt.Errorf("storing the resealed %s %s/%s: %w", r.kind, r.owner, r.name, err)
			}
		}
		for k, v := range settings {
			if err := setSetting(ctx, st, k, v); err != nil {
				return err
			}
		}
		return nil
	})
}

// SealedCount is how many sealed values the store holds.
func (s *Store) SealedCount(ctx context.Context) (int, error) {
	var n int
	err := s.reader(ctx).QueryRow(ctx,
		`SELECT (SELECT COUNT(*) FROM secrets) + (SELECT COUNT(*) FROM jobs WHERE length(sealed_env) > 0)`).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("counting sealed values: %w", err)
	}
	return n, nil
}
