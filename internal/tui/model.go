package tui

import (
	"context"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/brigadeplatform/brigade/internal/client"
	"github.com/brigadeplatform/brigade/internal/core"
)

// screen is what the UI shows; each one opens the next with enter and
// goes back with esc.
type screen int

const (
	projectsScreen screen = iota
	eventsScreen
	timelineScreen
	logsScreen
)

// listLimit is the page size of the lists (the API's largest). The events
// screen shows the newest page; the projects screen up to maxProjectPages.
const (
	listLimit       = 100
	maxProjectPages = 10
)

// requestTimeout bounds one fetch, so that a server that stops answering
// shows as an error instead of a screen that silently stops moving.
const requestTimeout = 30 * time.Second

// maxLogLines is how many log lines the log screen keeps (the oldest go).
const maxLogLines = 20000

// model is the UI's state. Update is its only writer.
type model struct {
	ctx   context.Context
	api   API
	now   func() time.Time
	every time.Duration
	st    styles

	width, height int
	screen        screen
	// gen counts navigations: a reply fetched for an earlier screen is
	// dropped.
	gen int

	projects   []core.Project
	projectsOK bool
	projectCur int
	project    string // the project whose events are shown
	events     []core.Event
	eventsOK   bool
	eventCur   int
	eventID    string      // the event whose timeline or log is shown
	event      *core.Event // as last fetched
	rowCur     int         // 0 is the worker, i+1 the event's job i

	logs logState

	// fetching says a fetch for the current screen is under way, so the
	// poll does not pile requests onto a slow server.
	fetching bool
	// confirm, when set, is the event the user is asked to cancel.
	confirm string
	help    bool
	status  string // the last action's outcome
	err     error  // the last failure, until the next success
}

// logState is the log screen's: the stream being read and what came.
type logState struct {
	job    string // "" for the worker
	lines  []string
	back   int // lines scrolled back from the end; 0 follows the end
	done   bool
	err    error
	cancel context.CancelFunc

	entries <-chan core.LogEntry
	errs    <-chan error
}

func newModel(ctx context.Context, o Options, st styles) *model {
	m := &model{ctx: ctx, api: o.API, now: o.Now, every: o.PollEvery, st: st, width: 80, height: 24}
	if m.now == nil {
		m.now = time.Now
	}
	if m.every <= 0 {
		m.every = time.Second
	}
	switch {
	case o.Event != "":
		m.screen, m.eventID = timelineScreen, o.Event
	case o.Project != "":
		m.screen, m.project = eventsScreen, o.Project
	}
	return m
}

// Messages.
type (
	tickMsg     struct{}
	projectsMsg struct {
		gen   int
		items []core.Project
		err   error
	}
	eventsMsg struct {
		gen   int
		items []core.Event
		err   error
	}
	eventMsg struct {
		gen   int
		event *core.Event
		err   error
	}
	logMsg struct {
		gen   int
		lines []string
		done  bool
		err   error
	}
	// actionMsg is the outcome of cancel or retry; open, if set, is an
	// event to show (the retry).
	actionMsg struct {
		text string
		open string
		err  error
	}
)

func (m *model) Init() tea.Cmd {
	return tea.Batch(m.tick(), m.fetch())
}

func (m *model) tick() tea.Cmd {
	return tea.Tick(m.every, func(time.Time) tea.Msg { return tickMsg{} })
}

// fetch asks again for what the current screen shows.
func (m *model) fetch() tea.Cmd {
	m.fetching = true
	parent, get := m.ctx, m.fetcher()
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(parent, requestTimeout)
		defer cancel()
		return get(ctx)
	}
}

