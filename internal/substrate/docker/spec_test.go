package docker

import (
	"strings"
	"testing"

	"github.com/brigadeplatform/brigade/internal/core"
)

func TestQuantities(t *testing.T) {
	cpus := map[string]int64{"1": 1e9, "500m": 5e8, "0.25": 2.5e8, "2.5": 2.5e9, "1e-3": 1e6, "100n": 100, "1k": 1e12}
	for in, want := range cpus {
		if got, err := cpuNanos(in); err != nil || got != want {
			t.Errorf("cpuNanos(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	mem := map[string]int64{"64Mi": 64 << 20, "1Gi": 1 << 30, "500M": 500e6, "1e3": 1000, "128974848": 128974848,
		"1.5Ki": 1536, "0.5": 1, "1E": 1e18}
	for in, want := range mem {
		if got, err := memoryBytes(in); err != nil || got != want {
			t.Errorf("memoryBytes(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "abc", "1Qi", "-1", "1 Gi", "1.2.3", "0", "100Ei"} {
		if _, err := memoryBytes(bad); err == nil {
			t.Errorf("memoryBytes(%q) succeeded; want an error", bad)
		}
	}
}

func launch(spec core.JobContainerSpec) *core.JobLaunch {
	return &core.JobLaunch{EventID: "ev1", ProjectID: "proj", Job: &core.Job{Name: "build",
		Spec: core.JobSpec{PrimaryContainer: spec}}, Environment: map[string]map[string]string{
		"build": {"B": "2", "A": "1"}}}
}

func TestPlanContainer(t *testing.T) {
	dirs := eventDirs{workspace: "/data/events/ev1/workspace", source: "/data/events/ev1/source"}
	t.Run("CommandArgumentsEnvMountsLabels", func(t *testing.T) {
		jl := launch(core.JobContainerSpec{ContainerSpec: core.ContainerSpec{Image: "alpine:3", Command: []string{"sh"},
			Arguments: []string{"-c", "true"}, Environment: map[string]string{"A": core.Redacted}},
			WorkingDirectory: "/src", SourceMountPath: "/src", WorkspaceMountPath: "/ws", UseHostDockerSocket: true})
		jl.UseWorkspace = true
		p, fail := planContainer(jl, "build", jl.Job.Spec.PrimaryContainer, true, dirs, "/data", "none")
		if fail != "" {
			t.Fatal(fail)
		}
		if strings.Join(p.config.Entrypoint, " ") != "sh" || strings.Join(p.config.Cmd, " ") != "-c true" {
			t.Errorf("entrypoint %q cmd %q", p.config.Entrypoint, p.config.Cmd)
		}
		if strings.Join(p.config.Env, " ") != "A=1 B=2" {
			t.Errorf("env %q; want the launch's real values, sorted", p.config.Env)
		}
		want := "/data/events/ev1/source:/src /data/events/ev1/workspace:/ws /var/run/docker.sock:/var/run/docker.sock"
		if strings.Join(p.host.Binds, " ") != want {
			t.Errorf("binds %q; want %q", p.host.Binds, want)
		}
		if p.config.WorkingDir != "/src" || p.host.NetworkMode != "none" || p.pull != "IfNotPresent" {
			t.Errorf("workdir %q network %q pull %q", p.config.WorkingDir, p.host.NetworkMode, p.pull)
		}
		for k, v := range map[string]string{LabelEvent: "ev1", LabelProject: "proj", LabelJob: "build",
			LabelContainer: "build", LabelRole: RolePrimary, LabelDataDir: "/data"} {
			if p.config.Labels[k] != v {
				t.Errorf("label %s = %q; want %q", k, p.config.Labels[k], v)
			}
		}
		if p.host.Init == nil || !*p.host.Init {
			t.Error("containers run without an init process; signals would not reach a shell")
		}
	})
	t.Run("ArgumentsAloneKeepTheEntrypoint", func(t *testing.T) {
		jl := launch(core.JobContainerSpec{ContainerSpec: core.ContainerSpec{Image: "x", Arguments: []string{"a"}}})
		p, _ := planContainer(jl, "build", jl.Job.Spec.PrimaryContainer, true, dirs, "/data", "")
		if p.config.Entrypoint != nil || strings.Join(p.config.Cmd, " ") != "a" {
			t.Errorf("entrypoint %q cmd %q", p.config.Entrypoint, p.config.Cmd)
		}
	})
	t.Run("Resources", func(t *testing.T) {
		jl := launch(core.JobContainerSpec{ContainerSpec: core.ContainerSpec{Image: "x"},
			Resources: &core.ResourceRequirements{Requests: &core.Resources{CPU: "250m", Memory: "32Mi"},
				Limits: &core.Resources{CPU: "1.5", Memory: "1Gi"}}})
		p, fail := planContainer(jl, "build", jl.Job.Spec.PrimaryContainer, true, dirs, "/data", "")
		if fail != "" {
			t.Fatal(fail)
		}
		r := p.host.Resources
		if r.NanoCPUs != 1.5e9 || r.Memory != 1<<30 || r.CPUShares != 256 || r.MemoryReservation != 32<<20 {
			t.Errorf("resources %+v", r)
		}
	})
	refusals := map[string]struct {
		spec core.JobContainerSpec
		want string
	}{
		"Privileged":       {core.JobContainerSpec{ContainerSpec: core.ContainerSpec{Image: "x"}, Privileged: true}, "allowPrivileged: true"},
		"NoImage":          {core.JobContainerSpec{}, "has no image"},
		"RelativeMount":    {core.JobContainerSpec{ContainerSpec: core.ContainerSpec{Image: "x"}, SourceMountPath: "src"}, "not an absolute path"},
		"WorkspaceUnused":  {core.JobContainerSpec{ContainerSpec: core.ContainerSpec{Image: "x"}, WorkspaceMountPath: "/ws"}, "useWorkspace: true"},
		"BadPullPolicy":    {core.JobContainerSpec{ContainerSpec: core.ContainerSpec{Image: "x", ImagePullPolicy: "Sometimes"}}, "imagePullPolicy"},
		"BadQuantity":      {core.JobContainerSpec{ContainerSpec: core.ContainerSpec{Image: "x"}, Resources: &core.ResourceRequirements{Limits: &core.Resources{Memory: "lots"}}}, "resources.limits.memory"},
		"RequestOverLimit": {core.JobContainerSpec{ContainerSpec: core.ContainerSpec{Image: "x"}, Resources: &core.ResourceRequirements{Limits: &core.Resources{Memory: "1Mi"}, Requests: &core.Resources{Memory: "2Mi"}}}, "above resources.limits.memory"},
	}
	for name, tc := range refusals {
		t.Run("Refuses"+name, func(t *testing.T) {
			jl := launch(tc.spec)
			if _, fail := planContainer(jl, "build", tc.spec, true, dirs, "/data", ""); !strings.Contains(fail, tc.want) {
				t.Errorf("reason %q; want it to mention %q", fail, tc.want)
			}
		})
	}
	t.Run("PrivilegedAllowedByPolicy", func(t *testing.T) {
		jl := launch(core.JobContainerSpec{ContainerSpec: core.ContainerSpec{Image: "x"}, Privileged: true})
		jl.AllowPrivileged = true
		p, fail := planContainer(jl, "build", jl.Job.Spec.PrimaryContainer, true, dirs, "/data", "")
		if fail != "" || !p.host.Privileged {
			t.Errorf("fail %q, privileged %v", fail, p != nil && p.host.Privileged)
		}
	})
}

func TestIgnoredNote(t *testing.T) {
	j := &core.Job{Name: "j", Spec: core.JobSpec{Host: &core.JobHost{NodeSelector: map[string]string{"disk": "ssd", "a": "b"}, Name: "node-1"}}}
	note := ignoredNote(j)
	for _, want := range []string{notePrefix, "host.nodeSelector a=b,disk=ssd", "host.name node-1"} {
		if !strings.Contains(note, want) {
			t.Errorf("note %q lacks %q", note, want)
		}
	}
	if strings.Contains(note, "\n") {
		t.Errorf("note %q spans lines; want one line", note)
	}
	if n := ignoredNote(&core.Job{Name: "j"}); n != "" {
		t.Errorf("a job without such settings gets a note %q", n)
	}
}
