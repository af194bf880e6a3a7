package main

import (
	"context"
	"fmt"
	"os/exec"
	"sync"
	"time"

	"github.com/brigadeplatform/brigade/internal/client"
	"github.com/brigadeplatform/brigade/internal/core"
)

// ideal is how long one fan-out job sleeps.
const ideal = 10 * time.Second

// fanOut runs n concurrent jobs of image that each sleep 1 s ten times, and
// measures from the event's creation (its created timestamp, stamped by the
// server before it answered 201) to the last job's end, against the ideal.
func fanOut(ctx context.Context, c *client.Client, n int, image string) error {
	script := fmt.Sprintf(`const { events, Job } = require("@brigadecore/brigadier");
events.on("bench.example.com", "run", async event => {
  const jobs = [];
  for (let i = 0; i < %d; i++) {
    const j = new Job("sleeper-" + i, %q, event);
    j.primaryContainer.command = ["sh"];
    j.primaryContainer.arguments = ["-c", "for i in 1 2 3 4 5 6 7 8 9 10; do sleep 1; done"];
    jobs.push(j);
  }
  await Job.concurrent(...jobs).run();
});
events.process();`, n, image)
	if err := createProject(ctx, c, "docker-fanout", script); err != nil {
		return err
	}
	ev, accepted, _, err := runEvent(ctx, c, "docker-fanout", n)
	if err != nil {
		return err
	}
	created := *ev.Metadata.Created
	var firstStart, lastStart, lastEnd time.Time
	for _, j := range ev.Worker.Jobs {
		if j.Status == nil || j.Status.Phase != core.PhaseSucceeded || j.Status.Started == nil || j.Status.Ended == nil {
			return fmt.Errorf("event %s: job %s did not succeed: %+v", ev.Metadata.ID, j.Name, j.Status)
		}
		if firstStart.IsZero() || j.Status.Started.Before(firstStart) {
			firstStart = *j.Status.Started
		}
		if j.Status.Started.After(lastStart) {
			lastStart = *j.Status.Started
		}
		if j.Status.Ended.After(lastEnd) {
			lastEnd = *j.Status.Ended
		}
	}
	total := lastEnd.Sub(created)
	fmt.Printf("fanout: %d concurrent jobs of %s, each sleeping 1 s ten times (docker substrate)\n", n, image)
	fmt.Printf("  event created → last job end %.3f s; ideal %.0f s; ratio %.4f (target ≤ 1.05)\n",
		total.Seconds(), ideal.Seconds(), total.Seconds()/ideal.Seconds())
	fmt.Printf("  created → 201 %.1f ms, → first job start %.1f ms, → last job start %.1f ms; first start → last end %.3f s\n",
		ms(accepted.Sub(created)), ms(firstStart.Sub(created)), ms(lastStart.Sub(created)), lastEnd.Sub(firstStart).Seconds())
	bare, err := bareFanOut(n, image)
	if err != nil {
		return fmt.Errorf("docker run: %w", err)
	}
	fmt.Printf("  baseline: %d concurrent bare docker run --rm --init of the same, first start → last exit %.3f s; ratio %.4f\n",
		n, bare.Seconds(), bare.Seconds()/ideal.Seconds())
	return nil
}

// bareFanOut runs the fan-out's command in n containers at once with the
// docker CLI and returns how long the last one took to exit.
func bareFanOut(n int, image string) (time.Duration, error) {
	errs := make(chan error, n)
	var wg sync.WaitGroup
	t0 := time.Now()
	for range n {
		wg.Go(func() {
			args := []string{"run", "--rm", "--init", image, "sh", "-c", "for i in 1 2 3 4 5 6 7 8 9 10; do sleep 1; done"}
			if out, err := exec.Command("docker", args...).CombinedOutput(); err != nil {
				errs <- fmt.Errorf("docker %v: %w: %s", args, err, out)
			}
		})
	}
	wg.Wait()
	took := time.Since(t0)
	close(errs)
	return took, <-errs
}

func createProject(ctx context.Context, c *client.Client, id, script string) error {
	_, err := c.CreateProject(ctx, &core.Project{Metadata: core.ObjectMeta{ID: id},
		Spec: core.ProjectSpec{
			EventSubscriptions: []core.EventSubscription{{Source: "bench.example.com", Types: []string{"*"}}},
			WorkerTemplate:     core.WorkerSpec{DefaultConfigFiles: map[string]string{"brigade.js": script}},
		}})
	return err
}
