//go:build unix

package worker

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/brigadeplatform/brigade/internal/core"
	"github.com/brigadeplatform/brigade/internal/js"
)

// batchAPI is the part of the API CreateJobs talks to: a batch create that
// answers as told, single creates, and job status lookups.
type batchAPI struct {
	mu      sync.Mutex
	jobs    map[string]bool
	batches int
	singles []string
	watches []string // "name final=..." of each status watch
	// batch decides what the batch request does: "ok" creates all,
	// "conflict" answers 409 and creates none, "lost" creates all and
	// drops the connection before answering.
	batch string
}

func (a *batchAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	defer a.mu.Unlock()
	switch {
	case r.Method == http.MethodPost && r.URL.Query().Get("batch") == "true":
		a.batches++
		var list struct {
			Kind  string
			Items []core.Job
		}
		if err := json.NewDecoder(r.Body).Decode(&list); err != nil || list.Kind != "JobList" {
			http.Error(w, `{"reason":"bad list"}`, http.StatusBadRequest)
			return
		}
		switch a.batch {
		case "conflict":
			w.WriteHeader(http.StatusConflict)
			w.Write([]byte(`{"kind":"ConflictError","apiVersion":"brigade.sh/v2","type":"Job","id":"dup","reason":"taken"}`))
			return
		case "lost":
			for _, j := range list.Items {
				a.jobs[j.Name] = true
			}
			conn, _, _ := w.(http.Hijacker).Hijack()
			conn.Close()
			return
		}
		for _, j := range list.Items {
			a.jobs[j.Name] = true
		}
		w.WriteHeader(http.StatusCreated)
		w.Write([]byte("null"))
	case r.Method == http.MethodPost:
		var j core.Job
		json.NewDecoder(r.Body).Decode(&j)
		a.singles = append(a.singles, j.Name)
		if a.jobs[j.Name] {
			w.WriteHeader(http.StatusConflict)
			w.Write([]byte(`{"kind":"ConflictError","apiVersion":"brigade.sh/v2","type":"Job","id":"` + j.Name + `","reason":"taken"}`))
			return
		}
		a.jobs[j.Name] = true
		w.WriteHeader(http.StatusCreated)
		json.NewEncoder(w).Encode(core.JobStatus{Phase: core.PhasePending})
	case r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/status"):
		name := strings.TrimSuffix(r.URL.Path[strings.LastIndex(r.URL.Path, "/jobs/")+len("/jobs/"):], "/status")
		if !a.jobs[name] {
			http.Error(w, `{"kind":"NotFoundError","apiVersion":"brigade.sh/v2","type":"Job","id":"`+name+`"}`, http.StatusNotFound)
			return
		}
		if r.URL.Query().Get("watch") == "true" {
			a.watches = append(a.watches, name+" final="+r.URL.Query().Get("final"))
			json.NewEncoder(w).Encode(core.JobStatus{Phase: core.PhaseSucceeded})
			return
		}
		json.NewEncoder(w).Encode(core.JobStatus{Phase: core.PhasePending})
	default:
		http.Error(w, "unexpected", http.StatusTeapot)
	}
}

// CreateJobs sends a batch in one request; when the server refuses it,
// each job gets its own outcome; when the answer is lost after the server
// created them, each is found created.
func TestCreateJobsBatchAndFallBack(t *testing.T) {
	jobs := func(names ...string) []js.JobToCreate {
		var out []js.JobToCreate
		for _, n := range names {
			out = append(out, js.JobToCreate{Job: core.Job{Name: n}, Phases: n == "two"})
		}
		return out
	}
	var h *host
	run := func(t *testing.T, a *batchAPI, names ...string) []error {
		t.Helper()
		srv := httptest.NewServer(a)
		t.Cleanup(srv.Close)
		h, _ = testHost(srv, time.Minute)
		return h.CreateJobs(t.Context(), jobs(names...))
	}

	t.Run("OneRequest", func(t *testing.T) {
		a := &batchAPI{jobs: map[string]bool{}, batch: "ok"}
		for i, err := range run(t, a, "one", "two", "three") {
			if err != nil {
				t.Fatalf("job %d: %v", i, err)
			}
		}
		// Each is followed from the start: the end alone unless its
		// phases were asked for.
		for _, name := range []string{"one", "two", "three"} {
			if phase, err := h.WaitJob(t.Context(), name, nil); err != nil || phase != core.PhaseSucceeded {
				t.Fatalf("wait %s: %s %v", name, phase, err)
			}
		}
		a.mu.Lock()
		defer a.mu.Unlock()
		if a.batches != 1 || len(a.singles) != 0 || len(a.jobs) != 3 {
			t.Fatalf("%d batches, singles %v, jobs %v", a.batches, a.singles, a.jobs)
		}
		got := map[string]bool{}
		for _, w := range a.watches {
			got[w] = true
		}
		if len(a.watches) != 3 || !got["one final=true"] || !got["two final="] || !got["three final=true"] {
			t.Fatalf("watches %v", a.watches)
		}
	})
	t.Run("RefusedBatchGoesOneByOne", func(t *testing.T) {
		a := &batchAPI{jobs: map[string]bool{"dup": true}, batch: "conflict"}
		errs := run(t, a, "first", "dup", "last")
		if errs[0] != nil || errs[2] != nil || errs[1] == nil || !strings.Contains(errs[1].Error(), "taken") {
			t.Fatalf("errors %v, want the duplicate's alone", errs)
		}
		if strings.Join(a.singles, " ") != "first dup last" {
			t.Fatalf("single creates %v, want all three in order", a.singles)
		}
	})
	t.Run("LostAnswerFindsThemCreated", func(t *testing.T) {
		a := &batchAPI{jobs: map[string]bool{}, batch: "lost"}
		for i, err := range run(t, a, "one", "two") {
			if err != nil {
				t.Fatalf("job %d: %v", i, err)
			}
		}
		if len(a.jobs) != 2 {
			t.Fatalf("jobs %v", a.jobs)
		}
	})
}
