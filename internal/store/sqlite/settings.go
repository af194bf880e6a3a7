package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

type settingStore struct{ s *Store }

func (ss settingStore) Get(ctx context.Context, key string) (string, bool, error) {
	var v string
	err := ss.s.reader(ctx).QueryRowContext(ctx, `SELECT value FROM settings WHERE key = ?`, key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
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

func setSetting(ctx context.Context, st *txState, key, value string) error {
	if _, err := st.ExecContext(ctx,
		`INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
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
		res, err := st.ExecContext(ctx, `DELETE FROM sessions WHERE root <> 0`)
		if err != nil {
			return fmt.Errorf("end root sessions: %w", err)
		}
		ended, err = affected(res)
		return err
	})
	return ended, err
}

func (ss settingStore) SetIfAbsent(ctx context.Context, key, value string) (bool, error) {
	var stored bool
	err := ss.s.write(ctx, func(ctx context.Context, st *txState) error {
		res, err := st.ExecContext(ctx,
			`INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING`, key, value)
		if err != nil {
			return fmt.Errorf("set setting %q if absent: %w", key, err)
		}
		n, err := affected(res)
		stored = n == 1
		return err
	})
	return stored, err
}
