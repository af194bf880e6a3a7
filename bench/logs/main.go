// Command logs measures how fast workload output reaches the log store on one
// machine (SQLite + the local substrate), each figure next to a baseline
// measured in the same run, and checks that every line was stored in order:
//
//   - job: one job that writes -lines lines of -width bytes (`cat` of a file
//     made up front), from the job's start to its end (the local substrate
//     reports a job ended only once its whole log is stored), against `cat`
//     of the same file to /dev/null;
//
//   - console: a worker script doing -console console.log calls, from the
//     worker's start to its end, against the same loop calling an empty
//     function instead (the JavaScript alone) and `cat` of the same bytes.
//
// Afterwards both logs are read back through the API (GET
// /v2/events/{id}/logs) and every line is checked to be there, once, in
// order.
//
// Each project has -secrets secrets (random values that the output does
// not hold), so the figures include the search for them that every stored
// line goes through (docs/security.md, "Redaction").
//
//	go run ./bench/logs
package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/brigadeplatform/brigade/bench/internal/cpuprof"
	"github.com/brigadeplatform/brigade/internal/client"
	"github.com/brigadeplatform/brigade/internal/core"
	"github.com/brigadeplatform/brigade/internal/server"
	"github.com/brigadeplatform/brigade/internal/testenv"
)

func main() {
	testenv.Hooks() // this binary also serves as the worker
	lines := flag.Int("lines", 2_000_000, "lines the job writes (0 skips the job figure)")
	width := flag.Int("width", 100, "bytes per job line, newline included")
	console := flag.Int("console", 2_000_000, "console.log calls of the worker script (0 skips the console figure)")
	secrets := flag.Int("secrets", 8, "secrets of each project, whose values every line is searched for")
	cpuProfile := flag.String("cpuprofile", "", "write CPU profiles of this process (the server) while each figure runs to `prefix`.job and prefix.console")
	flag.Parse()
	if *width < 16 {
		fmt.Fprintln(os.Stderr, "logs: -width must be at least 16")
		os.Exit(2)
	}
	if err := run(*lines, *width, *console, *secrets, *cpuProfile); err != nil {
		fmt.Fprintln(os.Stderr, "logs:", err)
		os.Exit(1)
	}
}

type bench struct {
	c       *client.Client
	ctx     context.Context
	dir     string
	profile string // prefix of CPU profile files; empty for none
	secrets int    // secrets per project
}

// timed runs fn under a CPU profile written to b.profile+"."+name.
func (b *bench) timed(name string, fn func() error) error {
	if b.profile == "" {
		return fn()
	}
	return cpuprof.During(b.profile+"."+name, fn)
}

func run(lines, width, console, secrets int, cpuProfile string) error {
	dir, err := os.MkdirTemp("", "brigade-bench-logs-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv, stop, err := testenv.Start(server.Config{DataDir: filepath.Join(dir, "data"),
		RootPassword: "bench-password", CleanupDelay: time.Second})
	if err != nil {
		return err
	}
	defer stop()
	c, err := testenv.RootClient(ctx, srv, "bench-password")
	if err != nil {
		return err
	}
	b := &bench{c: c, ctx: ctx, dir: dir, profile: cpuProfile, secrets: secrets}
	// The figures first, then the (slow, untimed) reads that verify them.
	var verify []func() error
	if lines > 0 {
		v, err := b.job(lines, width)
		if err != nil {
			return fmt.Errorf("job: %w", err)
		}
		verify = append(verify, v)
	}
	if console > 0 {
		v, err := b.console(console)
		if err != nil {
			return fmt.Errorf("console: %w", err)
		}
		verify = append(verify, v)
	}
	for _, v := range verify {
		if err := v(); err != nil {
			return err
		}
	}
	return nil
}

