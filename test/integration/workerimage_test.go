package integration_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/brigadeplatform/brigade/internal/client"
	"github.com/brigadeplatform/brigade/internal/core"
	"github.com/brigadeplatform/brigade/internal/server"
	"github.com/brigadeplatform/brigade/internal/testenv"
)

// TestWorkerImageGetsItsSource: on the docker substrate, a worker image of
// a project with git finds the repository cloned at /var/vcs
// (docs/worker-contract.md), the clone's commands in the vcs log, and a
// private repository's password taken from the project's secrets.
func TestWorkerImageGetsItsSource(t *testing.T) {
	git := newGitServer(t)
	repo := git.newRepo(t)
	repo.commit("source", map[string]string{"hello.txt": "hello from the repository\n"})
	cloneURL := git.publish(t, repo, "private/worker-image.git")
	testenv.NeedDocker(t)
	dataDir := t.TempDir()
	testenv.RemoveDockerContainersAtEnd(t, dataDir)
	srv, _ := testenv.Server(t, server.Config{DataDir: dataDir, RootPassword: "integration-password",
		CleanupDelay: time.Hour, Substrate: "docker"})
	c, err := testenv.RootClient(t.Context(), srv, "integration-password")
	if err != nil {
		t.Fatal(err)
	}
	p := &core.Project{Metadata: core.ObjectMeta{ID: "image-with-git"}, Spec: core.ProjectSpec{
		EventSubscriptions: []core.EventSubscription{{Source: "brigade.sh/cli", Types: []string{"exec"}}},
		WorkerTemplate: core.WorkerSpec{
			Git: &core.GitConfig{CloneURL: cloneURL},
			Container: &core.ContainerSpec{Image: testenv.DockerImage(),
				Command: []string{"sh", "-c", `echo "read: $(cat /var/vcs/hello.txt)"`}},
		},
	}}
	if _, err := c.CreateProject(t.Context(), p); err != nil {
		t.Fatal(err)
	}
	if err := c.SetSecret(t.Context(), p.Metadata.ID, core.Secret{Key: "gitPassword", Value: privatePassword}); err != nil {
		t.Fatal(err)
	}
	evs, err := c.CreateEvent(t.Context(), &core.Event{ProjectID: p.Metadata.ID, Source: "brigade.sh/cli", Type: "exec"})
	if err != nil || len(evs) != 1 {
		t.Fatalf("creating the event: %v (%d events)", err, len(evs))
	}
	id := evs[0].Metadata.ID
	ctx, cancel := context.WithTimeout(t.Context(), deadline)
	defer cancel()
	phase := finalPhase(ctx, t, c, id)
	read := func(container string) string {
		lines, errs := c.Logs(t.Context(), id, client.LogOptions{Container: container})
		var sb strings.Builder
		for l := range lines {
			sb.WriteString(l.Message + "\n")
		}
		if err := <-errs; err != nil {
			t.Fatalf("reading the %s log: %v", container, err)
		}
		return sb.String()
	}
	worker, vcs := read(""), read("vcs")
	if phase != core.PhaseSucceeded || !strings.Contains(worker, "read: hello from the repository") {
		t.Errorf("worker %s; want SUCCEEDED, having read the checkout\nworker log:\n%s\nvcs log:\n%s", phase, worker, vcs)
	}
	if !strings.Contains(vcs, "cloning "+cloneURL) || strings.Contains(vcs+worker, privatePassword) {
		t.Errorf("the vcs log should name the clone, and no log the password:\nvcs log:\n%s", vcs)
	}
}
