// Command execution measures how fast events run on one machine (SQLite +
// the local substrate), each figure next to a baseline measured in the same
// run (the machine may be shared and noisy: read the ratios and differences,
// not the absolute figures):
//
//   - start: a bare start + exit of the brigade binary (`brigade version`;
//     workers are that binary) against an empty Go program built by the same
//     toolchain, -starts runs of each, alternating;
//
//   - latency: event accepted (201) → the worker's script running (its first
//     log line), p50/p99 over -events events sent one at a time;
//
//   - jobs: a script running -jobs sequential no-op jobs, against the same
//     number of bare spawns of the same command;
//
//   - fanout: -fanout concurrent jobs that each sleep 1 s ten times, from the
//     event's creation to the last job's end, against the ideal 10 s;
//
//   - throughput: -throughput events created at once, each running one job
//     (`true`), on a `brigade server --max-workers 8` child process, from the
//     first event's creation to the last worker's end, against as many bare
//     spawns of `true` run 8 at a time;
//
//   - idle RSS: that server's resident memory once it is idle after the
//     throughput run, against its own right after it started;
//
//   - after idle: -wakes times, one event into that server after it has been
//     idle for 3 s (so it has trimmed its caches and released its code
//     pages), from its creation to its worker's end, against one more event
//     sent at once.
//
// latency, jobs and fanout run a server inside this process (this binary then
// also serves as the worker); start, throughput and idle RSS run the real
// brigade binary, built from ./cmd/brigade into a temporary folder unless
// -brigade names one. Every section is skipped by setting its count to 0.
//
//	go run ./bench/execution
//	go run ./bench/execution -starts 0 -events 0 -jobs 0 -fanout 0   # throughput and RSS only
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"runtime"
	"sort"
	"strings"
	"time"

	"github.com/brigadeplatform/brigade/bench/internal/cpuprof"
	"github.com/brigadeplatform/brigade/bench/internal/machine"
	"github.com/brigadeplatform/brigade/bench/internal/pgschema"
	"github.com/brigadeplatform/brigade/internal/client"
	"github.com/brigadeplatform/brigade/internal/core"
	"github.com/brigadeplatform/brigade/internal/server"
	"github.com/brigadeplatform/brigade/internal/store/postgres"
	"github.com/brigadeplatform/brigade/internal/testenv"
)

type options struct {
	brigade                         string
	database                        string // postgres://... or "" for SQLite
	starts, events, jobs, fanout    int
	throughput, clients, maxWorkers int
	wakes                           int
	settle                          time.Duration
	cpuProfile                      string // written during the jobs section
}

func main() {
	testenv.Hooks() // this binary also serves as the in-process server's worker
	var o options
	flag.StringVar(&o.brigade, "brigade", "", "brigade binary for start, throughput and RSS (default: built from ./cmd/brigade)")
	flag.IntVar(&o.starts, "starts", 100, "bare starts of the brigade binary and of an empty Go program, each (0 skips them)")
	flag.IntVar(&o.events, "events", 200, "events for the latency figure (0 skips it)")
	flag.IntVar(&o.jobs, "jobs", 200, "sequential no-op jobs for the per-job overhead (0 skips it)")
	flag.IntVar(&o.fanout, "fanout", 20, "concurrent jobs for the fan-out figure (0 skips it)")
	flag.IntVar(&o.throughput, "throughput", 1000, "events for the throughput and idle RSS figures (0 skips them)")
	flag.IntVar(&o.clients, "clients", 16, "concurrent clients creating the throughput events")
	flag.IntVar(&o.maxWorkers, "max-workers", 8, "--max-workers of the throughput server (and concurrency of its baseline)")
	flag.StringVar(&o.database, "database", "", "postgres://... to run the servers on PostgreSQL (a fresh schema each, dropped after) instead of SQLite")
	flag.IntVar(&o.wakes, "wakes", 5, "events, each into the throughput server after it has been idle, for the after-idle figure (0 skips it)")
	flag.DurationVar(&o.settle, "settle", 5*time.Second, "how long the idle server is left before its RSS is read again")
	flag.StringVar(&o.cpuProfile, "cpuprofile", "", "file to write a CPU profile of the in-process server to, taken during the jobs section (go tool pprof -top <file>)")
	flag.Parse()
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "execution:", err)
		os.Exit(1)
	}
}