func (b *bench) project(id, script string) error {
	_, err := b.c.CreateProject(b.ctx, &core.Project{Metadata: core.ObjectMeta{ID: id},
		Spec: core.ProjectSpec{
			EventSubscriptions: []core.EventSubscription{{Source: "bench.example.com", Types: []string{"*"}}},
			WorkerTemplate:     core.WorkerSpec{DefaultConfigFiles: map[string]string{"brigade.js": script}},
		}})
	for i := 0; err == nil && i < b.secrets; i++ {
		v := make([]byte, 16)
		rand.Read(v)
		err = b.c.SetSecret(b.ctx, id, core.Secret{Key: fmt.Sprintf("secret%d", i), Value: hex.EncodeToString(v)})
	}
	return err
}

// runEvent sends an event to a project and waits for its worker to end.
func (b *bench) runEvent(project string) (*core.Event, error) {
	evs, err := b.c.CreateEvent(b.ctx, &core.Event{ProjectID: project, Source: "bench.example.com", Type: "run"})
	if err != nil {
		return nil, err
	}
	id := evs[0].Metadata.ID
	st, errs := b.c.WatchWorkerStatus(b.ctx, id)
	for range st {
	}
	if err := <-errs; err != nil {
		return nil, err
	}
	ev, err := b.c.GetEvent(b.ctx, id)
	if err != nil {
		return nil, err
	}
	if ev.Worker.Status.Phase != core.PhaseSucceeded {
		return nil, fmt.Errorf("event %s ended %s", id, ev.Worker.Status.Phase)
	}
	return ev, nil
}

