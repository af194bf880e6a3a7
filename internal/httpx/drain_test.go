package httpx

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// countingReader counts what the client's transport read of its body.
type countingReader struct {
	r io.Reader
	n atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// TestDrainBodyLeavesExpectContinueAlone: a client that asked for
// "100-continue" and got a refusal instead is never told to send its body,
// so the drain must not read it (reading would send "100 Continue").
func TestDrainBodyLeavesExpectContinueAlone(t *testing.T) {
	srv := httptest.NewServer(DrainBody(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusRequestEntityTooLarge)
	})))
	defer srv.Close()
	body := &countingReader{r: strings.NewReader(strings.Repeat("x", 8<<20))}
	req, _ := http.NewRequest("POST", srv.URL, body)
	req.ContentLength = 8 << 20
	req.Header.Set("Expect", "100-continue")
	// Long enough that the transport waits for the answer, not the timer.
	client := &http.Client{Transport: &http.Transport{ExpectContinueTimeout: time.Minute}}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge || body.n.Load() != 0 {
		t.Fatalf("got %d after sending %d bytes of the body, want 413 after none", resp.StatusCode, body.n.Load())
	}
}

// TestDrainBodyKeepsReadBodies: a handler that read its body whole is left
// alone, and the connection serves the next request.
func TestDrainBodyKeepsReadBodies(t *testing.T) {
	srv := httptest.NewServer(DrainBody(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		io.WriteString(w, strings.ToUpper(string(b)))
	})))
	defer srv.Close()
	for range 2 {
		resp, err := http.Post(srv.URL, "text/plain", strings.NewReader("hello"))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(b) != "HELLO" {
			t.Fatalf("got %q", b)
		}
	}
}
