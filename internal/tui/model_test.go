package tui

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/brigadeplatform/brigade/internal/client"
	"github.com/brigadeplatform/brigade/internal/core"
)

// fakeAPI answers from fixed data and records cancels and retries.
type fakeAPI struct {
	mu       sync.Mutex
	projects []core.Project
	events   []core.Event
	event    *core.Event
	logs     chan core.LogEntry
	logErrs  chan error
	canceled []string
	retried  []string
	fail     error
}

func (f *fakeAPI) Address() string { return "http://brigade.test" }

func (f *fakeAPI) ListProjects(context.Context, *client.ListOptions) (*client.List[core.Project], error) {
	return &client.List[core.Project]{Items: f.projects}, f.fail
}

func (f *fakeAPI) ListEvents(_ context.Context, sel *client.EventSelector, _ *client.ListOptions) (*client.List[core.Event], error) {
	var out []core.Event
	for _, e := range f.events {
		if e.ProjectID == sel.ProjectID {
			out = append(out, e)
		}
	}
	return &client.List[core.Event]{Items: out}, f.fail
}

func (f *fakeAPI) GetEvent(context.Context, string) (*core.Event, error) { return f.event, f.fail }

func (f *fakeAPI) CancelEvent(_ context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.canceled = append(f.canceled, id)
	return f.fail
}

func (f *fakeAPI) RetryEvent(_ context.Context, id string) (*core.Event, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.retried = append(f.retried, id)
	return &core.Event{Metadata: core.ObjectMeta{ID: id + "-retry"}}, f.fail
}

func (f *fakeAPI) Logs(context.Context, string, client.LogOptions) (<-chan core.LogEntry, <-chan error) {
	return f.logs, f.logErrs
}

// fanOutEvent is a running event: the worker started at t0, a finished
// job, a running one and one not started yet; now is t0+10s.
func fanOutEvent() *core.Event {
	job := func(name string, created, started, ended *time.Time, phase core.JobPhase) core.Job {
		return core.Job{Name: name, Created: created, Status: &core.JobStatus{Started: started, Ended: ended, Phase: phase}}
	}
	return &core.Event{
		Metadata: core.ObjectMeta{ID: "ev-1", Created: at(-1)}, ProjectID: "demo", Source: "brigade.sh/cli", Type: "exec",
		Worker: &core.Worker{
			Status: core.WorkerStatus{Started: at(0), Phase: core.PhaseRunning},
			Jobs: []core.Job{
				job("short", at(1), at(1), at(3), core.PhaseSucceeded),
				job("long", at(1), at(2), nil, core.PhaseRunning),
				{Name: "later", Created: at(5)},
			},
		},
	}
}

// testModel is a model over api, 100×24, at t0+10s.
func testModel(api API, o Options) *model {
	o.API, o.Now = api, func() time.Time { return *at(10) }
	m := newModel(context.Background(), o, newStyles(true))
	m.Update(tea.WindowSizeMsg{Width: 100, Height: 24})
	return m
}

// run feeds m a command's message (and the messages of a batch), as the
// program would, except ticks, which would wait.
func run(m *model, cmd tea.Cmd) {
	if cmd == nil {
		return
	}
	msg := cmd()
	if batch, ok := msg.(tea.BatchMsg); ok {
		for _, c := range batch {
			run(m, c)
		}
		return
	}
	if _, ok := msg.(tickMsg); ok {
		return
	}
	_, next := m.Update(msg)
	run(m, next)
}

func press(m *model, keys ...string) {
	for _, k := range keys {
		var msg tea.KeyPressMsg
		switch k {
		case "enter":
			msg = tea.KeyPressMsg{Code: tea.KeyEnter}
		case "esc":
			msg = tea.KeyPressMsg{Code: tea.KeyEsc}
		case "down":
			msg = tea.KeyPressMsg{Code: tea.KeyDown}
		case "up":
			msg = tea.KeyPressMsg{Code: tea.KeyUp}
		default:
			msg = tea.KeyPressMsg{Code: []rune(k)[0], Text: k}
		}
		_, cmd := m.Update(msg)
		run(m, cmd)
	}
}

// screenOf is what m shows, without its colours.
func screenOf(m *model) []string {
	v := m.View()
	if !v.AltScreen {
		panic("not on the alternate screen")
	}
	return strings.Split(ansi.Strip(v.Content), "\n")
}

