package client

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/brigadeplatform/brigade/internal/core"
)

// streamFake writes chunks (flushing each) and then, if hold is not nil,
// keeps the response open until hold is closed or the client goes away.
func streamFake(t *testing.T, chunks []string, hold chan struct{}) *Client {
	return fake(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(http.StatusOK)
		f := w.(http.Flusher)
		f.Flush()
		for _, c := range chunks {
			io.WriteString(w, c)
			f.Flush()
		}
		if hold != nil {
			select {
			case <-hold:
			case <-r.Context().Done():
			}
		}
	})
}

func collect[T any](vals <-chan T, errs <-chan error) ([]T, error) {
	var out []T
	for v := range vals {
		out = append(out, v)
	}
	return out, <-errs
}

func TestStreams(t *testing.T) {
	ctx := context.Background()

	t.Run("LogsBackToBackWithoutSeparators", func(t *testing.T) {
		c := streamFake(t, []string{
			`{"kind":"LogEntry","apiVersion":"brigade.sh/v2","time":"2024-01-02T03:04:05Z","message":"one"}{"kind":"LogEntry","apiVersion":"brigade.sh/v2","message":"two"}`,
			`{"kind":"LogEntry","apiVersion":"brigade.sh/v2","mess`, `age":"three"}`,
		}, nil)
		got, err := collect(c.Logs(ctx, "e1", LogOptions{}))
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 3 || got[0].Message != "one" || got[0].Time == nil || got[2].Message != "three" {
			t.Fatalf("got %+v", got)
		}
	})

	t.Run("LogsNewlineSeparatedAndQuery", func(t *testing.T) {
		var query string
		c := fake(t, func(w http.ResponseWriter, r *http.Request) {
			query = r.URL.RawQuery
			io.WriteString(w, "{\"message\":\"a\"}\n{\"message\":\"b\"}\n")
		})
		got, err := collect(c.Logs(ctx, "e1", LogOptions{Job: "build", Container: "db", Follow: true}))
		if err != nil || len(got) != 2 {
			t.Fatalf("got %+v, %v", got, err)
		}
		if query != "container=db&follow=true&job=build" {
			t.Fatalf("query %q", query)
		}
	})

	t.Run("LogsEmptyStreamEndsNormally", func(t *testing.T) {
		c := streamFake(t, nil, nil)
		got, err := collect(c.Logs(ctx, "e1", LogOptions{}))
		if err != nil || len(got) != 0 {
			t.Fatalf("got %+v, %v", got, err)
		}
	})

	t.Run("RefusalArrivesOnErrorChannel", func(t *testing.T) {
		c := fake(t, func(w http.ResponseWriter, r *http.Request) {
			reply(w, 404, `{"kind":"NotFoundError","apiVersion":"brigade.sh/v2","type":"Event","id":"e1"}`)
		})
		_, err := collect(c.WatchWorkerStatus(ctx, "e1"))
		if !core.IsNotFound(err) {
			t.Fatalf("got %v", err)
		}
	})

	t.Run("WatchStopsAtTerminalPhase", func(t *testing.T) {
		hold := make(chan struct{})
		defer close(hold)
		c := streamFake(t, []string{`{"phase":"PENDING"}`, `{"phase":"RUNNING"}` + "\n", `{"phase":"SUCCEEDED"}`}, hold)
		got, err := collect(c.WatchWorkerStatus(ctx, "e1"))
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 3 || got[2].Phase != core.PhaseSucceeded {
			t.Fatalf("got %+v", got)
		}
	})

	t.Run("WatchesOneAfterAnotherShareAConnection", func(t *testing.T) {
		// A worker watches each of its jobs to its end, then creates the
		// next: each watch must leave its connection to the next request
		// rather than make it dial anew.
		var mu sync.Mutex
		conns := 0
		srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			f := w.(http.Flusher)
			w.WriteHeader(http.StatusOK)
			io.WriteString(w, `{"phase":"RUNNING"}`+"\n")
			f.Flush()
			io.WriteString(w, `{"phase":"SUCCEEDED"}`+"\n")
			f.Flush()
			// Not synchronisation: the end of the answer comes apart
			// from its last value, as from the real server, whose
			// handler has more to do after its last write.
			time.Sleep(5 * time.Millisecond)
		}))
		srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
			if s == http.StateNew {
				mu.Lock()
				conns++
				mu.Unlock()
			}
		}
		srv.Start()
		defer srv.Close()
		defer func(d time.Duration) { endWait = d }(endWait)
		endWait = time.Minute // however slow the machine, the end is waited for
		c := New(srv.URL, "tok")
		for i := 0; i < 5; i++ {
			got, err := collect(c.WatchJobStatus(ctx, "e1", "build"))
			if err != nil || len(got) != 2 {
				t.Fatalf("watch %d: got %+v, %v", i, got, err)
			}
		}
		mu.Lock()
		defer mu.Unlock()
		if conns != 1 {
			t.Fatalf("5 watches one after another opened %d connections, want 1", conns)
		}
	})

	t.Run("WatchEndingEarlyIsAnError", func(t *testing.T) {
		c := streamFake(t, []string{`{"phase":"RUNNING"}`}, nil)
		got, err := collect(c.WatchJobStatus(ctx, "e1", "build"))
		if len(got) != 1 || !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Fatalf("got %+v, %v", got, err)
		}
	})

	t.Run("TruncatedObjectIsAnError", func(t *testing.T) {
		c := streamFake(t, []string{`{"message":"a"}{"mess`}, nil)
		got, err := collect(c.Logs(ctx, "e1", LogOptions{}))
		if len(got) != 1 || err == nil {
			t.Fatalf("got %+v, %v", got, err)
		}
	})

	t.Run("CancelStopsAStreamThatIsBeingRead", func(t *testing.T) {
		hold := make(chan struct{})
		defer close(hold)
		c := streamFake(t, []string{`{"message":"a"}`}, hold)
		cctx, cancel := context.WithCancel(ctx)
		vals, errs := c.Logs(cctx, "e1", LogOptions{Follow: true})
		if v := <-vals; v.Message != "a" {
			t.Fatalf("got %+v", v)
		}
		cancel()
		rest, err := collect(vals, errs)
		if len(rest) != 0 || !errors.Is(err, context.Canceled) {
			t.Fatalf("got %+v, %v", rest, err)
		}
	})

	t.Run("CancelStopsAStreamNobodyReads", func(t *testing.T) {
		hold := make(chan struct{})
		defer close(hold)
		c := streamFake(t, []string{`{"message":"a"}{"message":"b"}`}, hold)
		cctx, cancel := context.WithCancel(ctx)
		vals, errs := c.Logs(cctx, "e1", LogOptions{Follow: true})
		cancel()
		// The producer must not stay blocked on the unread value channel.
		if err := <-errs; !errors.Is(err, context.Canceled) {
			t.Fatalf("got %v", err)
		}
		for range vals {
		}
	})
}