// fetcher is what fetch runs for the current screen.
func (m *model) fetcher() func(context.Context) tea.Msg {
	api, gen := m.api, m.gen
	switch m.screen {
	case projectsScreen:
		return func(ctx context.Context) tea.Msg {
			var items []core.Project
			opts := &client.ListOptions{Limit: listLimit}
			for range maxProjectPages {
				l, err := api.ListProjects(ctx, opts)
				if err != nil {
					return projectsMsg{gen: gen, err: err}
				}
				items = append(items, l.Items...)
				if opts.Continue = l.Metadata.Continue; opts.Continue == "" {
					break
				}
			}
			return projectsMsg{gen: gen, items: items}
		}
	case eventsScreen:
		project := m.project
		return func(ctx context.Context) tea.Msg {
			l, err := api.ListEvents(ctx, &client.EventSelector{ProjectID: project}, &client.ListOptions{Limit: listLimit})
			if err != nil {
				return eventsMsg{gen: gen, err: err}
			}
			return eventsMsg{gen: gen, items: l.Items}
		}
	default:
		id := m.eventID
		return func(ctx context.Context) tea.Msg {
			e, err := api.GetEvent(ctx, id)
			return eventMsg{gen: gen, event: e, err: err}
		}
	}
}

func (m *model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
		return m, nil
	case tea.KeyPressMsg:
		return m, m.key(msg.String())
	case tickMsg:
		if m.fetching {
			return m, m.tick()
		}
		return m, tea.Batch(m.tick(), m.fetch())
	case projectsMsg:
		if m.reply(msg.gen, msg.err) {
			m.projectCur = reselect(m.projects, m.projectCur, msg.items, func(p core.Project) string { return p.Metadata.ID })
			m.projects, m.projectsOK = msg.items, true
		}
	case eventsMsg:
		if m.reply(msg.gen, msg.err) {
			m.eventCur = reselect(m.events, m.eventCur, msg.items, func(e core.Event) string { return e.Metadata.ID })
			m.events, m.eventsOK = msg.items, true
		}
	case eventMsg:
		if m.reply(msg.gen, msg.err) {
			m.event = msg.event
			if m.project == "" {
				m.project = msg.event.ProjectID
			}
			m.rowCur = clampCursor(m.rowCur, 1+len(m.jobs()))
		}
	case logMsg:
		return m, m.gotLogs(msg)
	case actionMsg:
		m.status, m.err = msg.text, msg.err
		if msg.open != "" && (m.screen == timelineScreen || m.screen == logsScreen) {
			return m, m.openEvent(msg.open)
		}
		return m, m.fetch()
	}
	return m, nil
}

// reply takes a fetch's outcome for screen generation gen; it says whether
// it is the current screen's and succeeded.
func (m *model) reply(gen int, err error) bool {
	if gen != m.gen {
		return false
	}
	m.fetching = false
	if err != nil {
		m.err = err
		return false
	}
	m.err = nil
	return true
}

// jobs are the shown event's jobs.
func (m *model) jobs() []core.Job {
	if m.event == nil || m.event.Worker == nil {
		return nil
	}
	return m.event.Worker.Jobs
}

// reselect is where the cursor goes in a refreshed list: on the item it
// was on, wherever that moved (new events come in on top), else as near
// its old place as the list allows.
func reselect[T any](old []T, cur int, items []T, id func(T) string) int {
	if cur >= 0 && cur < len(old) {
		want := id(old[cur])
		for i, it := range items {
			if id(it) == want {
				return i
			}
		}
	}
	return clampCursor(cur, len(items))
}

func clampCursor(cur, n int) int {
	return max(0, min(cur, n-1))
}

// navigate shows another screen: what was fetched for the old one no
// longer applies.
func (m *model) navigate(s screen) tea.Cmd {
	m.stopLogs()
	m.screen = s
	m.gen++
	m.fetching = false
	m.err = nil
	return m.fetch()
}

func (m *model) openEvent(id string) tea.Cmd {
	m.eventID, m.event, m.rowCur = id, nil, 0
	return m.navigate(timelineScreen)
}

