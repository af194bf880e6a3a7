package main

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/brigadeplatform/brigade/internal/client"
	"github.com/brigadeplatform/brigade/internal/core"
	"github.com/brigadeplatform/brigade/internal/dockerapi"
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
	floor, err := apiFanOut(ctx, n, image)
	if err != nil {
		return fmt.Errorf("engine API: %w", err)
	}
	fmt.Printf("  floor: %d concurrent create+start+wait on the Engine API (no platform, no CLI), → last start %.1f ms, → last exit %.3f s; ratio %.4f\n",
		n, ms(floor.lastStart), floor.lastExit.Seconds(), floor.lastExit.Seconds()/ideal.Seconds())
	fmt.Printf("  platform / floor: %.4f (what the platform adds to what the daemon needs; daemon storage driver %s)\n",
		total.Seconds()/floor.lastExit.Seconds(), storageDriver())
	return nil
}

// apiTimes are the Engine API fan-out's figures, from its first request.
type apiTimes struct{ lastStart, lastExit time.Duration }

// apiFanOut creates, starts and waits for n containers of the fan-out's
// command at once, straight on the Engine API with what the substrate asks
// for (an init as PID 1): what the daemon itself needs, the floor under
// the platform's figure.
func apiFanOut(ctx context.Context, n int, image string) (apiTimes, error) {
	cli, err := dockerapi.New("")
	if err != nil {
		return apiTimes{}, err
	}
	defer cli.Close()
	withInit := true
	cfg := &dockerapi.Config{Image: image, Entrypoint: []string{"sh"},
		Cmd: []string{"-c", "for i in 1 2 3 4 5 6 7 8 9 10; do sleep 1; done"}}
	host := &dockerapi.HostConfig{Init: &withInit}
	var mu sync.Mutex
	var times apiTimes
	errs := make(chan error, n)
	var wg sync.WaitGroup
	t0 := time.Now()
	for range n {
		wg.Go(func() {
			res, err := cli.ContainerCreate(ctx, "", cfg, host)
			if err != nil {
				errs <- err
				return
			}
			defer cli.ContainerRemove(context.Background(), res.ID, dockerapi.RemoveOptions{Force: true})
			wait, err := cli.ContainerWait(ctx, res.ID, dockerapi.WaitNextExit)
			if err == nil {
				err = cli.ContainerStart(ctx, res.ID)
			}
			if err != nil {
				errs <- err
				return
			}
			started := time.Since(t0)
			r := <-wait
			exited := time.Since(t0)
			if r.Err != nil || r.Error != "" || r.StatusCode != 0 {
				errs <- fmt.Errorf("container %s: exit %d %s %v", res.ID, r.StatusCode, r.Error, r.Err)
			}
			mu.Lock()
			times.lastStart, times.lastExit = max(times.lastStart, started), max(times.lastExit, exited)
			mu.Unlock()
		})
	}
	wg.Wait()
	close(errs)
	return times, <-errs
}

// storageDriver asks the daemon which storage driver it uses (vfs copies
// every image's files at each create: slower than overlay2).
func storageDriver() string {
	out, err := exec.Command("docker", "info", "--format", "{{.Driver}}").Output()
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(out))
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
