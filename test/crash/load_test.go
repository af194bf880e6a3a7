package crash

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/brigadeplatform/brigade/internal/client"
	"github.com/brigadeplatform/brigade/internal/core"
)

// jobShell is every job's program: it appends "<job> <start time>" to its
// event's marker file (outside the data dir, so that a second run of the
// same job shows), with $ESCAPE set starts a process that leaves the job's
// process group and session (setsid) and would sleep for 1,000 s (the
// suite's last check finds it if it outlives the run), then writes $N
// numbered lines, pausing after line $PAUSE so that kills also land while
// a job is half-written, and exits with $CODE.
const jobShell = `printf '%s %s\n' "$JOB" "$(date +%s.%N)" >> "$CRASH_MARKS/$EV"
if [ "$ESCAPE" = 1 ]; then setsid sh -c 'exec sleep 1000' </dev/null >/dev/null 2>&1 & fi
for i in $(seq 1 "$N"); do
  echo "line $i"
  if [ "$i" = "$PAUSE" ]; then sleep 0.3; fi
done
exit "$CODE"`

// jobPlan is what a job of a project does.
type jobPlan struct {
	lines, pause, code int
	escape             bool // leaves a process behind in a session of its own
}

// projectPlan is one project: its jobs and the script that runs them. The
// script logs "step 1" … "step <steps>" between them.
type projectPlan struct {
	id    string
	jobs  map[string]jobPlan
	steps int
	body  string // the event handler's body; job(name) runs a job of jobs
	fails bool   // the event ends FAILED when all goes well
}

var plans = []projectPlan{{
	id:    "sequential",
	jobs:  map[string]jobPlan{"first": {40, 0, 0, false}, "second": {60, 30, 0, true}, "third": {20, 0, 0, false}},
	steps: 3,
	body: `console.log("step 1"); await job("first");
  console.log("step 2"); await job("second");
  await job("third"); console.log("step 3");`,
}, {
	id:    "fan-out",
	jobs:  map[string]jobPlan{"f1": {30, 0, 0, false}, "f2": {30, 15, 0, false}, "f3": {30, 0, 0, true}, "f4": {30, 0, 0, false}, "join": {50, 25, 0, false}},
	steps: 2,
	body: `console.log("step 1"); await Promise.all([job("f1"), job("f2"), job("f3"), job("f4")]);
  await job("join"); console.log("step 2");`,
}, {
	id:    "failing",
	jobs:  map[string]jobPlan{"ok": {20, 0, 0, false}, "bad": {30, 0, 3, false}},
	steps: 1,
	fails: true,
	body:  `console.log("step 1"); await job("ok"); await job("bad"); console.log("never");`,
}}

func planOf(project string) *projectPlan {
	for i := range plans {
		if plans[i].id == project {
			return &plans[i]
		}
	}
	return nil
}

func (p *projectPlan) script() string {
	sh, _ := json.Marshal(jobShell)
	specs, _ := json.Marshal(p.jobs)
	return fmt.Sprintf(`const { events, Job } = require("@brigadecore/brigadier");
const plans = %s;
events.on("brigade.sh/cli", "exec", async event => {
  const job = name => {
    const j = new Job(name, "debian:12-slim", event);
    j.primaryContainer.command = ["sh"];
    j.primaryContainer.arguments = ["-c", %s];
    const p = plans[name];
    j.primaryContainer.environment = { EV: event.id, JOB: name, N: String(p.Lines), PAUSE: String(p.Pause), CODE: String(p.Code), ESCAPE: p.Escape ? "1" : "" };
    return j.run();
  };
  %s
});
events.process();
`, specs, sh, p.body)
}

// MarshalJSON gives the script the plan under names it reads.
func (j jobPlan) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Lines, Pause, Code int
		Escape             bool
	}{j.lines, j.pause, j.code, j.escape})
}