func run(o options) error {
	dir, err := os.MkdirTemp("", "brigade-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	fmt.Printf("%d CPUs, %s; load average at start: %s\n", runtime.NumCPU(), runtime.Version(), machine.LoadAvg())
	fmt.Println(machine.DescribeFileOps(dir))
	defer func() {
		fmt.Printf("load average at end: %s\n", machine.LoadAvg())
		fmt.Println(machine.DescribeFileOps(dir))
	}()

	var failed []string
	section := func(name string, f func() error) {
		if err := f(); err != nil {
			fmt.Printf("%s: ERROR: %v\n", name, err)
			failed = append(failed, name)
		}
	}
	var bins *binaries
	built := func() (*binaries, error) {
		if bins != nil {
			return bins, nil
		}
		b, err := build(dir, o.brigade)
		if err == nil {
			bins = b
		}
		return b, err
	}
	if o.starts > 0 {
		section("start", func() error {
			b, err := built()
			if err != nil {
				return err
			}
			return workerStart(b, o.starts)
		})
	}
	if o.events > 0 || o.jobs > 0 || o.fanout > 0 {
		section("in-process server", func() error { return inProcess(dir, o, section) })
	}
	if o.throughput > 0 {
		section("throughput", func() error {
			b, err := built()
			if err != nil {
				return err
			}
			return throughput(b.brigade, dir, o)
		})
	}
	if len(failed) > 0 {
		return fmt.Errorf("failed: %s", strings.Join(failed, ", "))
	}
	return nil
}

// benchDatabase is a server's --database: "" (SQLite in its data dir) or a
// fresh schema of the PostgreSQL database at url, which drop removes.
func benchDatabase(ctx context.Context, url, prefix string) (string, func(), error) {
	if url == "" {
		return "", func() {}, nil
	}
	if !postgres.IsURL(url) {
		return "", nil, fmt.Errorf("-database %q: give a postgres:// URL (without it, the servers use SQLite)", url)
	}
	return pgschema.Fresh(ctx, url, prefix)
}

type bench struct {
	c   *client.Client
	ctx context.Context
}

// inProcess runs the latency, jobs and fanout sections against a server in
// this process.
func inProcess(dir string, o options, section func(string, func() error)) error {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	db, drop, err := benchDatabase(ctx, o.database, "bench_inprocess")
	if err != nil {
		return err
	}
	defer drop()
	srv, stop, err := testenv.Start(server.Config{DataDir: dir + "/in-process", RootPassword: "bench-password",
		MaxJobs: 64, CleanupDelay: time.Second, Database: db})
	if err != nil {
		return err
	}
	defer stop()
	c, err := testenv.RootClient(ctx, srv, "bench-password")
	if err != nil {
		return err
	}
	b := &bench{c: c, ctx: ctx}
	if o.events > 0 {
		section("latency", func() error { return b.latency(o.events) })
	}
	if o.jobs > 0 {
		section("jobs", func() error { return cpuprof.During(o.cpuProfile, func() error { return b.jobOverhead(o.jobs) }) })
	}
	if o.fanout > 0 {
		section("fanout", func() error { return b.fanout(o.fanout) })
	}
	return nil
}

func (b *bench) project(id, script string) error {
	return createProject(b.ctx, b.c, id, script)
}

func createProject(ctx context.Context, c *client.Client, id, script string) error {
	_, err := c.CreateProject(ctx, &core.Project{Metadata: core.ObjectMeta{ID: id},
		Spec: core.ProjectSpec{
			EventSubscriptions: []core.EventSubscription{{Source: "bench.example.com", Types: []string{"*"}}},
			WorkerTemplate:     core.WorkerSpec{DefaultConfigFiles: map[string]string{"brigade.js": script}},
		}})
	return err
}

// runEvent sends an event to a project and waits for its worker to end.
func (b *bench) runEvent(project string) (*core.Event, time.Time, error) {
	sent := time.Now()
	evs, err := b.c.CreateEvent(b.ctx, &core.Event{ProjectID: project, Source: "bench.example.com", Type: "run"})
	if err != nil {
		return nil, sent, err
	}
	accepted := time.Now()
	id := evs[0].Metadata.ID
	st, errs := b.c.WatchWorkerStatus(b.ctx, id)
	for range st {
	}
	if err := <-errs; err != nil {
		return nil, accepted, err
	}
	ev, err := b.c.GetEvent(b.ctx, id)
	if err != nil {
		return nil, accepted, err
	}
	if ev.Worker.Status.Phase != core.PhaseSucceeded {
		return nil, accepted, fmt.Errorf("event %s ended %s", id, ev.Worker.Status.Phase)
	}
	return ev, accepted, nil
}

func sortDur(d []time.Duration) { sort.Slice(d, func(i, j int) bool { return d[i] < d[j] }) }

func pct(d []time.Duration, p float64) time.Duration { return d[int(float64(len(d)-1)*p)] }

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
