package js

import (
	"fmt"

	"github.com/dop251/goja"
)

// dialect is one flavour of the brigadier module. Scripts pick one by the
// module name they require; a run uses at most one.
//
// A dialect is an embedded CommonJS program (see modules.go for its
// signature) written against the host bridge (bridge.go): createJob,
// waitJob, jobLogs, setSummary, log, write, logLevel, event, afterScript.
// The bridge is dialect-neutral; what differs between v1 and v2 (the shape
// of events and jobs, log formats, lifecycle events) lives in the dialect's
// JS, which can reach the loop's lifecycle through the process object:
// 'unhandledRejection', 'beforeExit' (v1's `after` event) and 'exit'.
//
// The module name alone picks the dialect. The original v1 worker also
// aliased "@brigadecore/brigadier" to its v1 module (docs/scripting.md,
// "Which brigadier a script gets"); we
// decided that name means v2 (the name v2 scripts pin), so a v1 script that
// requires "@brigadecore/brigadier" runs as v2. v1 scripts use "brigadier"
// (most of them), "@azure/brigadier" (the package's first name) or
// "brigade".
type dialect struct {
	name     string   // for messages
	modules  []string // module names that select it
	source   string   // embedded program (file under jslib/)
	logStyle logStyle // how the runtime prints its own error lines
}

// logStyle is how the runtime writes the lines it prints itself (unhandled
// rejections, uncaught exceptions) once a dialect is loaded.
type logStyle int

const (
	// styleWinston: "<ISO time> ERROR: <message>" (the v2 worker's winston
	// logger, docs/scripting.md "Logging"); an Error prints its message.
	styleWinston logStyle = iota
	// styleV1: "[brigade:app] <reason>" (the v1 worker's ContextLogger,
	// docs/scripting.md "Logging", which printed with console.error: an Error prints as
	// "Error: <message>" plus the script's own stack frames).
	styleV1
)

var dialects = []*dialect{
	{
		name:    "brigadier v2",
		modules: []string{"@brigadecore/brigadier"},
		source:  "brigadier_v2.js",
	},
	{
		name:     "brigadier v1",
		modules:  []string{"brigadier", "@azure/brigadier", "brigade"},
		source:   "brigadier_v1.js",
		logStyle: styleV1,
	},
}

// dialectFor returns the dialect a module name selects, or nil.
func dialectFor(module string) *dialect {
	for _, d := range dialects {
		for _, m := range d.modules {
			if m == module {
				return d
			}
		}
	}
	return nil
}

// externalModules lists the module names esbuild must leave as require()
// calls: every dialect's names (served by requireDialect).
func externalModules() []string {
	var out []string
	for _, d := range dialects {
		out = append(out, d.modules...)
	}
	return out
}

// requireDialect serves require() of a brigadier module name.
func (s *session) requireDialect(d *dialect, name string) (goja.Value, error) {
	if s.dialect != nil && s.dialect != d {
		return nil, fmt.Errorf("cannot load %q (%s): the script already uses %s, and one script can use only one", name, d.name, s.dialect.name)
	}
	s.dialect = d
	key := "dialect:" + d.name
	if v, ok := s.modules[key]; ok {
		return v, nil
	}
	v, err := s.loadEmbedded(d.source, s.bridge())
	if err != nil {
		return nil, err
	}
	s.modules[key] = v
	return v, nil
}
