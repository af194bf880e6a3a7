// Command docker measures what the docker substrate adds to running a
// container, against a baseline measured in the same run: -n sequential
// jobs of one event through the platform (SQLite, the scheduler, the
// observer, a host-process worker and the docker substrate) against -n
// bare `docker run --rm --init` of the same image and command one after
// the other (the CLI serves only as the baseline; the substrate speaks to
// the Engine API). Rounds alternate between the two so that the machine's
// load weighs on both alike; the figures are the rounds' medians.
//
// Then the fan-out: -fanout concurrent jobs of one event that each sleep 1 s
// ten times in a container, from the event's creation to the last job's end,
// against the ideal 10 s, next to two baselines of the same containers: as
// many concurrent `docker run --rm --init`, and the floor, as many
// concurrent create+start+wait straight on the Engine API (what the daemon
// itself needs, with neither the platform nor the CLI in the way).
// -rounds 0 or -fanout 0 skips a section.
//
//	internal/substrate/docker/testdata/setup.sh   # once, as root
//	go run ./bench/docker -n 20 -rounds 3 -fanout 20
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"time"

	"github.com/brigadeplatform/brigade/bench/internal/machine"
	"github.com/brigadeplatform/brigade/internal/client"
	"github.com/brigadeplatform/brigade/internal/core"
	"github.com/brigadeplatform/brigade/internal/dockerapi"
	"github.com/brigadeplatform/brigade/internal/server"
	"github.com/brigadeplatform/brigade/internal/substrate/docker"
	"github.com/brigadeplatform/brigade/internal/testenv"
)

func main() {
	testenv.Hooks() // this binary also serves as the worker
	n := flag.Int("n", 20, "sequential jobs (and bare docker runs) per round")
	rounds := flag.Int("rounds", 3, "rounds, alternating platform and baseline")
	image := flag.String("image", "brigade-test/busybox:latest", "image of every job (must be on the daemon)")
	fanout := flag.Int("fanout", 20, "concurrent jobs for the fan-out figure (0 skips it)")
	flag.Parse()
	fmt.Printf("load average at start: %s\n", machine.LoadAvg())
	err := run(*n, *rounds, *fanout, *image)
	fmt.Printf("load average at end: %s\n", machine.LoadAvg())
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench/docker:", err)
		os.Exit(1)
	}
}

// command is what every job and every bare run executes.
var command = []string{"sh", "-c", "echo hello from a container"}

func run(n, rounds, fanout int, image string) error {
	dir, err := os.MkdirTemp("", "brigade-bench-docker-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	defer removeContainers(dir)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv, stop, err := testenv.Start(server.Config{DataDir: dir, RootPassword: "bench-password",
		Substrate: "docker", CleanupDelay: time.Second})
	if err != nil {
		return err
	}
	defer stop()
	c, err := testenv.RootClient(ctx, srv, "bench-password")
	if err != nil {
		return err
	}
	if rounds > 0 {
		if err := sequential(ctx, c, n, rounds, image); err != nil {
			return err
		}
	}
	if fanout > 0 {
		if err := fanOut(ctx, c, fanout, image); err != nil {
			return fmt.Errorf("fanout: %w", err)
		}
	}
	return nil
}

