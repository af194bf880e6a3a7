package gateway_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/brigadeplatform/brigade/internal/gateway"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

type fake struct {
	routes []gateway.Route
	ran    chan struct{}
}

func (f *fake) Name() string   { return "fake" }
func (f *fake) Source() string { return "example.com/fake" }
func (f *fake) Routes(alone bool) []gateway.Route {
	return f.routes
}
func (f *fake) Run(ctx context.Context) error {
	if f.ran != nil {
		close(f.ran)
	}
	<-ctx.Done()
	return nil
}

func TestReadBody(t *testing.T) {
	for _, c := range []struct {
		name    string
		body    string
		tooMuch bool
	}{{"Empty", "", false}, {"ExactlyTheLimit", "12345678", false}, {"OneByteOver", "123456789", true}} {
		t.Run(c.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "/", strings.NewReader(c.body))
			b, err := gateway.ReadBody(r, 8)
			if c.tooMuch {
				if !errors.Is(err, gateway.ErrBodyTooLarge) {
					t.Fatalf("ReadBody = %q, %v; want ErrBodyTooLarge", b, err)
				}
				return
			}
			if err != nil || string(b) != c.body {
				t.Fatalf("ReadBody = %q, %v; want %q", b, err, c.body)
			}
		})
	}
	t.Run("DeclaredLengthOverTheLimitIsNotRead", func(t *testing.T) {
		r := httptest.NewRequest("POST", "/", strings.NewReader("x"))
		r.ContentLength = 1 << 30
		if _, err := gateway.ReadBody(r, 8); !errors.Is(err, gateway.ErrBodyTooLarge) {
			t.Fatalf("err %v; want ErrBodyTooLarge", err)
		}
	})
}

func TestMount(t *testing.T) {
	g := &fake{routes: []gateway.Route{
		{Pattern: "POST /boom/{secret}", Handler: http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("boom") })},
		{Pattern: "POST /ok", Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			gateway.WriteJSON(w, http.StatusAccepted, map[string]string{"status": "ok"})
		})},
	}}
	mux := http.NewServeMux()
	if err := gateway.Mount(mux, []gateway.Gateway{g}, true, quiet); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		method, path, body string
		status             int
	}{
		{"GET", "/healthz", "ok", 200},
		{"POST", "/ok", "{\"status\":\"ok\"}\n", 202},
		{"POST", "/boom/s3cr3t", "internal error\n", 500},
		{"GET", "/ok", "method not allowed: use POST\n", 405},
	} {
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest(c.method, c.path, nil))
		if rec.Code != c.status || rec.Body.String() != c.body {
			t.Fatalf("%s %s: %d %q; want %d %q", c.method, c.path, rec.Code, rec.Body, c.status, c.body)
		}
	}
	t.Run("ClashingRoutesAreAnError", func(t *testing.T) {
		err := gateway.Mount(http.NewServeMux(), []gateway.Gateway{g, g}, false, quiet)
		if err == nil || !strings.Contains(err.Error(), "conflicts") {
			t.Fatalf("err %v; want a clash naming the route", err)
		}
	})
}

func TestServe(t *testing.T) {
	g := &fake{ran: make(chan struct{})}
	ctx, cancel := context.WithCancel(t.Context())
	addr := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- gateway.Serve(ctx, gateway.ServeConfig{Addr: "127.0.0.1:0"}, []gateway.Gateway{g}, quiet,
			func(a string) { addr <- a })
	}()
	a := <-addr
	resp, err := http.Get("http://" + a + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(b) != "ok" {
		t.Fatalf("healthz: %d %q", resp.StatusCode, b)
	}
	select {
	case <-g.ran:
	case <-time.After(30 * time.Second):
		t.Fatal("the gateway's background work never started")
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Serve: %v", err)
	}
	t.Run("HalfTLSIsRefused", func(t *testing.T) {
		err := gateway.Serve(t.Context(), gateway.ServeConfig{Addr: "127.0.0.1:0", TLSCert: "c.pem"}, nil, quiet, nil)
		if err == nil || !strings.Contains(err.Error(), "--tls-key") {
			t.Fatalf("err %v", err)
		}
	})
}
