package tui

import (
	"fmt"
	"sort"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/brigadeplatform/brigade/internal/core"
)

// Column widths.
const (
	phaseWidth = len(core.PhaseSchedulingFailed)
	ranWidth   = 7
	idWidth    = 36 // an event ID
	ageWidth   = 9
	gap        = "  "
)

func (m *model) View() tea.View {
	v := tea.NewView(m.screenText())
	v.AltScreen = true
	v.WindowTitle = "brig term"
	return v
}

// screenText is the whole screen, height lines of width cells.
func (m *model) screenText() string {
	head := []string{m.st.title.Render("brig term") + "  " + m.st.dim.Render(m.api.Address()), m.crumbs()}
	var body []string
	switch {
	case m.help:
		body = m.helpBody()
	case m.screen == projectsScreen:
		body = m.projectsBody()
	case m.screen == eventsScreen:
		body = m.eventsBody()
	case m.screen == timelineScreen:
		body = m.timelineBody()
	default:
		body = m.logsBody()
	}
	return m.frame(head, body)
}

// frame puts the header on top, the status and key lines at the bottom,
// and as much of body as fits between; every line fits the width.
func (m *model) frame(head, body []string) string {
	foot := []string{m.statusLine(), m.st.dim.Render(m.keyHints())}
	room := max(m.height-len(head)-len(foot), 0)
	if len(body) > room {
		body = body[:room]
	}
	lines := make([]string, 0, m.height)
	lines = append(lines, head...)
	lines = append(lines, body...)
	for len(lines) < m.height-len(foot) {
		lines = append(lines, "")
	}
	lines = append(lines, foot...)
	if len(lines) > m.height {
		lines = lines[:max(m.height, 0)]
	}
	for i, l := range lines {
		lines[i] = cell(l, m.width)
	}
	return strings.Join(lines, "\n")
}

func (m *model) crumbs() string {
	parts := []string{"Projects"}
	if m.screen >= eventsScreen && m.project != "" {
		parts = append(parts, m.project)
	}
	if m.screen >= timelineScreen {
		parts = append(parts, "event "+m.eventID)
	}
	if m.screen == logsScreen {
		if m.logs.job == "" {
			parts = append(parts, "worker log")
		} else {
			parts = append(parts, "log of job "+m.logs.job)
		}
	}
	return m.st.title.Render(strings.Join(parts, " › "))
}

func (m *model) statusLine() string {
	switch {
	case m.confirm != "":
		return m.st.key.Render("Cancel event " + m.confirm + "? y cancels it, any other key keeps it.")
	case m.err != nil:
		return m.st.errText.Render(m.err.Error())
	}
	return m.status
}

func (m *model) keyHints() string {
	switch m.screen {
	case projectsScreen:
		return "↑/↓ move · enter events · R refresh · ? help · q quit"
	case eventsScreen:
		return "↑/↓ move · enter timeline · esc projects · c cancel · r retry · R refresh · ? help · q quit"
	case timelineScreen:
		return "↑/↓ move · enter log · esc events · c cancel · r retry · R refresh · ? help · q quit"
	}
	return "↑/↓ scroll · G follow · esc timeline · c cancel · r retry · ? help · q quit"
}

func (m *model) helpBody() []string {
	keys := [][2]string{
		{"enter, →, l", "open: a project's events, an event's timeline, a job's log"},
		{"esc, ←, h", "back to the screen before"},
		{"↑/↓, k/j", "move (on a log: scroll)"},
		{"pgup/pgdn", "a page up or down"},
		{"g/G", "the top or the end (on a log, G follows it again)"},
		{"c", "cancel the event (asks first)"},
		{"r", "retry the event (a finished one): opens the retry"},
		{"R, ctrl+r", "refresh now (everything refreshes every second anyway)"},
		{"?", "this help; any key closes it"},
		{"q, ctrl+c", "quit"},
	}
	lines := []string{"", m.st.title.Render("Keys"), ""}
	for _, k := range keys {
		lines = append(lines, "  "+m.st.key.Render(cell(k[0], 14))+k[1])
	}
	lines = append(lines, "", "The timeline draws one bar per job on a shared time axis, from the worker's start to its end",
		"(or now): ░ created and waiting to start, █ running or ran; coloured by phase.")
	return lines
}

