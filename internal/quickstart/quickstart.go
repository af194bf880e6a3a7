// Package quickstart is `brigade quickstart`: it starts the platform on the
// embedded default (SQLite + local substrate) in a fresh data dir, creates
// the example project examples/quickstart, sends it an event, streams the
// worker's and every job's logs as they are written, and succeeds when the
// event does.
package quickstart

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/brigadeplatform/brigade/examples"
	"github.com/brigadeplatform/brigade/internal/api"
	"github.com/brigadeplatform/brigade/internal/client"
	"github.com/brigadeplatform/brigade/internal/core"
	"github.com/brigadeplatform/brigade/internal/server"
)

// Options tune a quickstart run.
type Options struct {
	DataDir string // empty: a temporary folder, removed afterwards
	Example string // example project folder (default "quickstart")
	Version string
	Commit  string
	Log     *slog.Logger
}

// Run runs the quickstart, writing what happens to out. It returns an error
// unless the event succeeded.
func Run(ctx context.Context, out io.Writer, opts Options) error {
	if opts.Example == "" {
		opts.Example = "quickstart"
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	if opts.DataDir == "" {
		dir, err := os.MkdirTemp("", "brigade-quickstart-")
		if err != nil {
			return fmt.Errorf("creating a data dir: %w", err)
		}
		defer os.RemoveAll(dir)
		opts.DataDir = dir
	}
	pw := make([]byte, 12)
	rand.Read(pw)
	password := hex.EncodeToString(pw)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	srv, err := server.New(ctx, server.Config{
		Addr: "127.0.0.1:0", DataDir: opts.DataDir, RootPassword: password,
		CleanupDelay: time.Second, Version: opts.Version, Commit: opts.Commit,
	}, opts.Log, io.Discard)
	if err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	defer func() {
		cancel()
		<-done
	}()
	p := &printer{out: out}
	p.say("brigade server is up at http://%s (data in %s)", srv.Addr(), opts.DataDir)

	anon := client.New("http://"+srv.Addr(), "")
	tok, err := anon.CreateRootSession(ctx, password)
	if err != nil {
		return fmt.Errorf("logging in: %w", err)
	}
	c := anon.WithToken(tok.Value)
	project, err := loadExample(opts.Example)
	if err != nil {
		return err
	}
	if _, err := c.CreateProject(ctx, project); err != nil {
		return fmt.Errorf("creating project %s: %w", project.Metadata.ID, err)
	}
	p.say("created project %q from examples/%s/project.yaml", project.Metadata.ID, opts.Example)
	start := time.Now()
	evs, err := c.CreateEvent(ctx, &core.Event{ProjectID: project.Metadata.ID, Source: "brigade.sh/cli", Type: "exec"})
	if err != nil {
		return fmt.Errorf("creating an event: %w", err)
	}
	if len(evs) != 1 {
		return fmt.Errorf("the event reached %d projects, want 1", len(evs))
	}
	id := evs[0].Metadata.ID
	p.say("sent event %s; streaming its logs", id)

	phase, err := follow(ctx, c, srv.Service(), id, p)
	if err != nil {
		return err
	}
	ev, err := c.GetEvent(ctx, id)
	if err != nil {
		return err
	}
	p.say("event %s %s in %s", id, phase, time.Since(start).Round(time.Millisecond))
	for _, j := range ev.Worker.Jobs {
		p.say("  job %-10s %s", j.Name, j.Status.Phase)
	}
	if ev.Summary != "" {
		p.say("  summary: %s", ev.Summary)
	}
	if phase != core.PhaseSucceeded {
		return fmt.Errorf("the event ended %s", phase)
	}
	return nil
}

func loadExample(name string) (*core.Project, error) {
	b, err := examples.FS.ReadFile(name + "/project.yaml")
	if err != nil {
		return nil, fmt.Errorf("no example project %q: %w", name, err)
	}
	var p core.Project
	if err := yaml.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("reading examples/%s/project.yaml: %w", name, err)
	}
	return &p, nil
}

// follow streams the worker's log and each job's log as jobs appear, until
// the worker finishes; it returns the worker's final phase.
func follow(ctx context.Context, c *client.Client, svc *api.Service, id string, p *printer) (core.WorkerPhase, error) {
	var wg sync.WaitGroup
	stream := func(label string, opts client.LogOptions) {
		defer wg.Done()
		lines, errs := c.Logs(ctx, id, opts)
		for e := range lines {
			p.line(label, e.Message)
		}
		if err := <-errs; err != nil && ctx.Err() == nil {
			p.say("[%s] log stream ended: %v", label, err)
		}
	}
	wg.Add(1)
	go stream("worker", client.LogOptions{Follow: true})

	changes, cancel := svc.Changes(id)
	defer cancel()
	seen := map[string]bool{}
	var phase core.WorkerPhase
	for {
		ev, err := c.GetEvent(ctx, id)
		if err != nil {
			return "", err
		}
		for _, j := range ev.Worker.Jobs {
			if !seen[j.Name] {
				seen[j.Name] = true
				wg.Add(1)
				go stream(j.Name, client.LogOptions{Job: j.Name, Follow: true})
			}
		}
		phase = ev.Worker.Status.Phase
		if phase.IsTerminal() {
			break
		}
		select {
		case <-changes:
		case <-ctx.Done():
			return "", ctx.Err()
		}
	}
	wg.Wait()
	return phase, nil
}

type printer struct {
	mu  sync.Mutex
	out io.Writer
}

func (p *printer) say(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(p.out, "==> "+format+"\n", args...)
}

func (p *printer) line(label, msg string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(p.out, "[%s] %s\n", label, msg)
}
