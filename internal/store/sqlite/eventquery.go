package sqlite

import (
	"slices"
	"strconv"
	"strings"

	"github.com/brigadeplatform/brigade/internal/core"
)

// selectorSQL turns an event selector into a WHERE condition on events.
// Map selectors match inside the stored document: each given pair must be
// present with that value (json_each, so keys with dots or slashes need no
// quoting).
func selectorSQL(sel core.EventSelector) (string, []any) {
	conds := []string{"1 = 1"}
	var args []any
	eq := func(col, v string) {
		if v != "" {
			conds = append(conds, col+" = ?")
			args = append(args, v)
		}
	}
	eq("project_id", sel.ProjectID)
	eq("source", sel.Source)
	eq("type", sel.Type)
	if len(sel.WorkerPhases) > 0 {
		conds = append(conds, "phase IN ("+placeholders(len(sel.WorkerPhases))+")")
		for _, p := range sel.WorkerPhases {
			args = append(args, string(p))
		}
	}
	pairs := func(path string, m map[string]string) {
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			conds = append(conds, `EXISTS (SELECT 1 FROM json_each(events.doc, '`+path+`') WHERE key = ? AND value = ?)`)
			args = append(args, k, m[k])
		}
	}
	pairs("$.qualifiers", sel.Qualifiers)
	pairs("$.labels", sel.Labels)
	pairs("$.sourceState.state", sel.SourceState)
	return strings.Join(conds, " AND "), args
}

// eventCursor is a position in the event order (created desc, id asc),
// written `<createdUnixNanos>:<id>`.
type eventCursor struct {
	createdNS int64
	id        string
}

func (c eventCursor) String() string { return strconv.FormatInt(c.createdNS, 10) + ":" + c.id }

func parseEventCursor(s string) (eventCursor, error) {
	ns, id, ok := strings.Cut(s, ":")
	if !ok || id == "" {
		return eventCursor{}, badCursor(s)
	}
	n, err := strconv.ParseInt(ns, 10, 64)
	if err != nil {
		return eventCursor{}, badCursor(s)
	}
	return eventCursor{createdNS: n, id: id}, nil
}

// after narrows a condition to the events that come after c.
func (c eventCursor) after(where string, args []any) (string, []any) {
	return where + " AND (created_ns < ? OR (created_ns = ? AND id > ?))",
		append(args, c.createdNS, c.createdNS, c.id)
}
