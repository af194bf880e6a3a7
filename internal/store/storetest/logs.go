package storetest

import (
	"sync"
	"testing"
	"time"

	"github.com/brigadeplatform/brigade/internal/core"
)

func lines(msgs ...string) []core.LogEntry {
	out := make([]core.LogEntry, len(msgs))
	for i, m := range msgs {
		out[i] = core.LogEntry{Time: ptr(base.Add(time.Duration(i) * time.Millisecond)), Message: m}
	}
	return out
}

func messages(entries []core.StoredLogEntry) []string {
	out := make([]string, len(entries))
	for i, e := range entries {
		out[i] = e.Message
	}
	return out
}

func seqs(entries []core.StoredLogEntry) []int64 {
	out := make([]int64, len(entries))
	for i, e := range entries {
		out[i] = e.Seq
	}
	return out
}

func logCases() []testCase {
	return []testCase{
		{"Logs/AppendAssignsDenseSeqPerStream", func(t *testing.T, s core.Store) {
			ctx := t.Context()
			mkProject(t, s, "demo")
			mkEvent(t, s, "demo", "e1", base)
			worker := core.LogStream{EventID: "e1", Container: "worker"}
			job := core.LogStream{EventID: "e1", Job: "build", Container: "build"}
			sidecar := core.LogStream{EventID: "e1", Job: "build", Container: "db"}
			must(t, s.Logs().Append(ctx, worker, lines("w1", "w2")), "append worker")
			must(t, s.Logs().Append(ctx, job, lines("j1")), "append job")
			must(t, s.Logs().Append(ctx, worker, lines("w3")), "append worker")
			must(t, s.Logs().Append(ctx, sidecar, lines("s1")), "append sidecar")
			must(t, s.Logs().Append(ctx, job, lines("j2", "j3")), "append job")
			for _, c := range []struct {
				stream core.LogStream
				msgs   []string
			}{{worker, []string{"w1", "w2", "w3"}}, {job, []string{"j1", "j2", "j3"}}, {sidecar, []string{"s1"}}} {
				got, err := s.Logs().Read(ctx, c.stream, 0, 100)
				must(t, err, "read logs")
				wantEqual(t, messages(got), c.msgs, "messages of "+c.stream.Container)
				want := make([]int64, len(c.msgs))
				for i := range want {
					want[i] = int64(i + 1)
				}
				wantEqual(t, seqs(got), want, "seqs of "+c.stream.Container)
			}
		}},
		{"Logs/ReadAfterAndLimit", func(t *testing.T, s core.Store) {
			ctx := t.Context()
			mkProject(t, s, "demo")
			mkEvent(t, s, "demo", "e1", base)
			st := core.LogStream{EventID: "e1", Container: "worker"}
			must(t, s.Logs().Append(ctx, st, lines("1", "2", "3", "4", "5")), "append")
			got, err := s.Logs().Read(ctx, st, 2, 2)
			must(t, err, "read logs")
			wantEqual(t, seqs(got), []int64{3, 4}, "seqs after 2, limit 2")
			got, err = s.Logs().Read(ctx, st, 4, 10)
			must(t, err, "read logs")
			wantEqual(t, messages(got), []string{"5"}, "the rest")
			got, err = s.Logs().Read(ctx, st, 5, 10)
			must(t, err, "read logs")
			wantEqual(t, len(got), 0, "lines after the last")
			got, err = s.Logs().Read(ctx, core.LogStream{EventID: "e1", Container: "none"}, 0, 10)
			must(t, err, "read an unwritten stream")
			wantEqual(t, len(got), 0, "lines of an unwritten stream")
		}},
		{"Logs/TimesRoundTripInUTCAndMissingTimesAreStamped", func(t *testing.T, s core.Store) {
			ctx := t.Context()
			mkProject(t, s, "demo")
			mkEvent(t, s, "demo", "e1", base)
			st := core.LogStream{EventID: "e1", Container: "worker"}
			before := time.Now()
			must(t, s.Logs().Append(ctx, st, []core.LogEntry{{Time: ptr(base), Message: "timed"}, {Message: "untimed"}}), "append")
			got, err := s.Logs().Read(ctx, st, 0, 10)
			must(t, err, "read logs")
			wantTime(t, &got[0].Time, base, "given time")
			if got[1].Time.Location() != time.UTC || got[1].Time.Before(before.Add(-time.Second)) {
				t.Fatalf("stamped time = %v, want about now in UTC", got[1].Time)
			}
		}},
		{"Logs/CloseAndIsClosedPerStream", func(t *testing.T, s core.Store) {
			ctx := t.Context()
			mkProject(t, s, "demo")
			mkEvent(t, s, "demo", "e1", base)
			worker := core.LogStream{EventID: "e1", Container: "worker"}
			job := core.LogStream{EventID: "e1", Job: "build", Container: "build"}
			must(t, s.Logs().Append(ctx, worker, lines("x")), "append")
			closed, err := s.Logs().IsClosed(ctx, worker)
			must(t, err, "is closed")
			wantEqual(t, closed, false, "open stream")
			must(t, s.Logs().Close(ctx, worker), "close worker stream")
			must(t, s.Logs().Close(ctx, worker), "close worker stream again")
			closed, err = s.Logs().IsClosed(ctx, worker)
			must(t, err, "is closed")
			wantEqual(t, closed, true, "closed stream")
			closed, err = s.Logs().IsClosed(ctx, job)
			must(t, err, "is closed")
			wantEqual(t, closed, false, "another stream of the event")
			must(t, s.Logs().Close(ctx, job), "close a stream nothing was written to")
			closed, err = s.Logs().IsClosed(ctx, job)
			must(t, err, "is closed")
			wantEqual(t, closed, true, "closed empty stream")
			got, err := s.Logs().Read(ctx, worker, 0, 10)
			must(t, err, "read logs")
			wantEqual(t, messages(got), []string{"x"}, "lines survive Close")
		}},
		{"Logs/MissingEventIsNotFound", func(t *testing.T, s core.Store) {
			ctx := t.Context()
			st := core.LogStream{EventID: "nope", Container: "worker"}
			wantNotFound(t, s.Logs().Append(ctx, st, lines("x")), "Event")
			wantNotFound(t, s.Logs().Close(ctx, st), "Event")
			closed, err := s.Logs().IsClosed(ctx, st)
			must(t, err, "is closed")
			wantEqual(t, closed, false, "stream of a missing event")
		}},
		{"Logs/ConcurrentAppendsStayDenseAndKeepBatchesTogether", func(t *testing.T, s core.Store) {
			ctx := t.Context()
			mkProject(t, s, "demo")
			mkEvent(t, s, "demo", "e1", base)
			st := core.LogStream{EventID: "e1", Container: "worker"}
			const writers, batch = 10, 5
			var wg sync.WaitGroup
			errs := make(chan error, writers)
			for w := range writers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					msgs := make([]string, batch)
					for i := range msgs {
						msgs[i] = idf("w%d-", w) + idf("%d", i)
					}
					errs <- s.Logs().Append(ctx, st, lines(msgs...))
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				must(t, err, "concurrent append")
			}
			got, err := s.Logs().Read(ctx, st, 0, 0)
			must(t, err, "read logs")
			if len(got) != writers*batch {
				t.Fatalf("got %d lines, want %d (a limit <= 0 reads everything)", len(got), writers*batch)
			}
			for i, e := range got {
				wantEqual(t, e.Seq, int64(i+1), "dense seq")
				if i%batch != 0 && e.Message[:3] != got[i-1].Message[:3] {
					t.Fatalf("line %d (%q) interleaves another append's batch (%q)", i+1, e.Message, got[i-1].Message)
				}
			}
		}},
	}
}
