package postgres

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/brigadeplatform/brigade/internal/core"
)

// Page sizes: the API allows 1..100 and defaults to 20.
const (
	defaultLimit = 20
	maxLimit     = 100
)

func pageLimit(l int) int {
	switch {
	case l <= 0:
		return defaultLimit
	case l > maxLimit:
		return maxLimit
	}
	return l
}

func badCursor(c string) error {
	return core.NewBadRequest(fmt.Sprintf("Invalid value %q for \"continue\" query parameter", c))
}

// Times are stored as Unix nanoseconds and returned in UTC.

func nowNS() int64 { return time.Now().UnixNano() }

func fromNS(ns int64) time.Time { return time.Unix(0, ns).UTC() }

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// stamp sets *t to now (UTC) when it is unset and returns the UTC value.
func stamp(t **time.Time) time.Time {
	if *t == nil {
		now := time.Now().UTC()
		*t = &now
	}
	return (*t).UTC()
}

// nullNS is a nullable time column's value.
func nullNS(t *time.Time) *int64 {
	if t == nil {
		return nil
	}
	ns := t.UnixNano()
	return &ns
}

func fromNullNS(n *int64) *time.Time {
	if n == nil {
		return nil
	}
	t := fromNS(*n)
	return &t
}

// nullString stores "" as NULL (for columns a unique index skips when NULL).
func nullString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func marshal(what string, v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("encode %s: %w", what, err)
	}
	return string(b), nil
}

func unmarshal(what, doc string, v any) error {
	if err := json.Unmarshal([]byte(doc), v); err != nil {
		return fmt.Errorf("decode stored %s: %w", what, err)
	}
	return nil
}

func noRows(err error) bool { return errors.Is(err, pgx.ErrNoRows) }

// isUniqueViolation reports whether err is a unique or primary key violation.
func isUniqueViolation(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505"
}
