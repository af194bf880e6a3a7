package httpapi

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/brigadeplatform/brigade/internal/core"
)

// queryBool parses a boolean the way Go does (1, t, T, TRUE, true, True);
// anything else is false.
func queryBool(r *http.Request, name string) bool {
	b, err := strconv.ParseBool(r.URL.Query().Get(name))
	return err == nil && b
}

func invalidParam(name, value string) error {
	return core.NewBadRequest(fmt.Sprintf("Invalid value %q for %q query parameter", value, name))
}

// listOptions reads limit (1–100, default 20) and continue (a cursor a
// list returned, so at most maxContinue bytes).
func listOptions(r *http.Request) (core.ListOptions, error) {
	q := r.URL.Query()
	opts := core.ListOptions{Limit: 20, Continue: q.Get("continue")}
	if len(opts.Continue) > maxContinue {
		return opts, core.NewBadRequest(fmt.Sprintf(
			"Invalid value for %q query parameter: it is %d bytes long; send back the cursor a list returned", "continue", len(opts.Continue)))
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			return opts, invalidParam("limit", v)
		}
		opts.Limit = n
	}
	return opts, nil
}

// pairs parses "k1=v1,k2=v2" (split on commas, then on the first "=").
func pairs(r *http.Request, name string) (map[string]string, error) {
	raw := r.URL.Query().Get(name)
	if raw == "" {
		return nil, nil
	}
	out := map[string]string{}
	for _, p := range strings.Split(raw, ",") {
		k, v, ok := strings.Cut(p, "=")
		if !ok {
			return nil, invalidParam(name, raw)
		}
		out[k] = v
	}
	return out, nil
}

// eventSelector reads the event selector parameters (docs/api.md, "Creating
// events and subscriptions").
func eventSelector(r *http.Request) (core.EventSelector, error) {
	q := r.URL.Query()
	sel := core.EventSelector{ProjectID: q.Get("projectID"), Source: q.Get("source"), Type: q.Get("type")}
	var err error
	if sel.Qualifiers, err = pairs(r, "qualifiers"); err != nil {
		return sel, err
	}
	if sel.Labels, err = pairs(r, "labels"); err != nil {
		return sel, err
	}
	if sel.SourceState, err = pairs(r, "sourceState"); err != nil {
		return sel, err
	}
	if raw := q.Get("workerPhases"); raw != "" {
		for _, p := range strings.Split(raw, ",") {
			ph := core.WorkerPhase(strings.TrimSpace(p))
			if !ph.IsValid() {
				return sel, core.NewBadRequest(fmt.Sprintf(
					"Invalid value %q for %q query parameter: %q is not a worker phase", raw, "workerPhases", p))
			}
			sel.WorkerPhases = append(sel.WorkerPhases, ph)
		}
	}
	return sel, nil
}
