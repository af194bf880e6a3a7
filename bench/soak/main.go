// Command soak holds a target event rate against a real brigade server for
// a set time, sampling it every second, and then checks that it kept up
// without leaking (docs/reliability.md, "Soak"):
//
//   - every event is a one-job script (the job echoes a line), sent at
//     -rate events/s for -duration by -clients concurrent clients, each
//     accepted event watched until its worker ends;
//   - every second: the achieved rate, accept → running and accept →
//     terminal latency (server times, of the events that ended that
//     second), and from the server's /metrics its resident memory,
//     goroutines, open files and queue depth;
//   - at the end: every accepted event reached a terminal phase
//     (SUCCEEDED), no request got an error answer, and resident memory,
//     goroutines and open files of the last third of the load are within
//     -growth times those of its first third (after a warm-up), plus a
//     small allowance.
//
// It starts `brigade server` (built from ./cmd/brigade unless -brigade
// names one) on a fresh data dir, or targets -url with -password. It prints
// a figures table and writes soak.csv, soak.png and figures.txt into -out.
//
//	go run ./bench/soak -rate 20 -duration 60s
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"syscall"
	"time"

	"github.com/brigadeplatform/brigade/bench/internal/machine"
	"github.com/brigadeplatform/brigade/internal/client"
	"github.com/brigadeplatform/brigade/internal/core"
)

type options struct {
	rate       float64
	duration   time.Duration
	clients    int
	url        string
	metricsURL string
	password   string
	brigade    string
	maxWorkers int
	out        string
	drain      time.Duration
	growth     float64
}