// key handles one key press.
func (m *model) key(k string) tea.Cmd {
	if k == "ctrl+c" {
		return tea.Quit
	}
	if m.confirm != "" {
		id := m.confirm
		m.confirm = ""
		if k != "y" && k != "Y" {
			m.status = "Not canceled."
			return nil
		}
		return m.cancelEvent(id)
	}
	if m.help {
		m.help = false
		if k == "q" {
			return tea.Quit
		}
		return nil
	}
	switch k {
	case "q":
		return tea.Quit
	case "?":
		m.help = true
		return nil
	case "R", "ctrl+r":
		m.status = ""
		return m.fetch()
	case "esc", "backspace", "left", "h":
		return m.back()
	case "enter", "right", "l":
		return m.open()
	case "c":
		if id := m.targetEvent(); id != "" {
			m.confirm = id
		}
		return nil
	case "r":
		if id := m.targetEvent(); id != "" {
			return m.retryEvent(id)
		}
		return nil
	}
	m.move(k)
	return nil
}

// back goes to the screen before.
func (m *model) back() tea.Cmd {
	switch m.screen {
	case eventsScreen:
		return m.navigate(projectsScreen)
	case timelineScreen:
		if m.project == "" {
			// Opened on an event that could not be fetched.
			return m.navigate(projectsScreen)
		}
		return m.navigate(eventsScreen)
	case logsScreen:
		return m.navigate(timelineScreen)
	}
	return nil
}

// open goes to the screen of what the cursor is on.
func (m *model) open() tea.Cmd {
	switch m.screen {
	case projectsScreen:
		if len(m.projects) == 0 {
			return nil
		}
		p := m.projects[m.projectCur].Metadata.ID
		if p != m.project {
			m.events, m.eventsOK, m.eventCur = nil, false, 0
		}
		m.project = p
		return m.navigate(eventsScreen)
	case eventsScreen:
		if len(m.events) == 0 {
			return nil
		}
		return m.openEvent(m.events[m.eventCur].Metadata.ID)
	case timelineScreen:
		if m.event == nil {
			return nil
		}
		job := ""
		if m.rowCur > 0 {
			job = m.jobs()[m.rowCur-1].Name
		}
		return m.openLogs(job)
	}
	return nil
}

// move moves the cursor (or, on the log screen, scrolls).
func (m *model) move(k string) {
	page := max(m.height-8, 1)
	delta := 0
	switch k {
	case "up", "k":
		delta = -1
	case "down", "j":
		delta = 1
	case "pgup", "ctrl+b":
		delta = -page
	case "pgdown", "ctrl+f", "space":
		delta = page
	case "home", "g":
		delta = -1 << 30
	case "end", "G":
		delta = 1 << 30
	default:
		return
	}
	switch m.screen {
	case projectsScreen:
		m.projectCur = clampCursor(m.projectCur+delta, len(m.projects))
	case eventsScreen:
		m.eventCur = clampCursor(m.eventCur+delta, len(m.events))
	case timelineScreen:
		m.rowCur = clampCursor(m.rowCur+delta, 1+len(m.jobs()))
	case logsScreen:
		// Up scrolls back; the end follows again.
		m.logs.back = max(0, min(m.logs.back-delta, len(m.logs.lines)-1))
	}
}

// targetEvent is the event cancel and retry act on: the selected one in
// the list, else the one shown.
func (m *model) targetEvent() string {
	switch m.screen {
	case projectsScreen:
		return ""
	case eventsScreen:
		if len(m.events) == 0 {
			return ""
		}
		return m.events[m.eventCur].Metadata.ID
	}
	return m.eventID
}

func (m *model) cancelEvent(id string) tea.Cmd {
	ctx, api := m.ctx, m.api
	m.status = "Canceling event " + id + "…"
	return func() tea.Msg {
		if err := api.CancelEvent(ctx, id); err != nil {
			return actionMsg{err: err}
		}
		return actionMsg{text: "Canceled event " + id + "."}
	}
}

func (m *model) retryEvent(id string) tea.Cmd {
	ctx, api := m.ctx, m.api
	m.status = "Retrying event " + id + "…"
	return func() tea.Msg {
		e, err := api.RetryEvent(ctx, id)
		if err != nil {
			return actionMsg{err: err}
		}
		return actionMsg{text: "Retried event " + id + " as " + e.Metadata.ID + ".", open: e.Metadata.ID}
	}
}
