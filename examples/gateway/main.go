// Command gateway is a small example of a gateway of your own
// (docs/gateways.md, "Writing a gateway"): it receives deployment
// notices as webhooks and turns each into a Brigade event, through the
// API, with nothing but the standard library.
//
//	POST /hook   X-Hook-Token: <HOOK_TOKEN>
//	{"id": "d-1234", "kind": "deployed", "service": "billing", "version": "1.2.3"}
//
// becomes an event of source example.com/deploy-hook, type "deployed",
// qualified by service=billing, whose payload is the notice. A project
// subscribes to it like to any event. The notice's id is the API's
// Idempotency-Key: a notice sent twice creates one event.
//
// Configuration (environment): BRIGADE_API_ADDRESS and BRIGADE_API_TOKEN
// (a service account holding EVENT_CREATOR for example.com/deploy-hook),
// HOOK_TOKEN (what senders must present), ADDR (default :8080).
package main

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"regexp"
	"time"
)

// Source is the event source this gateway creates events for.
const Source = "example.com/deploy-hook"

// maxBody bounds a notice: larger ones get 413, unread.
const maxBody = 64 << 10

// config is what the gateway needs to run.
type config struct {
	apiAddress, apiToken, hookToken string
	http                            *http.Client
}

// notice is what senders post.
type notice struct {
	ID      string `json:"id"`
	Kind    string `json:"kind"`
	Service string `json:"service"`
	Version string `json:"version"`
}

// word is what the API accepts as an event type or a qualifier value
// (docs/api.md): checked here so that a sender learns what to fix.
var word = regexp.MustCompile(`^[A-Za-z0-9_:/\-.?=]{1,255}$`)

func (n *notice) check() error {
	switch {
	case n.ID == "" || len(n.ID) > 200:
		return fmt.Errorf(`"id" must be 1 to 200 characters`)
	case !word.MatchString(n.Kind):
		return fmt.Errorf(`"kind" must be 1 to 255 letters, digits or _:/-.?=`)
	case !word.MatchString(n.Service):
		return fmt.Errorf(`"service" must be 1 to 255 letters, digits or _:/-.?=`)
	}
	return nil
}

// handler serves POST /hook: authenticate, read within the limit, parse,
// create the event, answer with its ids.
func handler(cfg config) http.Handler {
	want := sha256.Sum256([]byte(cfg.hookToken))
	mux := http.NewServeMux()
	mux.HandleFunc("POST /hook", func(w http.ResponseWriter, r *http.Request) {
		got := sha256.Sum256([]byte(r.Header.Get("X-Hook-Token")))
		if cfg.hookToken == "" || subtle.ConstantTimeCompare(got[:], want[:]) != 1 {
			w.WriteHeader(http.StatusForbidden) // say nothing more to a stranger
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
		if err != nil {
			http.Error(w, fmt.Sprintf("the notice must be at most %d bytes", maxBody), http.StatusRequestEntityTooLarge)
			return
		}
		var n notice
		if err := json.Unmarshal(body, &n); err != nil {
			http.Error(w, "the notice is not JSON: "+err.Error(), http.StatusBadRequest)
			return
		}
		if err := n.check(); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		ids, status, err := createEvent(r, cfg, &n, body)
		if err != nil {
			log.Printf("creating the event of notice %q: %v", n.ID, err)
			http.Error(w, "the event could not be created", http.StatusBadGateway)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(map[string]any{"eventIDs": ids})
	})
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") })
	return mux
}

// createEvent sends the event to the API (POST /v2/events) and returns
// the ids of the events created: one per subscribed project. The notice's
// id is the Idempotency-Key, so a repeated notice answers with the first
// one's events (API status 200 instead of 201), and creates none.
func createEvent(r *http.Request, cfg config, n *notice, payload []byte) ([]string, int, error) {
	ev, err := json.Marshal(map[string]any{
		"apiVersion": "brigade.sh/v2", "kind": "Event",
		"source": Source, "type": n.Kind,
		"qualifiers": map[string]string{"service": n.Service},
		"shortTitle": truncate(n.Service+" "+n.Version, 50),
		"payload":    string(payload),
	})
	if err != nil {
		return nil, 0, err
	}
	req, err := http.NewRequestWithContext(r.Context(), http.MethodPost, cfg.apiAddress+"/v2/events", bytes.NewReader(ev))
	if err != nil {
		return nil, 0, err
	}
	req.Header.Set("Authorization", "Bearer "+cfg.apiToken)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", n.ID)
	resp, err := cfg.http.Do(req)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	reply, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusOK {
		return nil, 0, fmt.Errorf("the API answered %s: %s", resp.Status, reply)
	}
	var list struct {
		Items []struct {
			Metadata struct{ ID string } `json:"metadata"`
		} `json:"items"`
	}
	if err := json.Unmarshal(reply, &list); err != nil {
		return nil, 0, fmt.Errorf("reading the API's answer: %w", err)
	}
	ids := []string{}
	for _, it := range list.Items {
		ids = append(ids, it.Metadata.ID)
	}
	return ids, http.StatusOK, nil
}

func truncate(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n])
	}
	return s
}

func main() {
	cfg := config{
		apiAddress: os.Getenv("BRIGADE_API_ADDRESS"), apiToken: os.Getenv("BRIGADE_API_TOKEN"),
		hookToken: os.Getenv("HOOK_TOKEN"), http: &http.Client{Timeout: 30 * time.Second},
	}
	if cfg.apiAddress == "" || cfg.apiToken == "" || cfg.hookToken == "" {
		log.Fatal("set BRIGADE_API_ADDRESS, BRIGADE_API_TOKEN (a service account's) and HOOK_TOKEN")
	}
	addr := os.Getenv("ADDR")
	if addr == "" {
		addr = ":8080"
	}
	srv := &http.Server{Addr: addr, Handler: handler(cfg), ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout: time.Minute, WriteTimeout: time.Minute}
	log.Printf("deploy-hook gateway listening on %s", addr)
	log.Fatal(srv.ListenAndServe())
}