func TestTimelineView(t *testing.T) {
	api := &fakeAPI{event: fanOutEvent()}
	m := testModel(api, Options{Event: "ev-1"})
	run(m, m.fetch())
	lines := screenOf(m)
	if len(lines) != 24 {
		t.Fatalf("%d lines, want 24", len(lines))
	}
	// 100 columns: 2 cursor, 6 name, " │", 63 cells (6.3 a second), "│ ",
	// phase, " ", ran. The summary is cut to the width.
	want := []string{
		"brig term  http://brigade.test",
		"Projects › demo › event ev-1",
		"brigade.sh/cli exec · RUNNING · created 11s ago · ran 10s · 3 jobs: 1 PENDING, 1 RUNNING, 1 SUCCEED…",
		"",
		"         ├0s─────────────┼───────────────┼───────────────┼────────────10s┤ PHASE             RAN",
		"▸ worker │███████████████████████████████████████████████████████████████│ RUNNING           10s",
		"  short  │      ████████████                                             │ SUCCEEDED         2.0s",
		"  long   │      ░░░░░░███████████████████████████████████████████████████│ RUNNING           8.0s",
		"  later  │                               ░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░░│ PENDING           -",
	}
	for i, w := range want {
		if got := strings.TrimRight(lines[i], " "); got != w {
			t.Errorf("line %d:\n got %q\nwant %q", i, got, w)
		}
	}
	if !strings.HasPrefix(lines[23], "↑/↓ move · enter log") {
		t.Errorf("key line %q", lines[23])
	}
	for i, l := range lines {
		if w := ansi.StringWidth(l); w != 100 {
			t.Errorf("line %d is %d cells wide: %q", i, w, l)
		}
	}
}

// TestTimelineNarrow: on a narrow terminal the bars keep what room there is
// and no line is wider than the screen.
func TestTimelineNarrow(t *testing.T) {
	for _, width := range []int{1, 10, 20, 40} {
		m := testModel(&fakeAPI{event: fanOutEvent()}, Options{Event: "ev-1"})
		m.Update(tea.WindowSizeMsg{Width: width, Height: 6})
		run(m, m.fetch())
		lines := screenOf(m)
		if len(lines) != 6 {
			t.Errorf("width %d: %d lines", width, len(lines))
		}
		for i, l := range lines {
			if w := ansi.StringWidth(l); w != width {
				t.Errorf("width %d: line %d is %d cells: %q", width, i, w, l)
			}
		}
	}
	m := testModel(&fakeAPI{event: fanOutEvent()}, Options{Event: "ev-1"})
	m.Update(tea.WindowSizeMsg{Width: 40, Height: 12})
	run(m, m.fetch())
	// 40 columns: no room for the phase; the bars take what is left.
	if got := screenOf(m)[5]; got != "▸ worker │█████████████████████████████│" {
		t.Errorf("narrow worker row %q", got)
	}
}

func TestNavigation(t *testing.T) {
	api := &fakeAPI{
		projects: []core.Project{{Metadata: core.ObjectMeta{ID: "alpha"}, Description: "First"},
			{Metadata: core.ObjectMeta{ID: "demo", Created: at(-120)}, Description: "The demo"}},
		events: []core.Event{{Metadata: core.ObjectMeta{ID: "ev-1", Created: at(-1)}, ProjectID: "demo", Source: "brigade.sh/cli", Type: "exec",
			Worker: &core.Worker{Status: core.WorkerStatus{Started: at(0), Phase: core.PhaseRunning}}}},
		event: fanOutEvent(),
	}
	m := testModel(api, Options{})
	run(m, m.Init())
	screen := strings.Join(screenOf(m), "\n")
	if !strings.Contains(screen, "▸ alpha") || !strings.Contains(screen, "  demo") || !strings.Contains(screen, "The demo") ||
		!strings.Contains(screen, "2m ago") {
		t.Fatalf("projects:\n%s", screen)
	}
	press(m, "j", "enter")
	screen = strings.Join(screenOf(m), "\n")
	if m.screen != eventsScreen || m.project != "demo" || !strings.Contains(screen, "Projects › demo") ||
		!strings.Contains(screen, "▸ ev-1") || !strings.Contains(screen, "RUNNING") || !strings.Contains(screen, "11s ago") {
		t.Fatalf("events:\n%s", screen)
	}
	press(m, "enter", "j", "j")
	if m.screen != timelineScreen || m.rowCur != 2 {
		t.Fatalf("screen %v, row %d", m.screen, m.rowCur)
	}
	press(m, "j", "j", "j") // stops at the last row
	if m.rowCur != 3 {
		t.Fatalf("row %d after the end", m.rowCur)
	}
	press(m, "esc")
	if m.screen != eventsScreen {
		t.Fatalf("esc from the timeline: %v", m.screen)
	}
	press(m, "esc", "esc") // the projects screen stays
	if m.screen != projectsScreen || m.projectCur != 1 {
		t.Fatalf("esc from the events: %v, cursor %d", m.screen, m.projectCur)
	}
	press(m, "?")
	if screen := strings.Join(screenOf(m), "\n"); !strings.Contains(screen, "Keys") || !strings.Contains(screen, "cancel the event") {
		t.Fatalf("help:\n%s", screen)
	}
	press(m, "j") // any key closes the help, and does nothing else
	if m.help || m.projectCur != 1 {
		t.Fatalf("help %v, cursor %d", m.help, m.projectCur)
	}
}

