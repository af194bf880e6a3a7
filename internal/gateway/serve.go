package gateway

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/brigadeplatform/brigade/internal/httpx"
)

// Mount registers the routes of gateways on mux, each behind the same
// middleware: a panic is answered 500 and logged, never taking the process
// down, and each request is logged at debug level by its route pattern
// rather than its path, so that a secret in a path (the v1 generic
// webhook's) is never logged. Alone, it also answers GET /healthz with 200
// "ok", without looking at anything else.
func Mount(mux *http.ServeMux, gateways []Gateway, alone bool, log *slog.Logger) error {
	if alone {
		mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			_, _ = w.Write([]byte("ok"))
		})
	}
	for _, g := range gateways {
		allowed := map[string][]string{} // path → its methods
		var paths []string
		for _, rt := range g.Routes(alone) {
			if err := register(mux, rt.Pattern, guard(g.Name(), rt.Handler, log)); err != nil {
				return fmt.Errorf("gateway %s: %w", g.Name(), err)
			}
			method, path, ok := strings.Cut(rt.Pattern, " ")
			if !ok {
				continue // every method is served
			}
			if _, seen := allowed[path]; !seen {
				paths = append(paths, path)
			}
			allowed[path] = append(allowed[path], method)
		}
		// Other methods on a gateway's paths get 405 and the methods
		// that are served, not the API's 404.
		for _, path := range paths {
			allow := strings.Join(allowed[path], ", ")
			if err := register(mux, path, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Allow", allow)
				http.Error(w, "method not allowed: use "+allow, http.StatusMethodNotAllowed)
			})); err != nil {
				return fmt.Errorf("gateway %s: %w", g.Name(), err)
			}
		}
	}
	return nil
}

// register is mux.Handle, with a clash of patterns an error instead of a
// panic.
func register(mux *http.ServeMux, pattern string, h http.Handler) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("route %q: %v", pattern, p)
		}
	}()
	mux.Handle(pattern, h)
	return nil
}

func guard(name string, h http.Handler, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := httpx.NewStatusWriter(w)
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				log.Error("panic in gateway", "gateway", name, "route", r.Pattern, "panic", p, "stack", string(debug.Stack()))
				if sw.Status() == 0 {
					http.Error(sw, "internal error", http.StatusInternalServerError)
				}
			}
			log.Debug("gateway request", "gateway", name, "route", r.Pattern, "status", sw.Status(),
				"duration", time.Since(start), "client", r.RemoteAddr)
		}()
		h.ServeHTTP(sw, r)
	})
}

// ServeConfig is how a gateway that runs alone listens.
type ServeConfig struct {
	Addr    string // host:port
	TLSCert string // PEM files; both or neither
	TLSKey  string
}

// Timeouts of a gateway's HTTP server: a sender gets this long to send
// its request, and the gateway this long to answer (GitHub waits 10 s).
const (
	ReadHeaderTimeout = 10 * time.Second
	ReadTimeout       = 60 * time.Second
	WriteTimeout      = 60 * time.Second
	IdleTimeout       = 120 * time.Second
)

// NewHTTPServer is the HTTP server gateways are served with, with the
// timeouts above.
func NewHTTPServer(h http.Handler, log *slog.Logger) *http.Server {
	return &http.Server{Handler: httpx.DrainBody(h), ReadHeaderTimeout: ReadHeaderTimeout, ReadTimeout: ReadTimeout,
		WriteTimeout: WriteTimeout, IdleTimeout: IdleTimeout,
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelDebug)}
}

// Serve runs gateways alone: their routes on cfg.Addr and their background
// work, until ctx ends; then it stops listening and lets requests in
// flight finish (up to 10 s). ready, if not nil, is called with the
// listener's address once it listens.
func Serve(ctx context.Context, cfg ServeConfig, gateways []Gateway, log *slog.Logger, ready func(addr string)) error {
	h := http.NewServeMux()
	if err := Mount(h, gateways, true, log); err != nil {
		return err
	}
	if (cfg.TLSCert == "") != (cfg.TLSKey == "") {
		return errors.New("--tls-cert and --tls-key go together: give both files, or neither")
	}
	srv := NewHTTPServer(h, log)
	if cfg.TLSCert != "" {
		cert, err := tls.LoadX509KeyPair(cfg.TLSCert, cfg.TLSKey)
		if err != nil {
			return fmt.Errorf("loading --tls-cert %s and --tls-key %s: %w", cfg.TLSCert, cfg.TLSKey, err)
		}
		srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listening on %s: %w (choose another --addr)", cfg.Addr, err)
	}
	if ready != nil {
		ready(ln.Addr().String())
	}
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		var err error
		if srv.TLSConfig != nil {
			err = srv.ServeTLS(ln, "", "")
		} else {
			err = srv.Serve(ln)
		}
		if !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("serving on %s: %w", ln.Addr(), err)
		}
		return nil
	})
	g.Go(func() error {
		<-gctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Shutdown(sctx); err != nil {
			srv.Close()
		}
		return nil
	})
	for _, gw := range gateways {
		g.Go(func() error {
			if err := gw.Run(gctx); err != nil && gctx.Err() == nil {
				return fmt.Errorf("gateway %s: %w", gw.Name(), err)
			}
			return nil
		})
	}
	log.Info("gateway listening", "addr", ln.Addr().String())
	return g.Wait()
}