// row draws a list row: the cursor mark, then cells of the given widths.
func row(selected bool, widths []int, cells ...string) string {
	mark := "  "
	if selected {
		mark = "▸ "
	}
	parts := make([]string, len(cells))
	for i, c := range cells {
		parts[i] = cell(c, widths[i])
	}
	return mark + strings.Join(parts, gap)
}

// flex is what is left of the width for one flexible column after the
// fixed ones, the cursor mark and the gaps (at least 8).
func (m *model) flex(fixed ...int) int {
	w := m.width - 2 - len(gap)*len(fixed)
	for _, f := range fixed {
		w -= f
	}
	return max(w, 8)
}

// window is the part of a list of n rows that shows in room lines, keeping
// the cursor in view.
func window(cur, n, room int) (from, to int) {
	if room <= 0 {
		return 0, 0
	}
	from = max(0, cur-room+1)
	return from, min(n, from+room)
}

func (m *model) listRoom(used int) int { return m.height - 4 - used }

func (m *model) projectsBody() []string {
	if !m.projectsOK {
		return []string{"", "Loading projects…"}
	}
	if len(m.projects) == 0 {
		return []string{"", "No projects yet: create one with `brig project create`."}
	}
	idW := 24
	descW := m.flex(idW, ageWidth)
	widths := []int{idW, descW, ageWidth}
	lines := []string{"", m.st.dim.Render(row(false, widths, "ID", "DESCRIPTION", "CREATED"))}
	now := m.now()
	from, to := window(m.projectCur, len(m.projects), m.listRoom(len(lines)))
	for i := from; i < to; i++ {
		p := m.projects[i]
		lines = append(lines, row(i == m.projectCur, widths, p.Metadata.ID, p.Description, ago(p.Metadata.Created, now)))
	}
	return lines
}

func (m *model) eventsBody() []string {
	if !m.eventsOK {
		return []string{"", "Loading events…"}
	}
	if len(m.events) == 0 {
		return []string{"", "No events for this project yet: `brig event create -p " + m.project + "` sends one."}
	}
	// A whole event ID on a wide screen; its start (and "…") on a narrow one.
	idW := idWidth
	if m.width < 100 {
		idW = 14
	}
	typeW := m.flex(idW, phaseWidth, ageWidth, ranWidth)
	widths := []int{idW, typeW, phaseWidth, ageWidth, ranWidth}
	lines := []string{"", m.st.dim.Render(row(false, widths, "ID", "SOURCE / TYPE", "PHASE", "CREATED", "RAN"))}
	now := m.now()
	from, to := window(m.eventCur, len(m.events), m.listRoom(len(lines)))
	for i := from; i < to; i++ {
		e := m.events[i]
		var st core.WorkerStatus
		if e.Worker != nil {
			st = e.Worker.Status
		}
		lines = append(lines, row(i == m.eventCur, widths, e.Metadata.ID, e.Source+" "+e.Type,
			m.st.phase(st.Phase).Render(string(st.Phase)), ago(e.Metadata.Created, now), ran(st.Started, st.Ended, now)))
	}
	return lines
}

// timelineRow is one bar of the timeline.
type timelineRow struct {
	name string
	span Span
}