// TestStaleReply: what was fetched for a screen that was left is dropped.
func TestStaleReply(t *testing.T) {
	m := testModel(&fakeAPI{}, Options{Project: "demo"})
	old := m.gen
	press(m, "esc")
	m.Update(eventsMsg{gen: old, items: []core.Event{{Metadata: core.ObjectMeta{ID: "stale"}}}})
	m.Update(eventsMsg{gen: old, err: errors.New("stale failure")})
	if m.events != nil || m.err != nil || m.screen != projectsScreen {
		t.Fatalf("a stale reply was taken: %v %v", m.events, m.err)
	}
}

func TestCancelAndRetry(t *testing.T) {
	api := &fakeAPI{event: fanOutEvent()}
	m := testModel(api, Options{Event: "ev-1"})
	run(m, m.fetch())
	press(m, "c")
	if last := screenOf(m)[22]; !strings.Contains(last, "Cancel event ev-1? y cancels it") {
		t.Fatalf("no question: %q", last)
	}
	press(m, "n")
	if len(api.canceled) != 0 || m.status != "Not canceled." {
		t.Fatalf("canceled %v after n, status %q", api.canceled, m.status)
	}
	press(m, "c", "y")
	if len(api.canceled) != 1 || api.canceled[0] != "ev-1" || m.status != "Canceled event ev-1." {
		t.Fatalf("canceled %v, status %q", api.canceled, m.status)
	}
	press(m, "r")
	if len(api.retried) != 1 || m.eventID != "ev-1-retry" || m.screen != timelineScreen ||
		m.status != "Retried event ev-1 as ev-1-retry." {
		t.Fatalf("retried %v, showing %q, status %q", api.retried, m.eventID, m.status)
	}
	// A refusal shows the server's words.
	api.fail = errors.New("Event ev-1 has already finished.")
	press(m, "c", "y")
	if last := screenOf(m)[22]; !strings.Contains(last, "Event ev-1 has already finished.") {
		t.Fatalf("refusal not shown: %q", last)
	}
}