func main() {
	var o options
	flag.Float64Var(&o.rate, "rate", 20, "events per second to hold")
	flag.DurationVar(&o.duration, "duration", 60*time.Second, "how long to hold the rate")
	flag.IntVar(&o.clients, "clients", 8, "concurrent clients sending events")
	flag.StringVar(&o.url, "url", "", "soak this running server instead of starting one (with -password)")
	flag.StringVar(&o.metricsURL, "metrics-url", "", "the -url server's /metrics, when its --metrics-addr serves it elsewhere (default: <url>/metrics)")
	flag.StringVar(&o.password, "password", "", "root password of the -url server")
	flag.StringVar(&o.brigade, "brigade", "", "brigade binary to start (default: built from ./cmd/brigade)")
	flag.IntVar(&o.maxWorkers, "max-workers", 8, "--max-workers of the started server")
	flag.StringVar(&o.out, "out", defaultOut(), "folder for soak.csv, soak.png and figures.txt (default $BRIGADE_CI_ARTIFACTS, else /tmp/brigade-artifacts)")
	flag.DurationVar(&o.drain, "drain", 2*time.Minute, "how long events may take to end after the load stops")
	flag.Float64Var(&o.growth, "growth", 2, "largest allowed ratio of the last third's memory, goroutines and open files to the first third's")
	flag.Parse()
	if err := o.validate(); err != nil {
		fmt.Fprintln(os.Stderr, "soak:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "soak: FAILED:", err)
		os.Exit(1)
	}
}

func defaultOut() string {
	if d := os.Getenv("BRIGADE_CI_ARTIFACTS"); d != "" {
		return d
	}
	return "/tmp/brigade-artifacts"
}

func (o *options) validate() error {
	switch {
	case o.rate <= 0 || o.rate > 10000:
		return fmt.Errorf("-rate %v: give events per second, above 0 and at most 10000", o.rate)
	case o.duration < 3*time.Second:
		return fmt.Errorf("-duration %s is too short to compare thirds: give at least 3s", o.duration)
	case o.clients < 1:
		return fmt.Errorf("-clients %d: give at least 1", o.clients)
	case o.url != "" && o.password == "":
		return errors.New("-url needs -password (the server's root password)")
	case o.metricsURL != "" && o.url == "":
		return errors.New("-metrics-url goes with -url: a server the soak starts serves /metrics on its own address")
	case o.growth < 1:
		return fmt.Errorf("-growth %v must be at least 1", o.growth)
	case o.maxWorkers < 1:
		return fmt.Errorf("-max-workers %d: give at least 1", o.maxWorkers)
	}
	return nil
}

const soakScript = `const { events, Job } = require("@brigadecore/brigadier");
events.on("soak.example.com", "soak", async event => {
  const j = new Job("echo", "debian:12-slim", event);
  j.primaryContainer.command = ["echo"];
  j.primaryContainer.arguments = ["soak job " + event.id];
  await j.run();
});
events.process();`

func run(ctx context.Context, o options) error {
	if err := os.MkdirAll(o.out, 0o755); err != nil {
		return fmt.Errorf("creating the artifacts folder %s: %w (choose another with -out)", o.out, err)
	}
	base, password, srv, cleanup, err := target(o)
	if err != nil {
		return err
	}
	defer cleanup()
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 512 // every in-flight event holds a watch
	hc := &http.Client{Transport: tr}
	c := client.New(base, "", client.WithHTTPClient(hc))
	tok, err := c.CreateRootSession(ctx, password)
	if err != nil {
		return fmt.Errorf("logging in as root at %s: %w", base, err)
	}
	c = c.WithToken(tok.Value)
	project := fmt.Sprintf("soak-%d", time.Now().Unix())
	if _, err := c.CreateProject(ctx, &core.Project{Metadata: core.ObjectMeta{ID: project}, Spec: core.ProjectSpec{
		EventSubscriptions: []core.EventSubscription{{Source: "soak.example.com", Types: []string{"*"}}},
		WorkerTemplate:     core.WorkerSpec{DefaultConfigFiles: map[string]string{"brigade.js": soakScript}},
	}}); err != nil {
		return fmt.Errorf("creating project %s: %w", project, err)
	}
	fmt.Printf("soak: %.0f events/s for %s, one job each, %d clients, against %s; %d CPUs, load average %s\n",
		o.rate, o.duration, o.clients, describeTarget(o, srv), runtime.NumCPU(), machine.LoadAvg())

	wctx, cancelWatches := context.WithCancel(ctx)
	defer cancelWatches()
	t := newTally()
	l := &load{c: c, project: project, source: "soak.example.com", rate: o.rate, duration: o.duration, clients: o.clients, tally: t}
	metricsURL := o.metricsURL
	if metricsURL == "" {
		metricsURL = base + "/metrics"
	}
	smp := &sampler{metricsURL: metricsURL, http: hc, tally: t}
	start := time.Now()
	loadDone := make(chan struct{})
	go func() { l.run(wctx, start); close(loadDone) }()

	// One sample a second while the load runs, then while it drains.
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	loadOver, drainBy := false, time.Time{}
	for {
		select {
		case <-ctx.Done():
			return fmt.Errorf("interrupted: %w", ctx.Err())
		case <-loadDone:
			loadOver, drainBy = true, time.Now().Add(o.drain)
			loadDone = nil
			continue
		case <-tick.C:
		}
		el := time.Since(start).Seconds()
		target := o.rate
		if loadOver || el > o.duration.Seconds()+0.5 {
			target = 0
		}
		sm := smp.take(ctx, el, target)
		if srv != nil && !srv.alive() {
			return errors.New("the server exited during the soak")
		}
		if loadOver && sm.inflight == 0 {
			break
		}
		if loadOver && time.Now().After(drainBy) {
			break
		}
	}
	cancelWatches()
	l.watchers.Wait()
	drained := time.Since(start) - o.duration

	r := report{o: o, samples: smp.samples, tally: t, drained: drained}
	if srv != nil {
		r.warnings, r.firstWarnings = srv.logged()
	}
	return r.finish(filepath.Clean(o.out))
}

// target starts the server, or uses -url.
func target(o options) (base, password string, srv *childServer, cleanup func(), err error) {
	if o.url != "" {
		return o.url, o.password, nil, func() {}, nil
	}
	dir, err := os.MkdirTemp("", "brigade-soak-")
	if err != nil {
		return "", "", nil, nil, err
	}
	bin := o.brigade
	if bin == "" {
		if bin, err = buildBrigade(dir); err != nil {
			os.RemoveAll(dir)
			return "", "", nil, nil, err
		}
	}
	const pw = "soak-password"
	srv, err = startServer(bin, filepath.Join(dir, "data"), pw, o.maxWorkers)
	if err != nil {
		os.RemoveAll(dir)
		return "", "", nil, nil, err
	}
	return srv.url, pw, srv, func() { srv.stop(); os.RemoveAll(dir) }, nil
}

func describeTarget(o options, srv *childServer) string {
	if srv == nil {
		return o.url
	}
	return fmt.Sprintf("`brigade server --max-workers %d --cleanup-delay 1s` (a child process, fresh data dir)", o.maxWorkers)
}

// mean is the mean of the values that are not NaN (NaN when none).
func mean(vs []float64) float64 {
	sum, n := 0.0, 0
	for _, v := range vs {
		if !math.IsNaN(v) {
			sum += v
			n++
		}
	}
	if n == 0 {
		return math.NaN()
	}
	return sum / float64(n)
}
