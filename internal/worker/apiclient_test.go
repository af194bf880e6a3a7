package worker

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// A standby runs one event after another: the second run's requests go
// over the connection the first one left open, each with its own token.
func TestRunsReuseTheAPIConnection(t *testing.T) {
	var (
		mu     sync.Mutex
		conns  int
		tokens []string
	)
	api := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/v2/events/e1/worker/jobs" {
			http.Error(w, "unexpected request", http.StatusNotFound)
			return
		}
		_, _ = io.Copy(io.Discard, r.Body)
		mu.Lock()
		tokens = append(tokens, r.Header.Get("Authorization"))
		mu.Unlock()
		w.WriteHeader(http.StatusCreated)
		fmt.Fprintln(w, `{"phase":"SUCCEEDED"}`)
	}))
	api.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			mu.Lock()
			conns++
			mu.Unlock()
		}
	}
	api.Start()
	defer api.Close()

	for i, token := range []string{"first", "second"} {
		doc := baseDoc()
		doc.Source, doc.Type = "bench.example.com", "run"
		doc.Worker.APIAddress, doc.Worker.APIToken = api.URL, token
		doc.Worker.LogLevel = "INFO"
		doc.Worker.DefaultConfigFiles = map[string]string{"brigade.js": oneJobScript}
		raw, err := json.Marshal(doc)
		if err != nil {
			t.Fatal(err)
		}
		dir := filepath.Join(t.TempDir(), fmt.Sprint(i))
		if err := os.Mkdir(dir, 0o750); err != nil {
			t.Fatal(err)
		}
		file := filepath.Join(dir, "event.json")
		if err := os.WriteFile(file, raw, 0o600); err != nil {
			t.Fatal(err)
		}
		if code := Run(t.Context(), Options{EventFile: file, Stdout: io.Discard, Version: "test", APIOutage: testOutage}); code != 0 {
			t.Fatalf("run %d exited %d", i, code)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if want := []string{"Bearer first", "Bearer second"}; fmt.Sprint(tokens) != fmt.Sprint(want) {
		t.Errorf("the API saw the tokens %q, want %q", tokens, want)
	}
	if conns != 1 {
		t.Errorf("the two runs opened %d connections, want 1", conns)
	}
}