func TestLogView(t *testing.T) {
	api := &fakeAPI{event: fanOutEvent(), logs: make(chan core.LogEntry, 100), logErrs: make(chan error, 1)}
	for i := range 30 {
		api.logs <- core.LogEntry{Message: "line " + string(rune('a'+i%26)) + "\t\x1b[31mred\x1b[0m\r"}
	}
	m := testModel(api, Options{Event: "ev-1"})
	run(m, m.fetch())
	_, cmd := m.Update(tea.KeyPressMsg{Code: tea.KeyDown})
	run(m, cmd)
	_, cmd = m.Update(tea.KeyPressMsg{Code: tea.KeyEnter})
	// Run the fetch and the first read, not the next read (it would wait).
	for _, c := range cmd().(tea.BatchMsg) {
		msg := c()
		if lm, ok := msg.(logMsg); ok {
			m.Update(logMsg{gen: lm.gen, lines: lm.lines})
			continue
		}
		m.Update(msg)
	}
	lines := screenOf(m)
	if m.screen != logsScreen || m.logs.job != "short" || !strings.Contains(lines[1], "log of job short") ||
		!strings.Contains(lines[2], "SUCCEEDED · 30 lines · following") {
		t.Fatalf("log screen:\n%s", strings.Join(lines, "\n"))
	}
	// The newest lines show, cleaned of tabs and colour codes.
	if got := strings.TrimRight(lines[21], " "); got != "line d    red" {
		t.Fatalf("last line %q", got)
	}
	press(m, "k", "k")
	if got := strings.TrimRight(screenOf(m)[21], " "); got != "line b    red" || !strings.Contains(screenOf(m)[2], "scrolled back 2 lines") {
		t.Fatalf("scrolled back: %q", got)
	}
	m.Update(logMsg{gen: m.gen, lines: []string{"new"}, done: true})
	if got := strings.TrimRight(screenOf(m)[21], " "); got != "line b    red" {
		t.Fatalf("a new line moved the scrolled view: %q", got)
	}
	press(m, "G")
	if got := strings.TrimRight(screenOf(m)[21], " "); got != "new" || !strings.Contains(screenOf(m)[2], "· ended") {
		t.Fatalf("G: %q, %q", got, screenOf(m)[2])
	}
	press(m, "esc")
	if m.screen != timelineScreen || m.logs.cancel != nil {
		t.Fatalf("esc from the log: %v, stream left open %v", m.screen, m.logs.cancel != nil)
	}
}

// TestListKeepsTheSelection: when a refresh brings a new event on top, the
// cursor stays on the event it was on.
func TestListKeepsTheSelection(t *testing.T) {
	ev := func(id string) core.Event {
		return core.Event{Metadata: core.ObjectMeta{ID: id}, ProjectID: "demo", Worker: &core.Worker{}}
	}
	api := &fakeAPI{events: []core.Event{ev("b"), ev("a")}}
	m := testModel(api, Options{Project: "demo"})
	run(m, m.fetch())
	press(m, "j")
	api.events = []core.Event{ev("c"), ev("b"), ev("a")}
	run(m, m.fetch())
	if m.eventCur != 2 || m.events[m.eventCur].Metadata.ID != "a" {
		t.Fatalf("cursor at %d", m.eventCur)
	}
	api.events = []core.Event{ev("c")} // a was deleted
	run(m, m.fetch())
	if m.eventCur != 0 {
		t.Fatalf("cursor at %d of 1", m.eventCur)
	}
}

// TestUnknownEvent: opened on an event that does not exist, the UI says so
// and esc goes to the projects.
func TestUnknownEvent(t *testing.T) {
	api := &fakeAPI{fail: errors.New(`Event "nope" not found.`)}
	m := testModel(api, Options{Event: "nope"})
	run(m, m.fetch())
	if lines := screenOf(m); !strings.Contains(lines[22], `Event "nope" not found.`) || !strings.Contains(lines[3], "Loading event") {
		t.Fatalf("screen:\n%s", strings.Join(lines, "\n"))
	}
	api.fail = nil
	press(m, "esc")
	if m.screen != projectsScreen || m.err != nil {
		t.Fatalf("esc: screen %v, err %v", m.screen, m.err)
	}
}

// TestEventsNarrow: on an 80-column terminal the events keep every column,
// with the IDs cut.
func TestEventsNarrow(t *testing.T) {
	api := &fakeAPI{events: []core.Event{{Metadata: core.ObjectMeta{ID: "01a235ca-1ea8-7582-829e-d45815f2dd86", Created: at(-1)},
		ProjectID: "demo", Source: "brigade.sh/cli", Type: "exec",
		Worker: &core.Worker{Status: core.WorkerStatus{Started: at(0), Ended: at(4), Phase: core.PhaseFailed}}}}}
	m := testModel(api, Options{Project: "demo"})
	m.Update(tea.WindowSizeMsg{Width: 80, Height: 10})
	run(m, m.fetch())
	lines := screenOf(m)
	want := []string{
		"  ID              SOURCE / TYPE            PHASE              CREATED    RAN",
		"▸ 01a235ca-1ea8…  brigade.sh/cli exec      FAILED             11s ago    4.0s",
	}
	for i, w := range want {
		if got := strings.TrimRight(lines[3+i], " "); got != w {
			t.Errorf("line %d:\n got %q\nwant %q", 3+i, got, w)
		}
	}
}