// writeData writes n numbered lines of width bytes (newline included).
func writeData(path string, n, width int) (int64, error) {
	f, err := os.Create(path)
	if err != nil {
		return 0, err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	pad := strings.Repeat("x", width)
	var size int64
	for i := range n {
		l := fmt.Sprintf("line %09d ", i)
		l += pad[:width-1-len(l)] + "\n"
		w.WriteString(l)
		size += int64(len(l))
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return 0, err
	}
	return size, f.Close()
}

// catTime is the baseline: cat of path to /dev/null, best of three.
func catTime(path string) (time.Duration, error) {
	best := time.Duration(0)
	for range 3 {
		t0 := time.Now()
		cmd := exec.Command("cat", path)
		devnull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
		if err != nil {
			return 0, err
		}
		cmd.Stdout = devnull
		err = cmd.Run()
		devnull.Close()
		if err != nil {
			return 0, err
		}
		if d := time.Since(t0); best == 0 || d < best {
			best = d
		}
	}
	return best, nil
}

// job runs the job figure and returns the check of its log.
func (b *bench) job(n, width int) (func() error, error) {
	data := filepath.Join(b.dir, "job-lines.txt")
	size, err := writeData(data, n, width)
	if err != nil {
		return nil, err
	}
	base, err := catTime(data)
	if err != nil {
		return nil, err
	}
	script := fmt.Sprintf(`const { events, Job } = require("@brigadecore/brigadier");
events.on("bench.example.com", "run", async event => {
  const j = new Job("writer", "debian:12-slim", event);
  j.primaryContainer.command = ["cat"];
  j.primaryContainer.arguments = [%q];
  await j.run();
});
events.process();`, data)
	if err := b.project("job", script); err != nil {
		return nil, err
	}
	t0 := time.Now()
	var ev *core.Event
	if err := b.timed("job", func() (err error) { ev, err = b.runEvent("job"); return err }); err != nil {
		return nil, err
	}
	wall := time.Since(t0)
	j := ev.Worker.Jobs[0]
	d := j.Status.Ended.Sub(*j.Status.Started)
	mb := float64(size) / 1e6
	fmt.Printf("job: one job writing %d lines of %d bytes (%.1f MB)\n", n, width, mb)
	fmt.Printf("  stored     %8.3f s  %8.1f MB/s  %10.0f lines/s  (job start → end; event %.3f s)\n",
		d.Seconds(), mb/d.Seconds(), float64(n)/d.Seconds(), wall.Seconds())
	fmt.Printf("  baseline   %8.3f s  %8.1f MB/s  (cat of the same file to /dev/null)\n", base.Seconds(), mb/base.Seconds())
	return func() error {
		t1 := time.Now()
		got, err := b.check(ev.Metadata.ID, "writer", n, func(i int, msg string) bool {
			return strings.HasPrefix(msg, fmt.Sprintf("line %09d ", i)) && len(msg) == width-1
		})
		if err != nil {
			return fmt.Errorf("job: %w", err)
		}
		fmt.Printf("job: verified %d lines, in order, read back through the API in %.1f s\n", got, time.Since(t1).Seconds())
		return nil
	}, nil
}

// console runs the console figure and returns the check of its log.
func (b *bench) console(n int) (func() error, error) {
	loop := func(call string) string {
		return fmt.Sprintf(`const { events } = require("@brigadecore/brigadier");
events.on("bench.example.com", "run", async event => {
  const nop = function () {};
  for (let i = 0; i < %d; i++) %s("line " + i);
});
events.process();`, n, call)
	}
	if err := b.project("console", loop("console.log")); err != nil {
		return nil, err
	}
	if err := b.project("noop", loop("nop")); err != nil {
		return nil, err
	}
	var ev *core.Event
	if err := b.timed("console", func() (err error) { ev, err = b.runEvent("console"); return err }); err != nil {
		return nil, err
	}
	d := ev.Worker.Status.Ended.Sub(*ev.Worker.Status.Started)
	nev, err := b.runEvent("noop")
	if err != nil {
		return nil, err
	}
	nd := nev.Worker.Status.Ended.Sub(*nev.Worker.Status.Started)
	// The same bytes through cat.
	data := filepath.Join(b.dir, "console-lines.txt")
	f, err := os.Create(data)
	if err != nil {
		return nil, err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	var size int64
	for i := range n {
		k, _ := fmt.Fprintf(w, "line %d\n", i)
		size += int64(k)
	}
	if err := w.Flush(); err != nil {
		return nil, err
	}
	f.Close()
	base, err := catTime(data)
	if err != nil {
		return nil, err
	}
	fmt.Printf("console: a worker script calling console.log %d times (%.1f MB)\n", n, float64(size)/1e6)
	fmt.Printf("  stored     %8.3f s  %10.0f lines/s  (worker start → end)\n", d.Seconds(), float64(n)/d.Seconds())
	fmt.Printf("  baseline   %8.3f s  %10.0f calls/s  (the same loop calling an empty function)\n", nd.Seconds(), float64(n)/nd.Seconds())
	fmt.Printf("  baseline   %8.3f s  %10.0f lines/s  (cat of the same bytes to /dev/null)\n", base.Seconds(), float64(n)/base.Seconds())
	return func() error {
		t1 := time.Now()
		got, err := b.check(ev.Metadata.ID, "", n, func(i int, msg string) bool { return msg == "line "+strconv.Itoa(i) })
		if err != nil {
			return fmt.Errorf("console: %w", err)
		}
		fmt.Printf("console: verified %d lines, in order, read back through the API in %.1f s\n", got, time.Since(t1).Seconds())
		return nil
	}, nil
}

// check reads a log through the API and verifies that it holds want lines
// for which ok(i, line) holds, in order. The substrate's notes ("[brigade]
// …") and, in a worker's log, the worker's own lines (they start with a
// time stamp) are skipped.
func (b *bench) check(eventID, job string, want int, ok func(i int, msg string) bool) (int, error) {
	lines, errs := b.c.Logs(b.ctx, eventID, client.LogOptions{Job: job})
	i := 0
	var bad error
	for l := range lines {
		if bad != nil {
			continue
		}
		if strings.HasPrefix(l.Message, "[brigade] ") || job == "" && !strings.HasPrefix(l.Message, "line ") {
			continue
		}
		if i >= want || !ok(i, l.Message) {
			bad = fmt.Errorf("line %d of the stored log is %.60q: lines lost, repeated or out of order", i+1, l.Message)
			continue
		}
		i++
	}
	if err := <-errs; err != nil {
		return i, err
	}
	if bad != nil {
		return i, bad
	}
	if i != want {
		return i, fmt.Errorf("the stored log has %d of the %d lines", i, want)
	}
	return i, nil
}
