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
// waitJob, jobLogs, setSummary, log, event. The bridge is dialect-neutral;
// what differs between v1 and v2 (the shape of events and jobs, log
// formats, lifecycle events) lives in the dialect's JS, which can reach the
// loop's lifecycle through the process object: 'unhandledRejection',
// 'beforeExit' (v1's `after` event) and 'exit'.
//
// Adding v1 (reference Part 2): write brigadier_v1.js, add an entry here
// with load set. v1 and v2 share the name "@brigadecore/brigadier"; when v1
// lands, that name must be disambiguated (e.g. by the version pinned in
// package.json, or a hint from the worker), which is why selection goes
// through dialectFor.
type dialect struct {
	name    string   // for messages
	modules []string // module names that select it
	source  string   // embedded program (file under js/), "" if unsupported
	missing string   // why it cannot be used, when source is ""
}

var dialects = []*dialect{
	{
		name:    "brigadier v2",
		modules: []string{"@brigadecore/brigadier"},
		source:  "brigadier_v2.js",
	},
	{
		// Not implemented yet: a v1 script fails with a clear message at
		// its require() instead of a confusing build error.
		name:    "brigadier v1",
		modules: []string{"brigadier", "brigade"},
		missing: "Brigade v1 scripts (require(\"brigadier\")) are not supported yet; " +
			"use @brigadecore/brigadier (Brigade v2)",
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
	if d.source == "" {
		return nil, fmt.Errorf("cannot load %q: %s", name, d.missing)
	}
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
