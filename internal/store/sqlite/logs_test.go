package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pressly/goose/v3"

	"github.com/brigadeplatform/brigade/internal/core"
)

// oddLines are messages that exercise the chunk encoding: empty, escapes
// JSON would need, control characters, invalid UTF-8, and sizes around
// every JSONB header width and the chunk size.
func oddLines() []string {
	return []string{
		"", "plain", `a "quoted" \ back\slash /`, "tab\there", "cr\rin the middle", "nl\nin the middle",
		"nul\x00byte", "bell\x07", "invalid \xff\xfe utf-8", "naïve €uro 𝄞 clef", "\u2028\u2029",
		strings.Repeat("x", 11), strings.Repeat("y", 12), strings.Repeat("z", 255), strings.Repeat("w", 256),
		strings.Repeat("v", 65535), strings.Repeat("u", 65536), strings.Repeat("t", maxChunkBytes+100), "after the long ones",
	}
}

func TestLogChunks(t *testing.T) {
	t.Run("EveryLineRoundTripsThroughEveryPage", func(t *testing.T) {
		s := openTemp(t)
		ctx := t.Context()
		must(t, s.Projects().Create(ctx, project("demo")), "create project")
		must(t, s.Events().Create(ctx, event("demo", "e1")), "create event")
		st := core.LogStream{EventID: "e1", Job: "build", Container: "build"}
		base := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
		var want []core.StoredLogEntry
		add := func(msgs []string, stamp bool) {
			entries := make([]core.LogEntry, len(msgs))
			for i, m := range msgs {
				entries[i].Message = m
				if stamp {
					// Times go back as well as forward within a chunk.
					tm := base.Add(time.Duration(len(want)+i) * time.Millisecond * time.Duration(1-2*(i%2)))
					entries[i].Time = &tm
				}
			}
			must(t, s.Logs().Append(ctx, st, entries), "append")
			for i, m := range msgs {
				e := core.StoredLogEntry{Seq: int64(len(want) + 1), Message: m}
				if stamp {
					e.Time = *entries[i].Time
				}
				want = append(want, e)
			}
		}
		add(oddLines(), true)
		many := make([]string, 3000) // several chunks of one append
		for i := range many {
			many[i] = fmt.Sprintf("line %d %s", i, strings.Repeat("-", i%150))
		}
		add(many, true)
		add([]string{"untimed"}, false)
		add(oddLines(), true)

		all, err := s.Logs().Read(ctx, st, 0, 0)
		must(t, err, "read everything")
		if len(all) != len(want) {
			t.Fatalf("read %d lines, want %d", len(all), len(want))
		}
		for i := range want {
			if want[i].Time.IsZero() {
				want[i].Time = all[i].Time // stamped by the store
				if all[i].Time.IsZero() || all[i].Time.Location() != time.UTC {
					t.Errorf("line %d: stamped time %v", i+1, all[i].Time)
				}
			}
		}
		check := func(got []core.StoredLogEntry, from int, what string) {
			t.Helper()
			for i, g := range got {
				w := want[from+i]
				if g.Seq != w.Seq || g.Message != w.Message || !g.Time.Equal(w.Time) || g.Time.Location() != time.UTC {
					t.Fatalf("%s: line %d = {%d %v %.40q}, want {%d %v %.40q}", what, i, g.Seq, g.Time, g.Message, w.Seq, w.Time, w.Message)
				}
			}
		}
		check(all, 0, "everything")
		n := len(want)
		for _, after := range []int{0, 1, 5, 18, 19, 20, 21, 500, 1000, 2999, n - 20, n - 1, n} {
			for _, limit := range []int{1, 2, 7, 500, n} {
				got, err := s.Logs().Read(ctx, st, int64(after), limit)
				must(t, err, "read a page")
				if wantN := min(limit, n-after); len(got) != wantN {
					t.Fatalf("after %d limit %d: %d lines, want %d", after, limit, len(got), wantN)
				}
				check(got, after, fmt.Sprintf("after %d limit %d", after, limit))
			}
		}
		// Pages of 500 from the start cover the stream exactly once.
		var paged []core.StoredLogEntry
		for after := int64(0); ; {
			page, err := s.Logs().Read(ctx, st, after, 500)
			must(t, err, "read a page")
			if len(page) == 0 {
				break
			}
			paged = append(paged, page...)
			after = page[len(page)-1].Seq
		}
		if len(paged) != n {
			t.Fatalf("paging read %d lines, want %d", len(paged), n)
		}
		check(paged, 0, "paging")
	})

	t.Run("MigrationsKeepEveryLineBothWays", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "brigade.db")
		ctx := t.Context()
		st := core.LogStream{EventID: "e1", Container: "worker"}
		base := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
		msgs := append(oddLines(), "last")
		entries := make([]core.LogEntry, len(msgs))
		for i, m := range msgs {
			tm := base.Add(time.Duration(i) * time.Second)
			entries[i] = core.LogEntry{Time: &tm, Message: m}
		}
		s, err := Open(ctx, path, testLogger(t))
		must(t, err, "open")
		must(t, s.Projects().Create(ctx, project("demo")), "create project")
		must(t, s.Events().Create(ctx, event("demo", "e1")), "create event")
		must(t, s.Logs().Append(ctx, st, entries[:5]), "append")
		must(t, s.Logs().Append(ctx, st, entries[5:]), "append")
		must(t, s.Close(), "close")

		// Down to one row per line.
		db, err := sql.Open("sqlite", path+"?"+writeParams)
		must(t, err, "open for migrations")
		fsys, err := fs.Sub(migrations, "migrations")
		must(t, err, "migrations")
		p, err := goose.NewProvider(goose.DialectSQLite3, db, fsys)
		must(t, err, "goose")
		_, err = p.DownTo(ctx, 3)
		must(t, err, "migrate down to 3")
		rows, err := db.QueryContext(ctx, `SELECT seq, time_ns, CAST(message AS BLOB) FROM logs WHERE event_id = 'e1' ORDER BY seq`)
		must(t, err, "read the logs table")
		i := 0
		for rows.Next() {
			var (
				seq, ns int64
				msg     []byte
			)
			must(t, rows.Scan(&seq, &ns, &msg), "scan")
			if i >= len(entries) || seq != int64(i+1) || ns != entries[i].Time.UnixNano() || string(msg) != entries[i].Message {
				t.Fatalf("row %d after down: {%d %d %.40q}", i, seq, ns, msg)
			}
			i++
		}
		must(t, rows.Err(), "read the logs table")
		if i != len(entries) {
			t.Fatalf("%d rows after down, want %d", i, len(entries))
		}
		must(t, db.Close(), "close")

		// Up again: one chunk per line, read as before; appends go on.
		s = openAt(t, path)
		more := base.Add(time.Hour)
		must(t, s.Logs().Append(ctx, st, []core.LogEntry{{Time: &more, Message: "more"}}), "append after up")
		got, err := s.Logs().Read(ctx, st, 0, 0)
		must(t, err, "read after up")
		entries = append(entries, core.LogEntry{Time: &more, Message: "more"})
		if len(got) != len(entries) {
			t.Fatalf("%d lines after up, want %d", len(got), len(entries))
		}
		for i, g := range got {
			if g.Seq != int64(i+1) || !g.Time.Equal(*entries[i].Time) || g.Message != entries[i].Message {
				t.Fatalf("line %d after up: {%d %v %.40q}, want %.40q", i, g.Seq, g.Time, g.Message, entries[i].Message)
			}
		}
	})

	t.Run("ACorruptChunkIsAnError", func(t *testing.T) {
		s := openTemp(t)
		ctx := t.Context()
		must(t, s.Projects().Create(ctx, project("demo")), "create project")
		must(t, s.Events().Create(ctx, event("demo", "e1")), "create event")
		st := core.LogStream{EventID: "e1", Container: "worker"}
		must(t, s.Logs().Append(ctx, st, []core.LogEntry{{Message: "a"}, {Message: "b"}}), "append")
		must(t, s.Tx(ctx, func(ctx context.Context) error {
			_, err := s.state(ctx).ExecContext(ctx, `UPDATE log_chunks SET lines = substr(lines, 1, length(lines) - 1)`)
			return err
		}), "damage the chunk")
		if _, err := s.Logs().Read(ctx, st, 0, 0); err == nil {
			t.Fatal("reading a damaged chunk succeeded")
		}
	})
}

