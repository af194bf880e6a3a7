package js

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// runDeadline bounds every run in these tests. It is generous, for a busy
// machine: it only turns a run that never ends (a script or a fake host
// waiting for something that does not come) into a failure, instead of a
// hang until go test's own timeout.
const runDeadline = 2 * time.Minute

// testContext is the context of a run: it ends with the test, or at
// runDeadline.
func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), runDeadline)
	t.Cleanup(cancel)
	return ctx
}

// runScript runs src as brigade.js (or the file named by name) against host
// and returns the exit code, the error and the log.
func runScript(t *testing.T, ctx context.Context, name, src string, opts Options) (int, error, string) {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	out, _ := opts.Stdout.(*syncBuffer)
	if out == nil {
		out = &syncBuffer{}
		opts.Stdout = out
	}
	if opts.Host == nil {
		opts.Host = &fakeHost{}
	}
	if opts.Event == nil {
		opts.Event = map[string]any{"id": "e1", "source": "brigade.sh/cli", "type": "exec", "project": map[string]any{"id": "p"}}
	}
	opts.Dir = dir
	code, err := Run(ctx, opts)
	return code, err, out.String()
}

func TestLoop(t *testing.T) {
	ctx := testContext(t)

	t.Run("TimersFireByDueTimeThenScheduleOrder", func(t *testing.T) {
		code, err, log := runScript(t, ctx, "brigade.js", `
const order = [];
setTimeout(() => order.push("t20"), 20);
setTimeout(() => order.push("t10a"), 10);
setTimeout((x) => order.push(x), 10, "t10b");
setTimeout(() => order.push("t0"), 0);
let n = 0;
const iv = setInterval(() => { order.push("iv" + (++n)); if (n === 3) clearInterval(iv); }, 1);
const cancelled = setTimeout(() => order.push("cancelled"), 5);
clearTimeout(cancelled);
const imm = setImmediate(() => order.push("cancelled immediate"));
clearImmediate(imm);
setImmediate(() => order.push("imm"));
Promise.resolve().then(() => order.push("micro"));
order.push("sync");
process.on("exit", () => console.log(order.join(",")));
`, Options{})
		if err != nil || code != 0 {
			t.Fatalf("Run = %d, %v\n%s", code, err, log)
		}
		got := strings.Split(strings.TrimSpace(log), ",")
		pos := map[string]int{}
		for i, s := range got {
			pos[s] = i
		}
		if got[0] != "sync" || got[1] != "micro" {
			t.Errorf("sync code then microtasks must come first: %q", got)
		}
		for _, pair := range [][2]string{{"t0", "t10a"}, {"t10a", "t10b"}, {"t10b", "t20"}, {"iv1", "iv2"}, {"iv2", "iv3"}} {
			a, okA := pos[pair[0]]
			b, okB := pos[pair[1]]
			if !okA || !okB || a > b {
				t.Errorf("%s must fire before %s: %q", pair[0], pair[1], got)
			}
		}
		for _, never := range []string{"cancelled", "cancelled immediate", "iv4"} {
			if _, ok := pos[never]; ok {
				t.Errorf("%s fired: %q", never, got)
			}
		}
		if _, ok := pos["imm"]; !ok {
			t.Errorf("immediate did not fire: %q", got)
		}
	})

	t.Run("UnrefTimerDoesNotKeepRunAlive", func(t *testing.T) {
		code, err, log := runScript(t, ctx, "brigade.js", `
setTimeout(() => console.log("must not wait for me"), 60 * 60 * 1000).unref();
const t = setTimeout(() => console.log("ref again"), 1);
t.unref(); t.ref();
`, Options{})
		if err != nil || code != 0 || strings.Contains(log, "must not wait") || !strings.Contains(log, "ref again") {
			t.Fatalf("Run = %d, %v\n%s", code, err, log)
		}
	})

	t.Run("BeforeExitMaySchedule", func(t *testing.T) {
		code, err, log := runScript(t, ctx, "brigade.js", `
let once = false;
process.on("beforeExit", () => {
  if (once) return;
  once = true;
  setTimeout(() => console.log("scheduled from beforeExit"), 1);
});
`, Options{})
		if err != nil || code != 0 || !strings.Contains(log, "scheduled from beforeExit") {
			t.Fatalf("Run = %d, %v\n%s", code, err, log)
		}
	})

	t.Run("ExitCodeAssignment", func(t *testing.T) {
		code, err, log := runScript(t, ctx, "brigade.js", `process.exitCode = 4; setTimeout(() => console.log("still runs"), 1);`, Options{})
		if err != nil || code != 4 || !strings.Contains(log, "still runs") {
			t.Fatalf("Run = %d, %v\n%s", code, err, log)
		}
	})

	t.Run("ExitZeroAfterUnhandledRejectionIsOne", func(t *testing.T) {
		code, err, _ := runScript(t, ctx, "brigade.js", `Promise.reject("nope"); setTimeout(() => process.exit(0), 1);`, Options{})
		if err != nil || code != 1 {
			t.Fatalf("Run = %d, %v", code, err)
		}
	})

	t.Run("ThrowInMicrotaskIsUncaught", func(t *testing.T) {
		code, err, log := runScript(t, ctx, "brigade.js", `
queueMicrotask(() => { throw new Error("tick failed"); });
setTimeout(() => console.log("never"), 1);
`, Options{})
		if err != nil || code != 1 || !strings.Contains(log, "uncaught exception: Error: tick failed") || strings.Contains(log, "never") {
			t.Fatalf("Run = %d, %v\n%s", code, err, log)
		}
	})

	t.Run("HandledLaterInSameTaskIsNotUnhandled", func(t *testing.T) {
		code, err, log := runScript(t, ctx, "brigade.js", `
const p = Promise.reject(new Error("late"));
Promise.resolve().then(() => p.catch(e => console.log("caught", e.message)));
`, Options{})
		if err != nil || code != 0 || !strings.Contains(log, "caught late") || strings.Contains(log, "ERROR") {
			t.Fatalf("Run = %d, %v\n%s", code, err, log)
		}
	})
}