// sequential compares rounds of n sequential jobs with n bare docker runs.
func sequential(ctx context.Context, c *client.Client, n, rounds int, image string) error {
	script := fmt.Sprintf(`const { events, Job } = require("@brigadecore/brigadier");
events.on("bench.example.com", "run", async event => {
  for (let i = 0; i < %d; i++) {
    const j = new Job("job-" + i, %q, event);
    j.primaryContainer.command = [%q];
    j.primaryContainer.arguments = [%q, %q];
    await j.run();
  }
});
events.process();`, n, image, command[0], command[1], command[2])
	if err := createProject(ctx, c, "docker-bench", script); err != nil {
		return err
	}
	var platform, bare []time.Duration
	for r := 1; r <= rounds; r++ {
		p, err := platformRound(ctx, c, n)
		if err != nil {
			return fmt.Errorf("round %d, platform: %w", r, err)
		}
		b, err := bareRound(image, n)
		if err != nil {
			return fmt.Errorf("round %d, docker run: %w", r, err)
		}
		fmt.Printf("round %d: platform %8.0f ms   docker run %8.0f ms   ratio %.3f\n", r, ms(p), ms(b), float64(p)/float64(b))
		platform, bare = append(platform, p), append(bare, b)
	}
	p, b := median(platform), median(bare)
	fmt.Printf("%d sequential jobs of %s running %q, median of %d rounds:\n", n, image, command, rounds)
	fmt.Printf("  platform (docker substrate): %8.0f ms  %7.1f ms per job (event accepted → worker done)\n", ms(p), ms(p)/float64(n))
	fmt.Printf("  bare docker run --rm --init: %8.0f ms  %7.1f ms per run\n", ms(b), ms(b)/float64(n))
	fmt.Printf("  ratio platform / docker run: %.3f (aim: at most 1.10)\n", float64(p)/float64(b))
	return nil
}

// platformRound runs one event of n jobs and returns how long it took from
// the event's acceptance to the worker's end.
func platformRound(ctx context.Context, c *client.Client, n int) (time.Duration, error) {
	_, accepted, ended, err := runEvent(ctx, c, "docker-bench", n)
	if err != nil {
		return 0, err
	}
	return ended.Sub(accepted), nil
}

// runEvent sends an event to project and waits for its worker to end; the
// event must have SUCCEEDED with n jobs. It returns the event, when the
// client got the 201 and when it saw the worker's end.
func runEvent(ctx context.Context, c *client.Client, project string, n int) (*core.Event, time.Time, time.Time, error) {
	evs, err := c.CreateEvent(ctx, &core.Event{ProjectID: project, Source: "bench.example.com", Type: "run"})
	if err != nil {
		return nil, time.Time{}, time.Time{}, err
	}
	accepted := time.Now()
	id := evs[0].Metadata.ID
	st, errs := c.WatchWorkerStatus(ctx, id)
	for range st {
	}
	if err := <-errs; err != nil {
		return nil, accepted, time.Time{}, err
	}
	ended := time.Now()
	ev, err := c.GetEvent(ctx, id)
	if err != nil {
		return nil, accepted, ended, err
	}
	if ev.Worker.Status.Phase != core.PhaseSucceeded || len(ev.Worker.Jobs) != n {
		return nil, accepted, ended, fmt.Errorf("event %s ended %s with %d jobs; want SUCCEEDED with %d", id, ev.Worker.Status.Phase, len(ev.Worker.Jobs), n)
	}
	return ev, accepted, ended, nil
}

// bareRound runs the same container n times with the docker CLI.
func bareRound(image string, n int) (time.Duration, error) {
	t0 := time.Now()
	for range n {
		args := append([]string{"run", "--rm", "--init", image}, command...)
		if out, err := exec.Command("docker", args...).CombinedOutput(); err != nil {
			return 0, fmt.Errorf("docker %v: %w: %s", args, err, out)
		}
	}
	return time.Since(t0), nil
}

// removeContainers removes what the server left on the daemon (it stops
// before its cleanup delay has passed for the last event).
func removeContainers(dataDir string) {
	cli, err := dockerapi.New("")
	if err != nil {
		return
	}
	defer cli.Close()
	ctx := context.Background()
	res, err := cli.ContainerList(ctx, dockerapi.ListOptions{All: true, Labels: []string{docker.LabelDataDir + "=" + dataDir}})
	if err != nil {
		return
	}
	for _, c := range res {
		_ = cli.ContainerRemove(ctx, c.ID, dockerapi.RemoveOptions{Force: true})
	}
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