// BenchmarkLogAppend stores 100-byte lines in appends of 10,000 (what the
// log pump sends from a fast writer) and reports MB/s of messages.
func BenchmarkLogAppend(b *testing.B) {
	s := openTemp(b)
	ctx := context.Background()
	if err := s.Projects().Create(ctx, project("demo")); err != nil {
		b.Fatal(err)
	}
	if err := s.Events().Create(ctx, event("demo", "e1")); err != nil {
		b.Fatal(err)
	}
	st := core.LogStream{EventID: "e1", Job: "build", Container: "build"}
	now := time.Now()
	batch := make([]core.LogEntry, 10000)
	for i := range batch {
		batch[i] = core.LogEntry{Time: &now, Message: fmt.Sprintf("line %09d %s", i, strings.Repeat("x", 84))}
	}
	b.SetBytes(int64(len(batch) * 99))
	for b.Loop() {
		if err := s.Logs().Append(core.Relaxed(ctx), st, batch); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLogRead reads a stream of 100,000 lines in pages of 500, as the
// API's log stream does.
func BenchmarkLogRead(b *testing.B) {
	s := openTemp(b)
	ctx := context.Background()
	if err := s.Projects().Create(ctx, project("demo")); err != nil {
		b.Fatal(err)
	}
	if err := s.Events().Create(ctx, event("demo", "e1")); err != nil {
		b.Fatal(err)
	}
	st := core.LogStream{EventID: "e1", Container: "worker"}
	now := time.Now()
	batch := make([]core.LogEntry, 10000)
	for i := range batch {
		batch[i] = core.LogEntry{Time: &now, Message: fmt.Sprintf("line %09d %s", i, strings.Repeat("x", 84))}
	}
	for range 10 {
		if err := s.Logs().Append(ctx, st, batch); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(100000 * 99)
	for b.Loop() {
		n := 0
		for after := int64(0); ; {
			page, err := s.Logs().Read(ctx, st, after, 500)
			if err != nil {
				b.Fatal(err)
			}
			if len(page) == 0 {
				break
			}
			n += len(page)
			after = page[len(page)-1].Seq
		}
		if n != 100000 {
			b.Fatalf("read %d lines", n)
		}
	}
}
