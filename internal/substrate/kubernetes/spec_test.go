package kubernetes

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/brigadeplatform/brigade/internal/core"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/ from the current output")

// golden compares objects, rendered as YAML documents, with
// testdata/<name>.golden.yaml (go test -run TestGolden -update rewrites it).
func golden(t *testing.T, name string, objects ...any) {
	t.Helper()
	var buf bytes.Buffer
	for i, o := range objects {
		if i > 0 {
			buf.WriteString("---\n")
		}
		b, err := yaml.Marshal(o)
		if err != nil {
			t.Fatalf("rendering %s: %v", name, err)
		}
		buf.Write(b)
	}
	file := filepath.Join("testdata", name+".golden.yaml")
	if *update {
		if err := os.WriteFile(file, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got := buf.String(); got != string(want) {
		t.Errorf("%s differs from %s (go test -update rewrites it after a deliberate change):\n%s", name, file, got)
	}
}

const eventID = "0192d3a4-5b6c-7d8e-9f01-23456789abcd"

func opts() PodOptions {
	return PodOptions{Owner: "test-server", Image: "registry.example.com/brigade:v1.2.3"}
}

func launch(job core.Job) *core.JobLaunch {
	return &core.JobLaunch{
		EventID: eventID, ProjectID: "hello", Job: &job,
		Environment: map[string]map[string]string{},
	}
}

func planJob(t *testing.T, jl *core.JobLaunch, pullSecrets ...string) *JobPlan {
	t.Helper()
	p, reason := JobPod(opts(), jl, pullSecrets)
	if reason != "" {
		t.Fatalf("JobPod refused the job: %s", reason)
	}
	return p
}

func jobObjects(p *JobPlan) []any {
	if p.Env == nil {
		return []any{p.Pod}
	}
	return []any{p.Pod, p.Env}
}

func TestGoldenProject(t *testing.T) {
	golden(t, "project", NamespaceObject(opts(), "hello"),
		ProjectSecretsObject(opts(), "hello", map[string]string{"gitPassword": "s3cret", "token": "abc"}))
}

func TestGoldenJobSimple(t *testing.T) {
	jl := launch(core.Job{Name: "build", Spec: core.JobSpec{PrimaryContainer: core.JobContainerSpec{
		ContainerSpec: core.ContainerSpec{
			Image: "debian:12", Command: []string{"sh", "-c"}, Arguments: []string{"echo $GREETING"},
		},
		WorkingDirectory: "/src",
	}}})
	jl.Environment["build"] = map[string]string{"GREETING": "hello", "API_TOKEN": "from-a-secret"}
	golden(t, "job-simple", jobObjects(planJob(t, jl))...)
}

func TestGoldenJobFull(t *testing.T) {
	jl := launch(core.Job{Name: "test", Spec: core.JobSpec{
		PrimaryContainer: core.JobContainerSpec{
			ContainerSpec: core.ContainerSpec{Image: "golang:1.26", ImagePullPolicy: "Always",
				Command: []string{"go"}, Arguments: []string{"test", "./..."}},
			WorkingDirectory:    "/src",
			SourceMountPath:     "/src",
			WorkspaceMountPath:  "/workspace/",
			Privileged:          true,
			UseHostDockerSocket: true,
			ServiceAccount:      "builder",
			Resources: &core.ResourceRequirements{
				Requests: &core.Resources{CPU: "500m", Memory: "128Mi"},
				Limits:   &core.Resources{CPU: "2", Memory: "1Gi"},
			},
		},
		SidecarContainers: map[string]core.JobContainerSpec{
			"redis": {ContainerSpec: core.ContainerSpec{Image: "redis:7", ImagePullPolicy: "ifnotpresent"}},
			"db":    {ContainerSpec: core.ContainerSpec{Image: "postgres:17"}},
		},
	}})
	jl.UseWorkspace = true
	jl.AllowPrivileged = true
	jl.Environment["test"] = map[string]string{"CGO_ENABLED": "0", "weird name": "x"}
	jl.Environment["db"] = map[string]string{"POSTGRES_PASSWORD": "pw"}
	golden(t, "job-full", jobObjects(planJob(t, jl, "regcred", " ", "other"))...)
}

// The classic tutorial's job: a countdown bursting onto a virtual node.
func TestGoldenJobVirtualKubelet(t *testing.T) {
	jl := launch(core.Job{Name: "countdown-3", Spec: core.JobSpec{
		PrimaryContainer: core.JobContainerSpec{
			ContainerSpec: core.ContainerSpec{Image: "alpine:3.20", Command: []string{"/bin/sh", "-e", "-c"},
				Arguments: []string{"for i in 3 2 1; do echo $i; sleep 1; done"}},
			Resources: &core.ResourceRequirements{Requests: &core.Resources{CPU: "1", Memory: "1Gi"}},
		},
		Host: &core.JobHost{Name: "virtual-kubelet", OS: "linux"},
	}})
	golden(t, "job-virtual-kubelet", jobObjects(planJob(t, jl))...)
}

func TestGoldenJobNodeSelector(t *testing.T) {
	jl := launch(core.Job{Name: "gpu", Spec: core.JobSpec{
		PrimaryContainer: core.JobContainerSpec{ContainerSpec: core.ContainerSpec{Image: "cuda:12"}},
		Host:             &core.JobHost{NodeSelector: map[string]string{"accelerator": "nvidia", "pool": "batch"}},
	}})
	golden(t, "job-node-selector", jobObjects(planJob(t, jl))...)
}

func workerLaunch(spec core.WorkerSpec) *core.WorkerLaunch {
	return &core.WorkerLaunch{
		Event: &core.Event{
			Metadata:  core.ObjectMeta{ID: eventID},
			ProjectID: "hello",
			Worker:    &core.Worker{Spec: spec},
		},
		EventDocument: []byte(`{"id":"` + eventID + `"}`),
		Command:       []string{"/usr/local/bin/brigade", "worker"},
		Env:           map[string]string{"BRIGADE_LOG_LEVEL": "debug"},
	}
}

func TestGoldenWorkerBuiltin(t *testing.T) {
	w := workerLaunch(core.WorkerSpec{
		UseWorkspace: true, WorkspaceSize: "1Gi",
		Git:       &core.GitConfig{CloneURL: "https://example.com/hello.git", Ref: "main"},
		Container: &core.ContainerSpec{Environment: map[string]string{"FOO": "bar"}},
	})
	o := opts()
	o.WorkspaceStorageClass = "nfs"
	pvc, err := WorkspaceClaimObject(o, "hello", eventID, w.Event.Worker.Spec.WorkspaceSize)
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "worker-builtin", WorkerPod(o, w), EventSecretObject(o, "hello", eventID, w.EventDocument), pvc)
}

func TestGoldenWorkerImage(t *testing.T) {
	w := workerLaunch(core.WorkerSpec{
		Container: &core.ContainerSpec{Image: "registry.example.com/team/python-worker:1.4",
			ImagePullPolicy: "IfNotPresent", Command: []string{"python3", "/worker/main.py"}, Arguments: []string{"--verbose"}},
		Kubernetes: &core.WorkerKubernetes{ImagePullSecrets: []string{"team-registry"}},
	})
	golden(t, "worker-image", WorkerPod(opts(), w))
}

func TestWorkspaceSizeRefused(t *testing.T) {
	for _, size := range []string{"lots", "-1Gi", "0"} {
		if _, err := WorkspaceClaimObject(opts(), "hello", eventID, size); err == nil ||
			!strings.Contains(err.Error(), "workspaceSize") {
			t.Errorf("size %q: got %v, want an error naming workspaceSize", size, err)
		}
	}
}

func TestJobRefusals(t *testing.T) {
	base := func() core.JobContainerSpec {
		return core.JobContainerSpec{ContainerSpec: core.ContainerSpec{Image: "alpine"}}
	}
	cases := []struct {
		name   string
		edit   func(c *core.JobContainerSpec, jl *core.JobLaunch)
		reason string
	}{
		{"no image", func(c *core.JobContainerSpec, _ *core.JobLaunch) { c.Image = "" }, "has no image"},
		{"privileged forbidden", func(c *core.JobContainerSpec, _ *core.JobLaunch) { c.Privileged = true },
			"allowPrivileged: true"},
		{"pull policy", func(c *core.JobContainerSpec, _ *core.JobLaunch) { c.ImagePullPolicy = "Sometimes" },
			`imagePullPolicy "Sometimes"`},
		{"cpu", func(c *core.JobContainerSpec, _ *core.JobLaunch) {
			c.Resources = &core.ResourceRequirements{Requests: &core.Resources{CPU: "two"}}
		}, `resources.requests.cpu "two" is not a positive quantity`},
		{"memory", func(c *core.JobContainerSpec, _ *core.JobLaunch) {
			c.Resources = &core.ResourceRequirements{Limits: &core.Resources{Memory: "-1Gi"}}
		}, `resources.limits.memory "-1Gi"`},
		{"request above limit", func(c *core.JobContainerSpec, _ *core.JobLaunch) {
			c.Resources = &core.ResourceRequirements{Requests: &core.Resources{Memory: "2Gi"}, Limits: &core.Resources{Memory: "1Gi"}}
		}, "requests.memory is above resources.limits.memory"},
		{"workspace without useWorkspace", func(c *core.JobContainerSpec, _ *core.JobLaunch) { c.WorkspaceMountPath = "/ws" },
			"set useWorkspace: true"},
		{"relative mount", func(c *core.JobContainerSpec, _ *core.JobLaunch) { c.SourceMountPath = "src" },
			"is not an absolute path"},
		{"root mount", func(c *core.JobContainerSpec, _ *core.JobLaunch) { c.SourceMountPath = "/" }, "cannot be /"},
		{"same mount", func(c *core.JobContainerSpec, jl *core.JobLaunch) {
			jl.UseWorkspace = true
			c.SourceMountPath, c.WorkspaceMountPath = "/x", "/x/"
		}, "are both /x"},
		{"sidecar named like the job", func(_ *core.JobContainerSpec, jl *core.JobLaunch) {
			jl.Job.Spec.SidecarContainers = map[string]core.JobContainerSpec{"main": base()}
		}, "sidecar main has the job's name"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := base()
			jl := launch(core.Job{Name: "main"})
			tc.edit(&c, jl)
			jl.Job.Spec.PrimaryContainer = c
			p, reason := JobPod(opts(), jl, nil)
			if p != nil || !strings.Contains(reason, tc.reason) {
				t.Fatalf("got plan %v, reason %q; want no plan and a reason containing %q", p != nil, reason, tc.reason)
			}
		})
	}
}

func TestNames(t *testing.T) {
	cases := []struct{ got, want string }{
		{NamespaceName("brigade-", "hello"), "brigade-hello"},
		{WorkerPodName(eventID), "worker-" + eventID},
		{JobPodName(eventID, "build"), "job-" + eventID + "-build"},
	}
	for _, c := range cases {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
	long := strings.Repeat("a", 63)
	for _, n := range []string{
		NamespaceName("brigade-", long), JobPodName(eventID, long), dnsLabel("Upper_Case", 63), dnsLabel("---", 63),
	} {
		if len(n) > 63 || n != dnsLabel(n, 63) {
			t.Errorf("%q is not a DNS label of at most 63 characters", n)
		}
	}
	if JobPodName(eventID, long) == JobPodName(eventID, long+"b") {
		t.Error("two long job names meet on one pod name")
	}
	if dnsLabel("A", 63) == dnsLabel("a", 63) {
		t.Error("a name that had to change meets the name it became")
	}
	if v := labelValue("not/a label"); v != dnsLabel("not/a label", 63) {
		t.Errorf("labelValue = %q", v)
	}
}
