// Package pgschema gives a benchmark a PostgreSQL schema of its own, and
// the raw insert baseline the intake figure compares with.
package pgschema

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"time"

	"github.com/jackc/pgx/v5"
)

// Fresh creates a schema named prefix_<random> in the database at dbURL and
// returns the URL that makes it the search path, and a function that drops
// it (and all in it).
func Fresh(ctx context.Context, dbURL, prefix string) (string, func(), error) {
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := prefix + "_" + hex.EncodeToString(b[:])
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return "", nil, fmt.Errorf("connect to %s: %w", redacted(dbURL), err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+name); err != nil {
		return "", nil, fmt.Errorf("create schema %s: %w", name, err)
	}
	drop := func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if c, err := pgx.Connect(ctx, dbURL); err == nil {
			_, _ = c.Exec(ctx, "DROP SCHEMA "+name+" CASCADE")
			_ = c.Close(ctx)
		}
	}
	u, err := url.Parse(dbURL)
	if err != nil {
		drop()
		return "", nil, err
	}
	q := u.Query()
	q.Set("search_path", name)
	u.RawQuery = q.Encode()
	return u.String(), drop, nil
}

// RawInsertRate is the baseline: one INSERT per committed transaction
// (synchronous_commit as the server has it) on one connection, in a schema
// of its own.
func RawInsertRate(ctx context.Context, dbURL string, rows int) (float64, error) {
	schemaURL, drop, err := Fresh(ctx, dbURL, "bench_raw")
	if err != nil {
		return 0, err
	}
	defer drop()
	conn, err := pgx.Connect(ctx, schemaURL)
	if err != nil {
		return 0, err
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `CREATE TABLE t (id bigserial PRIMARY KEY, project text, doc text)`); err != nil {
		return 0, err
	}
	doc := `{"source":"bench.example.com","type":"push","payload":"{\"ref\":\"refs/heads/main\"}"}`
	start := time.Now()
	for range rows {
		if _, err := conn.Exec(ctx, `INSERT INTO t (project, doc) VALUES ($1, $2)`, "bench-0", doc); err != nil {
			return 0, err
		}
	}
	return float64(rows) / time.Since(start).Seconds(), nil
}

// redacted is dbURL without its password, for messages.
func redacted(dbURL string) string {
	u, err := url.Parse(dbURL)
	if err != nil {
		return "the database URL"
	}
	return u.Redacted()
}