func createProjects(t *testing.T, c *client.Client) {
	t.Helper()
	for i := range plans {
		p := &plans[i]
		if _, err := c.CreateProject(t.Context(), &core.Project{Metadata: core.ObjectMeta{ID: p.id}, Spec: core.ProjectSpec{
			EventSubscriptions: []core.EventSubscription{{Source: "brigade.sh/cli", Types: []string{"exec"}}},
			WorkerTemplate:     core.WorkerSpec{DefaultConfigFiles: map[string]string{"brigade.js": p.script()}},
		}}); err != nil {
			t.Fatalf("create project %s: %v", p.id, err)
		}
	}
}

// load is the clients: each creates events for random projects while at
// most maxOpen accepted events are not yet terminal, across kills.
type load struct {
	srv     *server
	cfg     config
	maxOpen int

	mu       sync.Mutex
	accepted []accepted
	open     map[string]bool
	refused  map[string]int // why a create was not answered 201
	slots    chan struct{}
}

type accepted struct {
	id, project string
	gen         int // the server generation that answered 201
}

func newLoad(srv *server, cfg config, maxOpen int) *load {
	return &load{srv: srv, cfg: cfg, maxOpen: maxOpen, open: map[string]bool{}, refused: map[string]int{},
		slots: make(chan struct{}, maxOpen)}
}

// run drives the clients and the tracker until ctx ends.
func (l *load) run(ctx context.Context) {
	var wg sync.WaitGroup
	for i := 0; i < l.cfg.clients; i++ {
		rng := rand.New(rand.NewSource(l.cfg.seed + int64(i) + 1))
		wg.Go(func() { l.client(ctx, rng) })
	}
	wg.Go(func() { l.track(ctx) })
	wg.Wait()
}

func (l *load) full() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.cfg.events > 0 && len(l.accepted) >= l.cfg.events
}

func (l *load) client(ctx context.Context, rng *rand.Rand) {
	for !l.full() {
		select {
		case l.slots <- struct{}{}:
		case <-ctx.Done():
			return
		}
		project := plans[rng.Intn(len(plans))].id
		g := l.srv.current()
		if !g.wait(ctx) {
			return
		}
		evs, err := g.c.CreateEvent(ctx, &core.Event{ProjectID: project, Source: "brigade.sh/cli", Type: "exec"})
		if err != nil || len(evs) != 1 {
			<-l.slots
			l.refuse(ctx, err, len(evs))
			continue
		}
		l.mu.Lock()
		l.accepted = append(l.accepted, accepted{evs[0].Metadata.ID, project, g.n})
		l.open[evs[0].Metadata.ID] = true
		l.mu.Unlock()
	}
}

func (l *load) refuse(ctx context.Context, err error, n int) {
	if ctx.Err() != nil {
		return
	}
	why := fmt.Sprintf("%d events created", n)
	var apiErr *client.APIError
	switch {
	case errors.As(err, &apiErr):
		why = fmt.Sprintf("HTTP %d", apiErr.StatusCode)
	case err != nil && strings.Contains(err.Error(), "received "):
		why = err.Error()
	case err != nil:
		why = "no answer (server down)"
	}
	l.mu.Lock()
	l.refused[why]++
	l.mu.Unlock()
}

// track frees a client's slot when one of the open events is terminal. It
// watches another process through its API, which has no change feed
// across restarts: it re-reads every 100 ms.
func (l *load) track(ctx context.Context) {
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		g := l.srv.current()
		select {
		case <-g.ready:
		default:
			continue // down: look again on the next tick
		}
		l.mu.Lock()
		ids := make([]string, 0, len(l.open))
		for id := range l.open {
			ids = append(ids, id)
		}
		l.mu.Unlock()
		for _, id := range ids {
			ev, err := g.c.GetEvent(ctx, id)
			if err != nil || ev.Worker == nil || !ev.Worker.Status.Phase.IsTerminal() {
				continue
			}
			l.mu.Lock()
			delete(l.open, id)
			l.mu.Unlock()
			<-l.slots
		}
	}
}

func (l *load) snapshot() ([]accepted, map[string]int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	refused := make(map[string]int, len(l.refused))
	for k, v := range l.refused {
		refused[k] = v
	}
	return append([]accepted(nil), l.accepted...), refused
}
