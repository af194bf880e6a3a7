package client

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"testing"

	"github.com/brigadeplatform/brigade/internal/core"
)

// FuzzLogStream feeds arbitrary bytes to the reader of log and status
// streams: it delivers what decodes and ends with nil or an error, never a
// panic or a hang.
func FuzzLogStream(f *testing.F) {
	for _, s := range []string{
		`{"kind":"LogEntry","apiVersion":"brigade.sh/v2","time":"2024-01-02T03:04:05Z","message":"one"}{"message":"two"}`,
		"{\"message\":\"a\"}\n{\"message\":\"b\"}\n", `{"message":`, `[]`, `{"time":"yesterday"}`, "\xff", `{"message":"\ud800"}`,
	} {
		f.Add([]byte(s), false)
	}
	f.Add([]byte(`{"phase":"RUNNING"}{"phase":"SUCCEEDED"}`), true)
	f.Fuzz(func(t *testing.T, data []byte, watch bool) {
		resp := &http.Response{Body: io.NopCloser(bytes.NewReader(data))}
		var terminal func(*core.WorkerStatus) bool
		if watch {
			terminal = func(s *core.WorkerStatus) bool { return s.Phase.IsTerminal() }
		}
		readAll(resp, "status", terminal)
		resp = &http.Response{Body: io.NopCloser(bytes.NewReader(data))}
		readAll[core.LogEntry](resp, "logs", nil)
	})
}

// readAll reads a stream to its end, throwing its items away.
func readAll[T any](resp *http.Response, what string, terminal func(*T) bool) {
	vals := make(chan T)
	done := make(chan error, 1)
	go func() { done <- readBody(context.Background(), resp, what, terminal, vals) }()
	for {
		select {
		case <-vals:
		case <-done:
			return
		}
	}
}
