// Package crash is the crash suite: it runs the real brigade server under a
// mixed load from concurrent clients, SIGKILLs it at random moments and
// restarts it on the same data dir, then asserts what docs/reliability.md
// promises. It runs only with BRIGADE_TEST_CRASH=1 (as in CI); the other
// BRIGADE_CRASH_* variables size it (see config).
package crash

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	mrand "math/rand"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/brigadeplatform/brigade/internal/core"
)

// cleanupDelay is the server's --cleanup-delay: short, so that the run can
// wait for every event folder to go.
const cleanupDelay = 2 * time.Second

func TestCrash(t *testing.T) {
	if os.Getenv(envRun) != "1" {
		t.Skipf("the crash suite runs with %s=1 (a few minutes; CI sets it)", envRun)
	}
	cfg := loadConfig(t)
	t.Logf("seed %d; replay with: %s", cfg.seed, cfg.replay())

	bin := buildServer(t)
	dataDir, marks := t.TempDir(), t.TempDir()
	var mark [8]byte
	rand.Read(mark[:])
	runMark := "CRASH_SUITE_RUN=" + hex.EncodeToString(mark[:])
	env := []string{runMark, "CRASH_MARKS=" + marks}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "BRIGADE_") && !strings.HasPrefix(kv, "GORACE=") {
			env = append(env, kv)
		}
	}
	srv := newServer(t, bin, dataDir, env, "--cleanup-delay", cleanupDelay.String())
	t.Cleanup(func() { killAll(marked(runMark)) })

	f := &figures{eventPhases: map[core.WorkerPhase]int{}, jobPhases: map[core.WorkerPhase]int{}}
	report := func() {
		summary := fmt.Sprintf("crash suite, seed %d: %s", cfg.seed, f)
		for _, v := range f.violations {
			t.Errorf("violation (seed %d): %s", cfg.seed, v)
		}
		if len(f.violations) > 0 {
			t.Errorf("%d violations; replay with: %s\nthe server's last stderr lines:\n%s", len(f.violations), cfg.replay(), srv.stderr())
		}
		t.Log(summary)
		if path := os.Getenv(envFigures); path != "" {
			if err := os.WriteFile(path, []byte(summary), 0o644); err != nil {
				t.Errorf("%s: %v", envFigures, err)
			}
		}
	}

	srv.start()
	createProjects(t, srv.current().c)

	// The load runs through every kill; the kills come at random moments
	// after each start: a quarter within 100 ms (recovery, the first
	// scheduling), the rest spread up to cfg.maxUp.
	ld := newLoad(srv, cfg, 16)
	ctx, stopLoad := context.WithCancel(t.Context())
	var loadDone sync.WaitGroup
	loadDone.Go(func() { ld.run(ctx) })
	began := time.Now()
	rng := mrand.New(mrand.NewSource(cfg.seed))
	// Leave the checks time before go test's deadline (10 minutes by
	// default), so that a slow machine gets a report, not a timeout.
	stopBy, hasDeadline := t.Deadline()
	stopBy = stopBy.Add(-4 * time.Minute)
	for f.kills < cfg.kills {
		if hasDeadline && time.Now().After(stopBy) {
			t.Errorf("only %d of %d kills fit before the test's deadline: raise go test's -timeout or lower %s", f.kills, cfg.kills, envKills)
			break
		}
		var up time.Duration
		if rng.Intn(4) == 0 {
			up = time.Duration(rng.Int63n(int64(100 * time.Millisecond)))
		} else {
			up = 100*time.Millisecond + time.Duration(rng.Int63n(int64(cfg.maxUp-100*time.Millisecond)+1))
		}
		time.Sleep(up) // the random moment of the kill, not a wait for anything
		srv.kill()
		f.kills++
		srv.start()
	}
	stopLoad()
	loadDone.Wait()
	f.killPhase = time.Since(began)
	began = time.Now()
	events, refused := ld.snapshot()
	f.events, f.refused = len(events), refused
	for _, l := range srv.refusedStarts() {
		f.violate("a restart was refused because the data dir was still locked: %s", l)
	}

	c := srv.current().c
	final := settle(t.Context(), c, events, f, time.Now().Add(5*time.Minute))
	for _, a := range events {
		if ev := final[a.id]; ev != nil && ev.Worker != nil && ev.Worker.Status.Phase.IsTerminal() {
			checkEvent(t.Context(), c, marks, a, ev, f)
		}
	}

	// Every finished event's folder goes after the cleanup delay.
	deadline := time.Now().Add(2 * time.Minute)
	for len(eventFolders(dataDir)) > 0 && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond) // the server's cleanup runs in another process
	}
	if left := eventFolders(dataDir); len(left) > 0 {
		f.violate("%d event folders are left 2 minutes after the last event ended (cleanup delay %s): %s",
			len(left), cleanupDelay, strings.Join(left[:min(len(left), 10)], ", "))
	}

	// Nothing the server started outlives it. That the mark is found on
	// the server's standby workers shows the search works.
	f.markedSeen = len(marked(runMark))
	srv.stop()
	deadline = time.Now().Add(time.Minute)
	for len(marked(runMark)) > 0 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond) // processes of another process tree: re-look
	}
	if left := marked(runMark); len(left) > 0 {
		var lines []string
		for pid, cmd := range left {
			lines = append(lines, fmt.Sprintf("%d: %s", pid, cmd))
		}
		slices.Sort(lines)
		f.violate("%d processes the server started outlive it: %s", len(left), strings.Join(lines, "; "))
	}
	f.settlePhase = time.Since(began)
	report()
}
