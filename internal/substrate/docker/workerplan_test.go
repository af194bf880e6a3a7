package docker

import (
	"archive/tar"
	"io"
	"slices"
	"testing"

	"github.com/brigadeplatform/brigade/internal/core"
)

// TestPlanWorker: a worker image's container, as data: the template's
// image, command, arguments, environment and pull policy, the contract's
// variables and folders, the host network, and the worker's labels.
func TestPlanWorker(t *testing.T) {
	w := &core.WorkerLaunch{
		Event: &core.Event{Metadata: core.ObjectMeta{ID: "ev1"}, ProjectID: "proj", Worker: &core.Worker{Spec: core.WorkerSpec{
			UseWorkspace: true,
			Container: &core.ContainerSpec{Image: "ignored", ImagePullPolicy: "Always", Command: []string{"python3"},
				Arguments: []string{"/w.py"}, Environment: map[string]string{"A": "1"}},
		}}},
		Env: map[string]string{"A": "1", "BRIGADE_SOURCE": "mine"},
	}
	p, reason := planWorker(w, "team/worker:1", eventDirs{workspace: "/data/events/ev1/workspace", source: "/data/events/ev1/source"},
		"/data", DefaultWorkerNetwork)
	if reason != "" {
		t.Fatal(reason)
	}
	if p.image != "team/worker:1" || p.pull != "Always" || p.config.Image != "team/worker:1" {
		t.Errorf("image %q (pull %s, config %q)", p.image, p.pull, p.config.Image)
	}
	if !slices.Equal(p.config.Entrypoint, []string{"python3"}) || !slices.Equal(p.config.Cmd, []string{"/w.py"}) {
		t.Errorf("entrypoint %q, cmd %q", p.config.Entrypoint, p.config.Cmd)
	}
	wantEnv := []string{"A=1", "BRIGADE_EVENT_FILE=/var/event/event.json", "BRIGADE_SOURCE=/var/vcs", "BRIGADE_WORKSPACE=/var/workspace"}
	if !slices.Equal(p.config.Env, wantEnv) {
		t.Errorf("env %q; want %q", p.config.Env, wantEnv)
	}
	wantBinds := []string{"/data/events/ev1/source:/var/vcs", "/data/events/ev1/workspace:/var/workspace"}
	if !slices.Equal(p.host.Binds, wantBinds) || p.host.NetworkMode != "host" {
		t.Errorf("binds %q, network %q; want %q on host", p.host.Binds, p.host.NetworkMode, wantBinds)
	}
	l := p.config.Labels
	if l[LabelRole] != RoleWorker || l[LabelEvent] != "ev1" || l[LabelProject] != "proj" || l[LabelContainer] != "worker" ||
		l[LabelDataDir] != "/data" {
		t.Errorf("labels %v", l)
	}
	if _, ok := l[LabelJob]; ok {
		t.Errorf("a worker's container carries a job label: %v", l)
	}
	if ref, ok := workloadOf(l); !ok || ref != (core.WorkloadRef{EventID: "ev1"}) {
		t.Errorf("workloadOf(its labels) = %v, %v; want the worker of ev1", ref, ok)
	}

	w.Event.Worker.Spec.UseWorkspace = false
	p, _ = planWorker(w, "team/worker:1", eventDirs{workspace: "/ws", source: "/src"}, "/data", DefaultWorkerNetwork)
	if !slices.Equal(p.host.Binds, []string{"/src:/var/vcs"}) || slices.ContainsFunc(p.config.Env, func(e string) bool {
		return e == "BRIGADE_WORKSPACE=/var/workspace"
	}) {
		t.Errorf("without useWorkspace: binds %q, env %q", p.host.Binds, p.config.Env)
	}
}

func TestEventArchive(t *testing.T) {
	buf, err := eventArchive([]byte(`{"id": "ev1"}`))
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(buf)
	var got []string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(tr)
		got = append(got, h.Name+" "+string(b))
		if h.Mode&0o444 != 0o444 {
			t.Errorf("%s has mode %o: not readable by every user", h.Name, h.Mode)
		}
	}
	if want := []string{"var/event/ ", `var/event/event.json {"id": "ev1"}`}; !slices.Equal(got, want) {
		t.Errorf("archive %q; want %q", got, want)
	}
}
