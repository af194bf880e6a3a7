package tui_test

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/creack/pty"
	"github.com/hinshun/vt10x"

	"github.com/brigadeplatform/brigade/internal/client"
	"github.com/brigadeplatform/brigade/internal/core"
	"github.com/brigadeplatform/brigade/internal/server"
	"github.com/brigadeplatform/brigade/internal/testenv"
)

// TestMain lets this test binary run workers for the local substrate, and
// removes the brig binary the tests built.
func TestMain(m *testing.M) {
	testenv.Hooks()
	code := m.Run()
	if brigBin != "" {
		os.RemoveAll(filepath.Dir(brigBin))
	}
	os.Exit(code)
}

// The size of the virtual terminal.
const (
	cols = 120
	rows = 40
)

// waitLimit bounds every wait for the screen: generous, as the machine may
// be busy; it only keeps a broken run from hanging.
const waitLimit = 2 * time.Minute

var (
	buildOnce sync.Once
	brigBin   string
	buildErr  error
)

// brigBinary builds cmd/brig once for the tests of this package.
func brigBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "brig-term-test-")
		if err != nil {
			buildErr = err
			return
		}
		brigBin = filepath.Join(dir, "brig")
		out, err := exec.Command("go", "build", "-o", brigBin, "github.com/brigadeplatform/brigade/cmd/brig").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return brigBin
}

// terminal is brig running in a pseudo-terminal, drawn on a virtual one
// that the test reads.
type terminal struct {
	t       *testing.T
	vt      vt10x.Terminal
	pty     *os.File
	cmd     *exec.Cmd
	changed chan struct{} // poked after each chunk of output is drawn
	exited  chan struct{} // closed when brig has exited
	waitErr error
}

func startTerminal(t *testing.T, env []string, args ...string) *terminal {
	t.Helper()
	cmd := exec.Command(brigBinary(t), args...)
	cmd.Env = env
	f, err := pty.StartWithSize(cmd, &pty.Winsize{Cols: cols, Rows: rows})
	if err != nil {
		t.Fatal(err)
	}
	term := &terminal{t: t, vt: vt10x.New(vt10x.WithSize(cols, rows)), pty: f, cmd: cmd,
		changed: make(chan struct{}, 1), exited: make(chan struct{})}
	go term.draw()
	go func() {
		term.waitErr = cmd.Wait()
		close(term.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-term.exited:
		default:
			_ = cmd.Process.Kill()
			<-term.exited
		}
		f.Close()
	})
	return term
}

// draw feeds brig's output to the virtual terminal, whole characters at a
// time, until the pty closes.
func (term *terminal) draw() {
	buf := make([]byte, 32<<10)
	var pending []byte
	for {
		n, err := term.pty.Read(buf)
		pending = append(pending, buf[:n]...)
		// Keep an unfinished UTF-8 sequence for the next read.
		cut := len(pending)
		for i := 1; i <= 3 && i <= len(pending); i++ {
			if utf8.RuneStart(pending[len(pending)-i]) {
				if !utf8.FullRune(pending[len(pending)-i:]) {
					cut = len(pending) - i
				}
				break
			}
		}
		if cut > 0 {
			_, _ = term.vt.Write(pending[:cut])
			pending = append(pending[:0], pending[cut:]...)
			select {
			case term.changed <- struct{}{}:
			default:
			}
		}
		if err != nil {
			return
		}
	}
}

// lines is the screen, one string per row.
func (term *terminal) lines() []string {
	return strings.Split(strings.TrimSuffix(term.vt.String(), "\n"), "\n")
}

// waitFor waits until cond holds for the screen and returns that screen.
func (term *terminal) waitFor(what string, cond func(lines []string) bool) []string {
	term.t.Helper()
	deadline := time.NewTimer(waitLimit)
	defer deadline.Stop()
	for {
		lines := term.lines()
		if cond(lines) {
			return lines
		}
		select {
		case <-term.changed:
		case <-term.exited:
			if lines := term.lines(); cond(lines) {
				return lines
			}
			term.t.Fatalf("brig exited (%v) before the screen showed %s:\n%s", term.waitErr, what, strings.Join(term.lines(), "\n"))
		case <-deadline.C:
			term.t.Fatalf("the screen did not show %s within %v:\n%s", what, waitLimit, strings.Join(term.lines(), "\n"))
		}
	}
}

