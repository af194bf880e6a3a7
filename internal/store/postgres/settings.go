package postgres

import (
	"context"
	"fmt"
)

type settingStore struct{ s *Store }

func (ss settingStore) Get(ctx context.Context, key string) (string, bool, error) {
	var v string
	err := ss.s.reader(ctx).QueryRow(ctx, `SELECT value FROM settings WHERE key = $1`, key).Scan(&v)
	if noRows(err) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("get setting %q: %w", key, err)
	}
	return v, true, nil
}

func (ss settingStore) Set(ctx context.Context, key, value string) error {
	return ss.s.write(ctx, func(ctx context.Context, st *txState) error {
		return setSetting(ctx, st, key, value)
	})
}

func setSetting(ctx context.Context, q querier, key, value string) error {
	if _, err := q.Exec(ctx,
		`INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
		key, value); err != nil {
		return fmt.Errorf("set setting %q: %w", key, err)
	}
	return nil
}

func (ss settingStore) SetEndingRootSessions(ctx context.Context, key, value string) (int64, error) {
	var ended int64
	err := ss.s.write(ctx, func(ctx context.Context, st *txState) error {
		if err := setSetting(ctx, st, key, value); err != nil {
			return err
		}
		tag, err := st.Exec(ctx, `DELETE FROM sessions WHERE root`)
		if err != nil {
			return fmt.Errorf("end root sessions: %w", err)
		}
		ended = tag.RowsAffected()
		return nil
	})
	return ended, err
}

func (ss settingStore) SetIfAbsent(ctx context.Context, key, value string) (bool, error) {
	var stored bool
	err := ss.s.write(ctx, func(ctx context.Context, st *txState) error {
		tag, err := st.Exec(ctx, `INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING`, key, value)
		if err != nil {
			return fmt.Errorf("set setting %q if absent: %w", key, err)
		}
		stored = tag.RowsAffected() == 1
		return nil
	})
	return stored, err
}
