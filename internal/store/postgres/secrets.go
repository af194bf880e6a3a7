package postgres

import (
	"context"
	"fmt"

	"github.com/brigadeplatform/brigade/internal/core"
)

type secretStore struct{ s *Store }

func (ss secretStore) Set(ctx context.Context, projectID, key string, sealed []byte) error {
	if key == "" {
		return core.NewBadRequest("a secret needs a key")
	}
	if sealed == nil {
		sealed = []byte{}
	}
	return ss.s.write(ctx, func(ctx context.Context, st *txState) error {
		if err := mustExist(ctx, st, "Project", projectExists+` FOR KEY SHARE`, projectID); err != nil {
			return err
		}
		if _, err := st.Exec(ctx,
			`INSERT INTO secrets (project_id, key, sealed) VALUES ($1, $2, $3)
			 ON CONFLICT (project_id, key) DO UPDATE SET sealed = excluded.sealed`,
			projectID, key, sealed); err != nil {
			return fmt.Errorf("set secret %q of project %q: %w", key, projectID, err)
		}
		return nil
	})
}

func (ss secretStore) Get(ctx context.Context, projectID, key string) ([]byte, error) {
	var sealed []byte
	err := ss.s.read(ctx, func(q querier) error {
		err := q.QueryRow(ctx, `SELECT sealed FROM secrets WHERE project_id = $1 AND key = $2`, projectID, key).Scan(&sealed)
		if noRows(err) {
			if err := mustExist(ctx, q, "Project", projectExists, projectID); err != nil {
				return err
			}
			return &core.NotFoundError{Type: "Secret", ID: key,
				Reason: fmt.Sprintf("project %q has no secret %q", projectID, key)}
		}
		if err != nil {
			return fmt.Errorf("get secret %q of project %q: %w", key, projectID, err)
		}
		return nil
	})
	return sealed, err
}

// List pages through the project's keys in ascending order; the cursor is
// the last key returned. NotFoundError if the project does not exist.
func (ss secretStore) List(ctx context.Context, projectID string, opts core.ListOptions) ([]string, core.ListMeta, error) {
	limit := pageLimit(opts.Limit)
	var (
		keys []string
		meta core.ListMeta
	)
	err := ss.s.read(ctx, func(q querier) error {
		if err := mustExist(ctx, q, "Project", projectExists, projectID); err != nil {
			return err
		}
		rows, err := q.Query(ctx,
			`SELECT key FROM secrets WHERE project_id = $1 AND key > $2 ORDER BY key LIMIT $3`,
			projectID, opts.Continue, limit)
		if err != nil {
			return fmt.Errorf("list secrets of project %q: %w", projectID, err)
		}
		defer rows.Close()
		for rows.Next() {
			var k string
			if err := rows.Scan(&k); err != nil {
				return fmt.Errorf("read secret key: %w", err)
			}
			keys = append(keys, k)
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("list secrets of project %q: %w", projectID, err)
		}
		rows.Close()
		if len(keys) < limit {
			return nil
		}
		last := keys[len(keys)-1]
		if err := q.QueryRow(ctx, `SELECT COUNT(*) FROM secrets WHERE project_id = $1 AND key > $2`,
			projectID, last).Scan(&meta.RemainingItemCount); err != nil {
			return fmt.Errorf("count remaining secrets of project %q: %w", projectID, err)
		}
		if meta.RemainingItemCount > 0 {
			meta.Continue = last
		}
		return nil
	})
	if err != nil {
		return nil, core.ListMeta{}, err
	}
	return keys, meta, nil
}

// All returns every key and sealed value; NotFoundError if the project does
// not exist.
func (ss secretStore) All(ctx context.Context, projectID string) (map[string][]byte, error) {
	out := make(map[string][]byte)
	err := ss.s.read(ctx, func(q querier) error {
		if err := mustExist(ctx, q, "Project", projectExists, projectID); err != nil {
			return err
		}
		rows, err := q.Query(ctx, `SELECT key, sealed FROM secrets WHERE project_id = $1`, projectID)
		if err != nil {
			return fmt.Errorf("read secrets of project %q: %w", projectID, err)
		}
		defer rows.Close()
		for rows.Next() {
			var (
				k string
				v []byte
			)
			if err := rows.Scan(&k, &v); err != nil {
				return fmt.Errorf("read secret row: %w", err)
			}
			out[k] = v
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("read secrets of project %q: %w", projectID, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Unset removes a key. An absent key is not an error; an absent project is.
func (ss secretStore) Unset(ctx context.Context, projectID, key string) error {
	return ss.s.write(ctx, func(ctx context.Context, st *txState) error {
		if err := mustExist(ctx, st, "Project", projectExists, projectID); err != nil {
			return err
		}
		if _, err := st.Exec(ctx, `DELETE FROM secrets WHERE project_id = $1 AND key = $2`, projectID, key); err != nil {
			return fmt.Errorf("unset secret %q of project %q: %w", key, projectID, err)
		}
		return nil
	})
}
