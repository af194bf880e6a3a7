package server_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/brigadeplatform/brigade/internal/core"
)

// TestOversizedBodyRefusalReachesTheClient: a client that writes its whole
// body before it reads (no "Expect: 100-continue", as Python's urllib does)
// reads the 413, not a connection reset. The test server's limit is 64 KiB;
// the bodies are far beyond it and beyond what net/http drains by itself.
func TestOversizedBodyRefusalReachesTheClient(t *testing.T) {
	ts := newTestServer(t)
	before := ts.state()
	const size = 12 << 20
	cases := []struct {
		name, token string
		chunked     bool
		status      int
		kind        string
	}{
		{"content length", ts.root, false, http.StatusRequestEntityTooLarge, "RequestEntityTooLargeError"},
		{"chunked", ts.root, true, http.StatusRequestEntityTooLarge, "RequestEntityTooLargeError"},
		{"no token", "", false, http.StatusUnauthorized, "AuthenticationError"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp := rawUpload(t, ts.url, "/v2/projects", c.token, size, c.chunked)
			if resp.status != c.status {
				t.Fatalf("got %d, want %d: %s", resp.status, c.status, resp.body)
			}
			var m map[string]any
			if err := json.Unmarshal(resp.body, &m); err != nil || m["kind"] != c.kind || m["apiVersion"] != core.APIVersion {
				t.Fatalf("error body %s (%v), want kind %s", resp.body, err, c.kind)
			}
		})
	}
	if after := ts.state(); after != before {
		t.Fatalf("refused uploads changed state:\nbefore %s\nafter  %s", before, after)
	}
}

type rawReply struct {
	status int
	body   []byte
}

// rawUpload sends a POST with a body of size bytes over a bare TCP
// connection, writing all of it before reading anything, and reads the
// reply. A reset while writing or reading fails the test.
func rawUpload(t *testing.T, base, path, token string, size int, chunked bool) rawReply {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// A generous bound so that a hang fails instead of stalling the run.
	conn.SetDeadline(time.Now().Add(2 * time.Minute))
	var head strings.Builder
	fmt.Fprintf(&head, "POST %s HTTP/1.1\r\nHost: brigade\r\nContent-Type: application/json\r\n", path)
	if token != "" {
		fmt.Fprintf(&head, "Authorization: Bearer %s\r\n", token)
	}
	if chunked {
		head.WriteString("Transfer-Encoding: chunked\r\n\r\n")
	} else {
		fmt.Fprintf(&head, "Content-Length: %d\r\n\r\n", size)
	}
	w := bufio.NewWriterSize(conn, 64<<10)
	w.WriteString(head.String())
	chunk := bytes.Repeat([]byte("x"), 32<<10)
	for sent := 0; sent < size; sent += len(chunk) {
		if chunked {
			fmt.Fprintf(w, "%x\r\n", len(chunk))
		}
		if _, err := w.Write(chunk); err != nil {
			t.Fatalf("writing the body after %d bytes: %v", sent, err)
		}
		if chunked {
			w.WriteString("\r\n")
		}
	}
	if chunked {
		w.WriteString("0\r\n\r\n")
	}
	if err := w.Flush(); err != nil {
		t.Fatalf("writing the body: %v", err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("reading the reply: %v", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading the reply's body: %v", err)
	}
	return rawReply{resp.StatusCode, b}
}