// waitText waits until the screen shows every one of texts.
func (term *terminal) waitText(texts ...string) []string {
	term.t.Helper()
	return term.waitFor(fmt.Sprintf("%q", texts), func(lines []string) bool {
		screen := strings.Join(lines, "\n")
		for _, s := range texts {
			if !strings.Contains(screen, s) {
				return false
			}
		}
		return true
	})
}

// press types keys.
func (term *terminal) press(keys string) {
	term.t.Helper()
	if _, err := term.pty.Write([]byte(keys)); err != nil {
		term.t.Fatalf("typing %q: %v", keys, err)
	}
}

// Keys as a terminal sends them.
const (
	keyEnter = "\r"
	keyEsc   = "\x1b"
)

// platform is a real server on the local substrate (workers and jobs are
// processes of this machine) and a root client of it.
func platform(t *testing.T) (*client.Client, []string) {
	t.Helper()
	srv, _ := testenv.Server(t, server.Config{RootPassword: "term-test-password", CleanupDelay: time.Hour})
	addr := "http://" + srv.Addr()
	tok, err := client.New(addr, "").CreateRootSession(t.Context(), "term-test-password")
	if err != nil {
		t.Fatal(err)
	}
	home := t.TempDir()
	env := []string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + home, "TERM=xterm-256color",
		"BRIGADE_CONFIG=" + filepath.Join(home, "config"), "BRIGADE_SERVER=" + addr, "BRIGADE_TOKEN=" + tok.Value,
	}
	return client.New(addr, tok.Value), env
}

