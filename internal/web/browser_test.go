package web_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/brigadeplatform/brigade/internal/core"
)

// The browser tests drive a real headless Chromium (Debian's chromium
// package) against a real server on the local substrate. They skip where
// there is no Chromium, unless BRIGADE_TEST_BROWSER=1 (CI), where they
// fail instead. Screenshots of the main pages go to BRIGADE_TEST_ARTIFACTS
// (default: a folder under the test's temporary directory, printed).
// BRIGADE_DASHBOARD_SCREENSHOT=FILE also saves the whole event page, its
// timeline included, there (docs/dashboard-event.png is made so).

// waitLimit bounds every wait on the page: generous, for a busy machine.
const waitLimit = 90 * time.Second

func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("BRIGADE_TEST_BROWSER") == "1" {
		t.Fatal("BRIGADE_TEST_BROWSER=1 but no chromium is installed (apt-get install -y chromium)")
	}
	t.Skip("no chromium installed; apt-get install -y chromium and set BRIGADE_TEST_BROWSER=1 to run the browser tests")
	return ""
}

// newChrome starts a fresh headless Chromium for the test and returns its
// tab's context.
func newChrome(t *testing.T) context.Context {
	t.Helper()
	path := chromiumPath(t)
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true), chromedp.Flag("force-color-profile", "srgb"),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1280, 900),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(actx)
	ctx, cancelTime := context.WithTimeout(ctx, 20*time.Minute)
	t.Cleanup(func() { cancelTime(); cancelTab(); cancelAlloc() })
	if err := chromedp.Do(ctx); err != nil { // starts the browser
		t.Fatalf("starting %s: %v", path, err)
	}
	return ctx
}

// artifacts is where screenshots go.
func artifacts(t *testing.T) string {
	dir := os.Getenv("BRIGADE_TEST_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join(t.TempDir(), "artifacts")
	}
	dir = filepath.Join(dir, strings.ReplaceAll(t.Name(), "/", "_"))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshots in %s", dir)
	return dir
}