func TestCancel(t *testing.T) {
	// The runs below end only when the log line they wait for cancels
	// them; testContext's deadline turns a line that never comes into a
	// failure (DeadlineExceeded instead of Canceled), not a hang.
	t.Run("InterruptsAnInfiniteLoop", func(t *testing.T) {
		ctx, cancel := context.WithCancel(testContext(t))
		defer cancel()
		out := &syncBuffer{onWrite: func(s string) {
			if strings.Contains(s, "spinning") {
				cancel()
			}
		}}
		code, err, _ := runScript(t, ctx, "brigade.js", `console.log("spinning"); for (;;) {}`, Options{Stdout: out})
		if code != 1 || !errors.Is(err, ErrStopped) || !errors.Is(err, context.Canceled) {
			t.Fatalf("Run = %d, %v; want 1 and ErrStopped wrapping context.Canceled", code, err)
		}
	})

	t.Run("StopsWaitingJobsAndWaitsForHostCalls", func(t *testing.T) {
		ctx, cancel := context.WithCancel(testContext(t))
		defer cancel()
		out := &syncBuffer{onWrite: func(s string) {
			if strings.Contains(s, "Creating job forever") {
				cancel()
			}
		}}
		host := &fakeHost{Block: map[string]bool{"forever": true}}
		code, err, _ := runScript(t, ctx, "brigade.js", `
const { Job } = require("@brigadecore/brigadier");
new Job("forever", "alpine", {}).run();
`, Options{Stdout: out, Host: host})
		if code != 1 || !errors.Is(err, ErrStopped) || !errors.Is(err, context.Canceled) {
			t.Fatalf("Run = %d, %v; want 1 and ErrStopped wrapping context.Canceled", code, err)
		}
	})

	t.Run("DeadlineIsReported", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		code, err, _ := runScript(t, ctx, "brigade.js", `setInterval(() => {}, 5);`, Options{})
		if code != 1 || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Run = %d, %v; want 1 and DeadlineExceeded", code, err)
		}
	})
}

func TestOptions(t *testing.T) {
	ctx := testContext(t)
	for name, opts := range map[string]Options{
		"NoDir":      {Host: &fakeHost{}},
		"MissingDir": {Dir: filepath.Join(t.TempDir(), "nope"), Host: &fakeHost{}},
		"NoHost":     {Dir: t.TempDir()},
		"BadLevel":   {Dir: t.TempDir(), Host: &fakeHost{}, LogLevel: "LOUD"},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := Run(ctx, opts); err == nil {
				t.Fatal("Run accepted bad options")
			}
		})
	}
}
