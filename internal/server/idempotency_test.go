package server_test

import (
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/brigadeplatform/brigade/internal/client"
	"github.com/brigadeplatform/brigade/internal/core"
)

// TestIdempotentEventCreation: an Idempotency-Key makes POST /v2/events a
// keyed delivery; repeated (even concurrently) it creates nothing and
// answers 200 with the first delivery's events.
func TestIdempotentEventCreation(t *testing.T) {
	ts := newTestServer(t)
	src := "example.com/gw"
	ts.createProject("one", core.EventSubscription{Source: src, Types: []string{"*"}})
	ts.createProject("two", core.EventSubscription{Source: src, Types: []string{"push"}})
	c := client.New(ts.url, ts.root)
	ev := &core.Event{Source: src, Type: "push"}

	first, replayed, err := c.CreateEventOnce(t.Context(), ev, "delivery-1")
	if err != nil || replayed || len(first) != 2 {
		t.Fatalf("first delivery: %d events, replayed %v, err %v; want 2, false, nil", len(first), replayed, err)
	}
	t.Run("RepeatCreatesNothing", func(t *testing.T) {
		again, replayed, err := c.CreateEventOnce(t.Context(), ev, "delivery-1")
		if err != nil || !replayed {
			t.Fatalf("repeat: replayed %v, err %v", replayed, err)
		}
		if got, want := eventIDs(again), eventIDs(first); !equalSets(got, want) {
			t.Fatalf("repeat answered %v, want the first delivery's %v", got, want)
		}
		if n := countEvents(t, c, src); n != 2 {
			t.Fatalf("%d events stored, want 2", n)
		}
	})
	t.Run("RawRepeatIs200WithTheHeader", func(t *testing.T) {
		req, _ := http.NewRequest("POST", ts.url+"/v2/events", strings.NewReader(`{"apiVersion":"brigade.sh/v2","kind":"Event","source":"example.com/gw","type":"push"}`))
		req.Header.Set("Authorization", "Bearer "+ts.root)
		req.Header.Set("Idempotency-Key", "delivery-1")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.Header.Get("Idempotent-Replayed") != "true" {
			t.Fatalf("raw repeat: %d, Idempotent-Replayed %q", resp.StatusCode, resp.Header.Get("Idempotent-Replayed"))
		}
	})
	t.Run("KeyIsPerSource", func(t *testing.T) {
		ts.createProject("other", core.EventSubscription{Source: "example.com/other", Types: []string{"*"}})
		evs, replayed, err := c.CreateEventOnce(t.Context(), &core.Event{Source: "example.com/other", Type: "x"}, "delivery-1")
		if err != nil || replayed || len(evs) != 1 {
			t.Fatalf("same key, other source: %d events, replayed %v, err %v", len(evs), replayed, err)
		}
	})
	t.Run("DeliveryWithoutSubscribersIsRemembered", func(t *testing.T) {
		none := &core.Event{Source: "example.com/nobody", Type: "x"}
		for i := range 2 {
			evs, replayed, err := c.CreateEventOnce(t.Context(), none, "k")
			if err != nil || len(evs) != 0 || replayed != (i == 1) {
				t.Fatalf("call %d: %d events, replayed %v, err %v", i, len(evs), replayed, err)
			}
		}
	})
	t.Run("ConcurrentRepeatsCreateOnce", func(t *testing.T) {
		var wg sync.WaitGroup
		results := make([][]string, 8)
		for i := range results {
			wg.Add(1)
			go func() {
				defer wg.Done()
				evs, _, err := c.CreateEventOnce(t.Context(), ev, "delivery-concurrent")
				if err != nil {
					t.Errorf("concurrent delivery: %v", err)
				}
				results[i] = eventIDs(evs)
			}()
		}
		wg.Wait()
		for _, r := range results[1:] {
			if !equalSets(r, results[0]) {
				t.Fatalf("concurrent deliveries answered different events: %v", results)
			}
		}
		if n := countEvents(t, c, src); n != 4 {
			t.Fatalf("%d events stored, want 4 (2 per delivery)", n)
		}
	})
	t.Run("BadKeysAreRefused", func(t *testing.T) {
		for name, key := range map[string]string{"tooLong": strings.Repeat("k", 256), "control": "a\tb"} {
			_, _, err := c.CreateEventOnce(t.Context(), ev, key)
			var bad *core.BadRequestError
			if !errors.As(err, &bad) {
				t.Fatalf("%s: %v; want a BadRequestError", name, err)
			}
		}
	})
}

func eventIDs(evs []core.Event) []string {
	ids := make([]string, len(evs))
	for i := range evs {
		ids[i] = evs[i].Metadata.ID
	}
	return ids
}

func equalSets(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	seen := map[string]bool{}
	for _, x := range a {
		seen[x] = true
	}
	for _, x := range b {
		if !seen[x] {
			return false
		}
	}
	return true
}

func countEvents(t *testing.T, c *client.Client, src string) int {
	t.Helper()
	l, err := c.ListEvents(t.Context(), &client.EventSelector{Source: src}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return len(l.Items)
}