func screenshot(t *testing.T, ctx context.Context, dir, name string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// do runs steps, failing the test with what was being done. Each call has
// its own deadline, so one stuck step fails alone and the next subtests
// still have the browser.
func do(t *testing.T, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, waitLimit)
	defer cancel()
	if err := chromedp.Do(sctx, steps...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// click waits until the page has an element matching selector and clicks
// it inside the page, in one step. The live sections replace their HTML
// whenever the server pushes an update; a click from outside the page
// (find the node, then press the mouse on it) can land on a node that
// was just replaced, and then nothing happens. A user's click is one
// step in the page, as this is.
func click(t *testing.T, ctx context.Context, what, selector string) {
	t.Helper()
	q := fmt.Sprintf("document.querySelector(%q)", selector)
	waitJS(t, ctx, what+": it is on the page", q+" !== null")
	sctx, cancel := context.WithTimeout(ctx, waitLimit)
	defer cancel()
	ok, err := chromedp.Run(sctx, chromedp.Evaluate[bool](`(() => { const el = `+q+`; if (!el) return false; el.click(); return true })()`))
	if err != nil || !ok {
		t.Fatalf("%s: clicking %s: %v (found: %v)", what, selector, err, ok)
	}
}

// waitJS waits until a JavaScript expression is true in the page.
func waitJS(t *testing.T, ctx context.Context, what, expr string) {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for {
		_, err := chromedp.Run(ctx, chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingTimeout(time.Until(deadline))))
		if err == nil {
			return
		}
		// A poll started before a click's navigation ends with it: poll
		// the new page.
		if (strings.Contains(err.Error(), "navigated or closed") || strings.Contains(err.Error(), "Cannot find context")) &&
			time.Now().Before(deadline) {
			continue
		}
		state, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector("main") ? document.querySelector("main").innerText.slice(0, 2000) : document.body.innerText`))
		t.Fatalf("waiting until %s: %v\nthe page shows:\n%s", what, err, state)
	}
}

// countdownScript is Brigade v1's parallel countdown, shortened: one long
// job beside a Group of 20 jobs side by side; the long one waits for gate to exist before
// its last line, so the test can watch that line arrive live.
func countdownScript(gate string) string {
	return `const { events, Job, Group } = require("brigadier");
events.on("exec", (e, p) => {
  const parallel = new Group();
  for (let i = 1; i <= 20; i++) {
    const job = new Job("countdown-" + i, "alpine:3.12");
    job.tasks = ["for n in $(seq 10 -1 1); do echo \"countdown " + i + ": $n\"; sleep 0.1; done"];
    parallel.add(job);
  }
  const long = new Job("countdown-long", "alpine:3.12");
  long.tasks = [
    "for n in $(seq 40 -1 1); do echo \"long countdown: $n\"; sleep 0.1; done",
    "while [ ! -e '` + gate + `' ]; do sleep 0.1; done",
    "echo 'long countdown: done'",
  ];
  long.run();
  parallel.runAll();
});
`
}

const sleeperScript = `const { events, Job } = require("@brigadecore/brigadier");
events.on("brigade.sh/cli", "exec", async event => {
  const j = new Job("sleeper", "debian:12-slim", event);
  j.primaryContainer.command = ["sh"];
  j.primaryContainer.arguments = ["-c", "echo sleeping; sleep 300"];
  await j.run();
});
events.process();
`

func TestBrowser(t *testing.T) {
	ctx := newChrome(t)
	dir := artifacts(t)
	d := startDash(t, "local")
	gate := filepath.Join(t.TempDir(), "gate")
	d.project(t, "countdown", countdownScript(gate))
	d.project(t, "sleeper", sleeperScript)

	t.Run("SignIn", func(t *testing.T) {
		do(t, ctx, "opening the dashboard", chromedp.Navigate(d.url+"/"), chromedp.WaitVisible(chromedp.ID("password")))
		screenshot(t, ctx, dir, "signin")
		do(t, ctx, "signing in", chromedp.SendKeys(chromedp.ID("password"), rootPassword),
			chromedp.Click(chromedp.CSS(`form[action="/signin"] button`)))
		waitJS(t, ctx, "the projects page shows", `document.querySelector("h1") && document.querySelector("h1").textContent === "Projects" && document.querySelector('a[href="/projects/countdown"]') !== null`)
		screenshot(t, ctx, dir, "projects")
	})

	var eventURL string
	t.Run("SendAnEventAndWatchTheTimeline", func(t *testing.T) {
		click(t, ctx, "opening the project", `a[href="/projects/countdown"]`)
		waitJS(t, ctx, "the project page shows", `document.querySelector("#payload") !== null`)
		waitJS(t, ctx, "every field has a label", `[...document.querySelectorAll("input:not([type=hidden]), textarea")].every(e => e.labels.length > 0)`)
		screenshot(t, ctx, dir, "project")
		do(t, ctx, "sending an event", chromedp.SendKeys(chromedp.ID("payload"), `{"from":"the browser test"}`),
			chromedp.Click(chromedp.ID("send")))
		waitJS(t, ctx, "the event page opens", `location.pathname.startsWith("/events/") && document.querySelector("#event-live") !== null`)
		loc, err := chromedp.Run(ctx, chromedp.Location())
		if err != nil {
			t.Fatal(err)
		}
		eventURL = loc
		// The jobs appear on the timeline as the worker creates them,
		// pushed by the server, without a reload.
		waitJS(t, ctx, "21 jobs are on the timeline", `document.querySelectorAll("#timeline g.row").length === 21`)
		waitJS(t, ctx, "the 20 parallel jobs succeed while the long one runs",
			`[...document.querySelectorAll("#timeline g.row")].filter(g => g.dataset.job.match(/^countdown-\d+$/) && g.dataset.phase === "SUCCEEDED").length === 20 &&
			 document.querySelector('#timeline g.row[data-job="countdown-long"]').dataset.phase === "RUNNING"`)
		screenshot(t, ctx, dir, "event-running")
	})

	t.Run("ReadTheLiveLogs", func(t *testing.T) {
		if eventURL == "" {
			t.Skip("no event")
		}
		click(t, ctx, "opening the long job's logs", `#jobs a[href$="job=countdown-long"]`)
		waitJS(t, ctx, "the log page shows", `document.querySelector("#log") !== null`)
		waitJS(t, ctx, "the page follows the log", `document.querySelector("#log").dataset.live !== ""`)
		waitJS(t, ctx, "the countdown's lines are shown", `document.querySelector("#log").textContent.includes("long countdown: 1\n")`)
		if err := os.WriteFile(gate, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		// The last line is written after the page loaded: it arrives live.
		waitJS(t, ctx, "the last line arrives and the log ends", `document.querySelector("#log").textContent.includes("long countdown: done") && document.querySelector("#log").dataset.complete === "true"`)
		screenshot(t, ctx, dir, "logs")
		do(t, ctx, "searching the log", chromedp.SendKeys(chromedp.ID("q"), "countdown: 3"))
		waitJS(t, ctx, "only matching lines show", `(() => { const shown = [...document.querySelectorAll("#log .l:not(.hidden)")];
			return shown.length > 0 && shown.every(l => l.textContent.includes("countdown: 3")) })()`)
		href, err := chromedp.Run(ctx, chromedp.AttributeValue(chromedp.ID("download"), "href"))
		if err != nil || !strings.Contains(href.Value, "/logs.txt?job=countdown-long") {
			t.Fatalf("the download link: %+v %v", href, err)
		}
		// The back button returns to the event, which has finished.
		do(t, ctx, "going back", chromedp.NavigateBack())
		waitJS(t, ctx, "the event page is back and its event succeeded",
			`location.href === `+fmt.Sprintf("%q", eventURL)+` && document.querySelector("#event-live .status .badge").textContent === "SUCCEEDED"`)
		screenshot(t, ctx, dir, "event")
		if out := os.Getenv("BRIGADE_DASHBOARD_SCREENSHOT"); out != "" {
			png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(out, png, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	})

	t.Run("CancelARunningEvent", func(t *testing.T) {
		id := d.event(t, "sleeper", "")
		do(t, ctx, "opening the event", chromedp.Navigate(d.url+"/events/"+id))
		waitJS(t, ctx, "its job runs", `(() => { const g = document.querySelector('#timeline g.row[data-job="sleeper"]'); return g && g.dataset.phase === "RUNNING" })()`)
		click(t, ctx, "cancelling", "#cancel")
		waitJS(t, ctx, "the event is aborted", `document.querySelector("#event-live .status .badge").textContent === "ABORTED"`)
		screenshot(t, ctx, dir, "event-cancelled")
		ev := d.waitPhase(t, id, core.PhaseAborted)
		if j := ev.Worker.Jobs; len(j) != 1 || j[0].Status == nil || !j[0].Status.Phase.IsTerminal() {
			t.Fatalf("the job after the cancel: %+v", j)
		}
	})

	t.Run("TheKeyboardFindsTheSkipLinkFirst", func(t *testing.T) {
		do(t, ctx, "opening the projects", chromedp.Navigate(d.url+"/"), chromedp.WaitVisible(chromedp.CSS("main h1")))
		// Tab from the top: the skip link comes first and is visible when
		// focused.
		if err := chromedp.Do(ctx, chromedp.KeyEvent("\t")); err != nil {
			t.Fatal(err)
		}
		waitJS(t, ctx, "the skip link has focus and shows", `document.activeElement.classList.contains("skip") && document.activeElement.getBoundingClientRect().left >= 0`)
	})
}