// createProject creates a project whose exec events run script.
func createProject(t *testing.T, c *client.Client, id, script string) {
	t.Helper()
	_, err := c.CreateProject(t.Context(), &core.Project{
		Metadata: core.ObjectMeta{ID: id},
		Spec: core.ProjectSpec{
			EventSubscriptions: []core.EventSubscription{{Source: "brigade.sh/cli", Types: []string{"exec"}}},
			WorkerTemplate:     core.WorkerSpec{DefaultConfigFiles: map[string]string{"brigade.js": script}},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
}

func createEvent(t *testing.T, c *client.Client, project string) string {
	t.Helper()
	evs, err := c.CreateEvent(t.Context(), &core.Event{ProjectID: project, Source: "brigade.sh/cli", Type: "exec"})
	if err != nil || len(evs) != 1 {
		t.Fatalf("creating an event: %v (%d events)", err, len(evs))
	}
	return evs[0].Metadata.ID
}

// fanOutScript is the classic fan-out: twenty short jobs at once beside one
// long job. The short ones run until the file GO exists, the long one until
// RELEASE does (paths the test fills in): the test decides when bars end,
// so the shape does not depend on how fast the machine is.
const fanOutScript = `const { events, Job } = require("@brigadecore/brigadier");
events.on("brigade.sh/cli", "exec", async event => {
  const job = (name, script) => {
    const j = new Job(name, "debian:12-slim", event);
    j.primaryContainer.command = ["sh"];
    j.primaryContainer.arguments = ["-c", script];
    return j;
  };
  const short = [];
  for (let i = 1; i <= 20; i++) {
    short.push(job("countdown-" + i,
      "echo countdown " + i + " starts; while [ ! -e GO ]; do sleep 0.05; done; echo countdown " + i + " done"));
  }
  const long = job("countdown-long", "echo long starts; while [ ! -e RELEASE ]; do sleep 0.1; done; echo long done");
  await Promise.all([Promise.all(short.map(j => j.run())), long.run()]);
  console.log("the fan-out is done");
});
events.process();
`

// stuckScript runs one job that writes a line five times a second until it
// is stopped.
const stuckScript = `const { events, Job } = require("@brigadecore/brigadier");
events.on("brigade.sh/cli", "exec", async event => {
  const j = new Job("forever", "debian:12-slim", event);
  j.primaryContainer.command = ["sh"];
  j.primaryContainer.arguments = ["-c", "i=0; while true; do i=$((i+1)); echo tick $i; sleep 0.2; done"];
  await j.run();
});
events.process();
`

// bar is a timeline row as read off the screen.
type bar struct {
	phase      string
	cells      []rune
	start, end int // the first drawn cell and one past the last, in the bar
	width      int
	row        int // the screen row
	col        int // the screen column of the bar's first cell
}

// timeline reads the timeline's rows off the screen: name → bar.
func timeline(lines []string) map[string]bar {
	out := map[string]bar{}
	for y, line := range lines {
		r := []rune(line)
		open := strings.IndexRune(line, '│')
		if open < 0 || len(r) < 4 {
			continue
		}
		open = utf8.RuneCountInString(line[:open])
		closing := -1
		for i := len(r) - 1; i > open; i-- {
			if r[i] == '│' {
				closing = i
				break
			}
		}
		if closing < 0 {
			continue
		}
		name := strings.TrimSpace(strings.TrimPrefix(string(r[:open]), "▸"))
		cells := r[open+1 : closing]
		b := bar{cells: cells, start: -1, width: len(cells), row: y, col: open + 1}
		for i, c := range cells {
			if c != ' ' {
				if b.start < 0 {
					b.start = i
				}
				b.end = i + 1
			}
		}
		if fields := strings.Fields(string(r[closing+1:])); len(fields) > 0 {
			b.phase = fields[0]
		}
		out[name] = b
	}
	return out
}

func shortNames() []string {
	names := make([]string, 20)
	for i := range names {
		names[i] = fmt.Sprintf("countdown-%d", i+1)
	}
	return names
}

// TestTermFanOut drives brig term in a pseudo-terminal through a fan-out
// event: projects, events, the live timeline (twenty bars starting
// together, one long bar), a job's and the worker's logs, help, retry, and
// cancel with its confirmation.
func TestTermFanOut(t *testing.T) {
	c, env := platform(t)
	dir := t.TempDir()
	goFile, releaseFile := filepath.Join(dir, "go"), filepath.Join(dir, "release")
	createProject(t, c, "fanout", strings.NewReplacer("GO", goFile, "RELEASE", releaseFile).Replace(fanOutScript))
	createProject(t, c, "stuck", stuckScript)
	fanID := createEvent(t, c, "fanout")
	stuckID := createEvent(t, c, "stuck")

	term := startTerminal(t, env, "term")
	onScreen(term, "Projects", "▸ fanout", "stuck", "DESCRIPTION")
	term.press(keyEnter) // fanout is first
	onScreen(term, "Projects › fanout", fanID)
	term.press(keyEnter)
	onTimeline(term, fanID)

	// All twenty-one jobs run at once; the screen shows it without a key
	// pressed.
	phases := func(lines []string, short, long core.JobPhase) bool {
		bars := timeline(lines)
		for _, n := range shortNames() {
			if bars[n].phase != string(short) {
				return false
			}
		}
		return bars["countdown-long"].phase == string(long)
	}
	term.waitFor("every job RUNNING", func(lines []string) bool {
		return phases(lines, core.PhaseRunning, core.PhaseRunning)
	})
	touch(t, goFile)
	// The short jobs end while the long one runs. As time passes their
	// bars move left on the growing axis; once they end in the first
	// third, let the long job end.
	term.waitFor("the short jobs SUCCEEDED in the first third, the long one RUNNING", func(lines []string) bool {
		if !phases(lines, core.PhaseSucceeded, core.PhaseRunning) {
			return false
		}
		bars := timeline(lines)
		for _, n := range shortNames() {
			if b := bars[n]; b.end*3 > b.width {
				return false
			}
		}
		return true
	})
	touch(t, releaseFile)
	lines := term.waitFor("the event SUCCEEDED", func(lines []string) bool {
		bars := timeline(lines)
		return bars["worker"].phase == string(core.PhaseSucceeded) && bars["countdown-long"].phase == string(core.PhaseSucceeded)
	})
	checkFanOutShape(t, lines, term.vt)

	// A job's log, then the worker's.
	term.press("j") // from the worker to countdown-1
	term.waitFor("the cursor on countdown-1", func(lines []string) bool {
		return strings.HasPrefix(lines[timeline(lines)["countdown-1"].row], "▸ countdown-1 ")
	})
	term.press(keyEnter)
	term.waitText("log of job countdown-1", "countdown 1 starts", "countdown 1 done", "ended")
	term.press(keyEsc)
	onTimeline(term, fanID)
	term.press("k")
	term.press(keyEnter)
	term.waitText("worker log", "the fan-out is done")
	term.press(keyEsc)
	onTimeline(term, fanID)

	// Help, closed by any key.
	term.press("?")
	term.waitText("Keys", "retry the event")
	term.press("x")
	onTimeline(term, fanID)

	// Retry opens the retry's timeline.
	term.press("r")
	lines = term.waitText("Retried event " + fanID + " as ")
	retryID := strings.TrimSuffix(strings.Fields(lines[rows-2][strings.Index(lines[rows-2], " as ")+4:])[0], ".")
	onTimeline(term, retryID)
	ev, err := c.GetEvent(t.Context(), retryID)
	if err != nil || ev.Labels["brigade.sh/retryOf"] != fanID {
		t.Fatalf("the retry %s: %v, labels %v", retryID, err, ev.Labels)
	}

	// Cancel asks first; n keeps the event, y cancels it.
	term.press(keyEsc)
	onScreen(term, "Projects › fanout", retryID, fanID)
	term.press(keyEsc)
	onScreen(term, "Projects", "DESCRIPTION", "stuck")
	term.press("j")
	term.waitText("▸ stuck")
	term.press(keyEnter)
	onScreen(term, "Projects › stuck", stuckID)
	term.press(keyEnter)
	term.waitFor("the stuck job RUNNING", func(lines []string) bool {
		return timeline(lines)["forever"].phase == string(core.PhaseRunning)
	})
	term.press("c")
	term.waitText("Cancel event " + stuckID + "? y cancels it")
	term.press("n")
	term.waitText("Not canceled.")
	// The job's log follows what it writes as it writes it.
	term.press("j")
	term.waitText("▸ forever")
	term.press(keyEnter)
	lines = term.waitText("log of job forever", "RUNNING", "following", "tick ")
	seen := lastTick(lines)
	term.waitFor(fmt.Sprintf("ticks after tick %d", seen), func(lines []string) bool { return lastTick(lines) >= seen+3 })
	// Canceled from the log: the log ends with the job.
	term.press("c")
	term.waitText("Cancel event " + stuckID + "?")
	term.press("y")
	term.waitText("Canceled event "+stuckID+".", string(core.PhaseAborted), "· ended")
	term.press(keyEsc)
	term.waitFor("the worker ABORTED", func(lines []string) bool {
		return timeline(lines)["worker"].phase == string(core.PhaseAborted)
	})

	// q quits with exit code 0.
	term.press("q")
	select {
	case <-term.exited:
		if term.waitErr != nil {
			t.Fatalf("brig term exited with %v", term.waitErr)
		}
	case <-time.After(waitLimit):
		t.Fatal("brig term did not quit on q")
	}
}

// lastTick is the highest "tick N" line on the screen (0 if none).
func lastTick(lines []string) int {
	last := 0
	for _, l := range lines {
		var n int
		if _, err := fmt.Sscanf(strings.TrimSpace(l), "tick %d", &n); err == nil && strings.TrimSpace(l) == fmt.Sprint("tick ", n) {
			last = max(last, n)
		}
	}
	return last
}

// touch creates a file.
func touch(t *testing.T, path string) {
	t.Helper()
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		t.Fatal(err)
	}
}

// onScreen waits for the screen whose path (under the title) is crumbs,
// showing texts.
func onScreen(term *terminal, crumbs string, texts ...string) {
	term.t.Helper()
	term.waitFor(fmt.Sprintf("%s with %q", crumbs, texts), func(lines []string) bool {
		if strings.TrimSpace(lines[1]) != crumbs {
			return false
		}
		screen := strings.Join(lines, "\n")
		for _, s := range texts {
			if !strings.Contains(screen, s) {
				return false
			}
		}
		return true
	})
}

// onTimeline waits for the timeline of an event with the fan-out's jobs.
func onTimeline(term *terminal, eventID string) {
	term.t.Helper()
	term.waitFor("the timeline of "+eventID, func(lines []string) bool {
		return strings.HasSuffix(strings.TrimSpace(lines[1]), "› event "+eventID) && timeline(lines)["countdown-long"].width > 0
	})
}

// checkFanOutShape checks, on the finished event's timeline, the fan-out's
// shape: twenty bars that start early and end early, all running at one
// moment, beside one long bar that runs with them and lasts to the end;
// the bars coloured by phase. (How close together the twenty start depends
// on how fast the server creates and starts jobs, so it is not measured.)
func checkFanOutShape(t *testing.T, lines []string, vt vt10x.View) {
	t.Helper()
	screen := strings.Join(lines, "\n")
	bars := timeline(lines)
	long := bars["countdown-long"]
	w := long.width
	if w < 40 {
		t.Fatalf("bars %d cells wide on a %d-column screen:\n%s", w, cols, screen)
	}
	maxEnd := 0
	for _, n := range shortNames() {
		b, ok := bars[n]
		if !ok || b.start < 0 {
			t.Fatalf("no bar for %s:\n%s", n, screen)
		}
		if b.width != w || b.col != long.col {
			t.Fatalf("%s's bar is not on the same axis as the long one:\n%s", n, screen)
		}
		if b.end*3 > w {
			t.Errorf("%s ends at %d of %d, not in the first third:\n%s", n, b.end, w, screen)
		}
		maxEnd = max(maxEnd, b.end)
	}
	// A column where all twenty-one run: they ran in parallel.
	together := -1
	for x := 0; x < w && together < 0; x++ {
		together = x
		for _, n := range append(shortNames(), "countdown-long") {
			if bars[n].cells[x] != '█' {
				together = -1
				break
			}
		}
	}
	if together < 0 {
		t.Errorf("no moment where all the jobs run at once:\n%s", screen)
	}
	if long.end < w-w/10 || long.end-maxEnd < w/2 {
		t.Errorf("the long bar ends at %d of %d, the short ones by %d: not one long bar beside short ones:\n%s", long.end, w, maxEnd, screen)
	}
	// Bars are coloured by phase: a succeeded job's running cells are green.
	b := bars["countdown-1"]
	vt.Lock()
	glyph := vt.Cell(b.col+b.end-1, b.row)
	vt.Unlock()
	if glyph.Char != '█' || glyph.FG != vt10x.Green {
		t.Errorf("countdown-1's last cell is %q in colour %d, want a green █", glyph.Char, glyph.FG)
	}
}

// TestTermRefusals: brig term without a terminal, or with arguments that
// disagree, says what to do and exits 1.
func TestTermRefusals(t *testing.T) {
	_, env := platform(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"term"}, "brig: brig term needs a terminal for its input and output"},
		{[]string{"term", "ev-1", "-i", "ev-2"}, "brig: give the event ID once"},
		{[]string{"term", "ev-1", "-p", "demo"}, "brig: give --project or an event ID, not both"},
		{[]string{"term", "ev-1", "ev-2"}, "brig: "}, // cobra's words, which brig may reword
	} {
		cmd := exec.Command(brigBinary(t), tc.args...)
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != 1 || !strings.Contains(string(out), tc.want) {
			t.Errorf("brig %s: %v\n%s", strings.Join(tc.args, " "), err, out)
		}
	}
}
