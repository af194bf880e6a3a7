package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/brigadeplatform/brigade/internal/metrics"
)

// MetricsOff is the --metrics-addr that turns /metrics off.
const MetricsOff = "none"

// validateMetricsAddr checks --metrics-addr: empty (on the API listener),
// "none", or host:port.
func (c *Config) validateMetricsAddr() error {
	if c.MetricsAddr == "" || c.MetricsAddr == MetricsOff {
		return nil
	}
	if _, _, err := net.SplitHostPort(c.MetricsAddr); err != nil {
		return fmt.Errorf("--metrics-addr %q is not host:port (for example 127.0.0.1:9745), %q, or empty to serve /metrics on --addr: %w",
			c.MetricsAddr, MetricsOff, err)
	}
	return nil
}

// metricsServer serves /metrics on a listener of its own (--metrics-addr).
type metricsServer struct {
	ln   net.Listener
	http *http.Server
}

// listenMetrics binds --metrics-addr when /metrics has a listener of its
// own, and returns nil otherwise.
func listenMetrics(cfg Config, m *metrics.Metrics, log *slog.Logger) (*metricsServer, error) {
	if cfg.MetricsAddr == "" || cfg.MetricsAddr == MetricsOff {
		return nil, nil
	}
	ln, err := net.Listen("tcp", cfg.MetricsAddr)
	if err != nil {
		return nil, fmt.Errorf("listening on --metrics-addr %s: %w (choose another address, or leave it empty to serve /metrics on --addr)", cfg.MetricsAddr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", m.Handler())
	return &metricsServer{ln: ln, http: &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second,
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelDebug)}}, nil
}

// serve serves until ctx ends, then shuts down.
func (ms *metricsServer) serve(ctx context.Context) error {
	done := make(chan struct{})
	go func() {
		defer close(done)
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := ms.http.Shutdown(sctx); err != nil {
			ms.http.Close()
		}
	}()
	err := ms.http.Serve(ms.ln)
	<-done
	if !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serving /metrics on %s: %w", ms.ln.Addr(), err)
	}
	return nil
}

// MetricsAddr is where /metrics is served on a listener of its own
// (--metrics-addr), or "" when it is not.
func (s *Server) MetricsAddr() string {
	if s.metricsSrv == nil {
		return ""
	}
	return s.metricsSrv.ln.Addr().String()
}

// Metrics is the server's registry and collectors.
func (s *Server) Metrics() *metrics.Metrics { return s.metrics }