func (m *model) timelineBody() []string {
	e := m.event
	if e == nil {
		return []string{"", "Loading event…"}
	}
	now := m.now()
	var ws core.WorkerStatus
	if e.Worker != nil {
		ws = e.Worker.Status
	}
	rows := []timelineRow{{"worker", Span{Created: e.Metadata.Created, Started: ws.Started, Ended: ws.Ended, Phase: ws.Phase}}}
	for _, j := range m.jobs() {
		rows = append(rows, timelineRow{j.Name, jobSpan(j)})
	}
	sc := timeScale(rows, now)
	summary := fmt.Sprintf("%s %s · %s · created %s · ran %s · %s", e.Source, e.Type,
		m.st.phase(ws.Phase).Render(string(ws.Phase)), ago(e.Metadata.Created, now), ran(ws.Started, ws.Ended, now),
		jobCounts(m.jobs()))
	lines := []string{summary, ""}

	nameW := 6
	for _, r := range rows {
		nameW = max(nameW, len(r.name))
	}
	nameW = min(nameW, 30, max(m.width/4, 6))
	right := 1 + phaseWidth + 1 + ranWidth
	sc.Width = m.width - 2 - nameW - 1 - 2 - right
	if sc.Width < 10 {
		right = 0
		sc.Width = max(m.width-2-nameW-1-2, 1)
	}
	head := "  " + cell("", nameW) + " " + Axis(sc.End.Sub(sc.Start), sc.Width+2)
	if right > 0 {
		head += " " + cell("PHASE", phaseWidth) + " " + cell("RAN", ranWidth)
	}
	lines = append(lines, m.st.dim.Render(head))
	from, to := window(m.rowCur, len(rows), m.listRoom(len(lines)))
	for i := from; i < to; i++ {
		r := rows[i]
		style := m.st.phase(r.span.Phase)
		mark := "  "
		if i == m.rowCur {
			mark = "▸ "
		}
		drawn := style.Render(Bar(r.span, sc))
		if r.span.before(sc) {
			drawn = m.st.dim.Render(cell(" ran before this worker started: kept from the retried event", sc.Width))
		}
		line := mark + cell(r.name, nameW) + " │" + drawn + "│"
		if right > 0 {
			line += " " + cell(style.Render(string(r.span.Phase)), phaseWidth) + " " + cell(ran(r.span.Started, r.span.Ended, now), ranWidth)
		}
		lines = append(lines, line)
	}
	return lines
}

// timeScale is the timeline's axis: from the worker's start (its creation
// while it has not started) to its end, or now while it runs. The end is
// never before a time on a row (the server's clock may be ahead of this
// one) and always after the start.
func timeScale(rows []timelineRow, now time.Time) Scale {
	w := rows[0].span
	var sc Scale
	switch {
	case w.Started != nil:
		sc.Start = *w.Started
	case w.Created != nil:
		sc.Start = *w.Created
	default:
		sc.Start = now
	}
	sc.End = now
	if w.Ended != nil {
		sc.End = *w.Ended
	}
	for _, r := range rows {
		for _, t := range []*time.Time{r.span.Created, r.span.Started, r.span.Ended} {
			if t != nil && t.After(sc.End) {
				sc.End = *t
			}
		}
	}
	if !sc.End.After(sc.Start) {
		sc.End = sc.Start.Add(time.Second)
	}
	return sc
}

// jobCounts says how many jobs are in each phase: "21 jobs: 20 SUCCEEDED, 1 RUNNING".
func jobCounts(jobs []core.Job) string {
	if len(jobs) == 0 {
		return "no jobs"
	}
	n := map[core.JobPhase]int{}
	for _, j := range jobs {
		n[jobSpan(j).Phase]++
	}
	phases := make([]string, 0, len(n))
	for p := range n {
		phases = append(phases, string(p))
	}
	sort.Strings(phases)
	parts := make([]string, len(phases))
	for i, p := range phases {
		parts[i] = fmt.Sprintf("%d %s", n[core.JobPhase(p)], p)
	}
	noun := "jobs"
	if len(jobs) == 1 {
		noun = "job"
	}
	return fmt.Sprintf("%d %s: %s", len(jobs), noun, strings.Join(parts, ", "))
}

func (m *model) logsBody() []string {
	l := &m.logs
	phase := core.WorkerPhase("")
	if m.event != nil && m.event.Worker != nil {
		phase = m.event.Worker.Status.Phase
		for _, j := range m.jobs() {
			if j.Name == l.job {
				phase = jobSpan(j).Phase
			}
		}
	}
	state := "following"
	switch {
	case l.err != nil:
		state = m.st.errText.Render("the log stream failed: " + l.err.Error())
	case l.back > 0:
		state = fmt.Sprintf("scrolled back %d lines (G follows again)", l.back)
	case l.done:
		state = "ended"
	}
	lines := []string{fmt.Sprintf("%s · %d lines · %s", m.st.phase(phase).Render(string(phase)), len(l.lines), state), ""}
	room := max(m.listRoom(len(lines)), 0)
	end := len(l.lines) - l.back
	start := max(0, end-room)
	lines = append(lines, l.lines[start:end]...)
	if len(l.lines) == 0 && !l.done {
		lines = append(lines, m.st.dim.Render("Waiting for the first lines…"))
	}
	return lines
}
