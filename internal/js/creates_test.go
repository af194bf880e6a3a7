package js

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/brigadeplatform/brigade/internal/core"
)

// batchHost records the calls that create jobs: one string per call, the
// job names it carried. A call can be held until the test lets it go.
type batchHost struct {
	fakeHost
	mu      sync.Mutex
	calls   []string
	fail    map[string]error // per job
	entered chan string      // each call's names, as it starts (nil: not told)
	hold    chan struct{}    // each call waits for it (nil: no wait)
}

func (h *batchHost) record(names []string) {
	h.mu.Lock()
	h.calls = append(h.calls, strings.Join(names, " "))
	h.mu.Unlock()
	if h.entered != nil {
		h.entered <- strings.Join(names, " ")
	}
	if h.hold != nil {
		<-h.hold
	}
}

func (h *batchHost) CreateJob(ctx context.Context, job core.Job, phases bool) error {
	h.record([]string{job.Name})
	return h.fail[job.Name]
}

func (h *batchHost) CreateJobs(ctx context.Context, jobs []JobToCreate) []error {
	names := make([]string, len(jobs))
	errs := make([]error, len(jobs))
	for i, j := range jobs {
		names[i] = j.Job.Name
		errs[i] = h.fail[j.Job.Name]
	}
	h.record(names)
	return errs
}

func (h *batchHost) callList() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.calls...)
}

// TestCreateQueueBatchesInOrder: creations asked for while none is under
// way go in one batch; those asked for while one is go in the next, in
// order; each gets its own outcome.
func TestCreateQueueBatchesInOrder(t *testing.T) {
	ctx := t.Context()
	h := &batchHost{fail: map[string]error{"j3": fmt.Errorf("no j3")}}
	var q createQueue
	var reqs []*createReq
	for i := range 5 {
		reqs = append(reqs, q.add(core.Job{Name: fmt.Sprint("j", i)}, false))
	}
	errs := make([]error, len(reqs))
	var wg sync.WaitGroup
	for i, r := range reqs {
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = q.wait(ctx, h, r) }()
	}
	wg.Wait()
	if got := h.callList(); len(got) != 1 || got[0] != "j0 j1 j2 j3 j4" {
		t.Fatalf("calls %q, want the five jobs in one, in order", got)
	}
	for i, err := range errs {
		if (i == 3) != (err != nil) {
			t.Fatalf("job %d: %v", i, err)
		}
	}

	// While a creation is under way, the next ones queue up behind it.
	h = &batchHost{entered: make(chan string), hold: make(chan struct{})}
	q = createQueue{}
	first := q.add(core.Job{Name: "a0"}, true)
	done := make(chan error, 8)
	go func() { done <- q.wait(ctx, h, first) }()
	if got := <-h.entered; got != "a0" {
		t.Fatalf("first call %q", got)
	}
	for i := 1; i <= 4; i++ {
		r := q.add(core.Job{Name: fmt.Sprint("a", i)}, true)
		go func() { done <- q.wait(ctx, h, r) }()
	}
	h.hold <- struct{}{} // a0 answered: the sender goes on with the rest
	if got := <-h.entered; got != "a1 a2 a3 a4" {
		t.Fatalf("second call %q, want the four that waited, in order", got)
	}
	h.hold <- struct{}{}
	for range 5 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}

	// A Host without CreateJobs gets them one at a time, in order.
	plain := &fakeHost{}
	q = createQueue{}
	var plainReqs []*createReq
	for i := range 4 {
		plainReqs = append(plainReqs, q.add(core.Job{Name: fmt.Sprint("p", i)}, false))
	}
	for _, r := range plainReqs {
		wg.Add(1)
		go func() { defer wg.Done(); _ = q.wait(ctx, plain, r) }()
	}
	wg.Wait()
	var names []string
	for _, j := range plain.jobs {
		names = append(names, j.Name)
	}
	if strings.Join(names, " ") != "p0 p1 p2 p3" {
		t.Fatalf("created %v", names)
	}
}

// A script's concurrent group reaches a batching Host in declaration
// order, every job created once.
func TestConcurrentGroupThroughABatchingHost(t *testing.T) {
	ctx := testContext(t)
	h := &batchHost{}
	code, err, log := runScript(t, ctx, "brigade.js", `
const { events, Job } = require("@brigadecore/brigadier");
events.on("brigade.sh/cli", "exec", async event => {
  const jobs = [];
  for (let i = 0; i < 12; i++) jobs.push(new Job("g" + (20 - i), "alpine", event));
  await Job.concurrent(...jobs).run();
  console.log("done");
});
events.process();
`, Options{Host: h})
	if err != nil || code != 0 {
		t.Fatalf("Run = %d, %v\n%s", code, err, log)
	}
	var all []string
	for _, c := range h.callList() {
		all = append(all, strings.Fields(c)...)
	}
	var want []string
	for i := 0; i < 12; i++ {
		want = append(want, fmt.Sprint("g", 20-i))
	}
	if strings.Join(all, " ") != strings.Join(want, " ") {
		t.Fatalf("created %v in calls %q, want %v", all, h.callList(), want)
	}
}
