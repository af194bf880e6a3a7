package docker

import (
	"fmt"
	"maps"
	"math/big"
	"path"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/brigadeplatform/brigade/internal/core"
	"github.com/brigadeplatform/brigade/internal/dockerapi"
)

// Labels on every container the substrate creates.
const (
	LabelDataDir   = "sh.brigade.datadir"   // the server's data dir: which server owns it
	LabelEvent     = "sh.brigade.event"     // event id
	LabelProject   = "sh.brigade.project"   // project id
	LabelJob       = "sh.brigade.job"       // job name
	LabelContainer = "sh.brigade.container" // container name: the job name for the primary, else the sidecar's
	LabelRole      = "sh.brigade.role"      // RolePrimary or RoleSidecar
)

// Values of LabelRole.
const (
	RolePrimary = "primary"
	RoleSidecar = "sidecar"
)

// DockerSocket is bind-mounted into containers that set
// useHostDockerSocket.
const DockerSocket = "/var/run/docker.sock"

func checkName(kind, name string) error {
	if !core.SafeName(name) || strings.Contains(name, "..") {
		return &core.BadRequestError{Reason: fmt.Sprintf(
			"%s %q cannot name a container: use letters, digits, '-', '_' and '.'", kind, name)}
	}
	return nil
}

// ctrPlan is one container of a job, ready to create.
type ctrPlan struct {
	name    string // the spec's name: the job name for the primary
	primary bool
	image   string
	pull    string // imagePullPolicy: Always, IfNotPresent or Never
	config  *dockerapi.Config
	host    *dockerapi.HostConfig
}

// eventDirs are the host folders of an event that jobs may mount.
type eventDirs struct{ workspace, source string }

// planContainer turns one container of a job into docker's create request.
// It returns a reason when the container cannot run as specified (the job
// then fails with it).
func planContainer(jl *core.JobLaunch, name string, c core.JobContainerSpec, primary bool,
	dirs eventDirs, dataDir, network string) (*ctrPlan, string) {
	if !primary {
		if err := checkName("sidecar name", name); err != nil {
			return nil, err.Error()
		}
		if name == jl.Job.Name {
			return nil, fmt.Sprintf("sidecar %s has the job's name, which names the primary container's log; rename the sidecar", name)
		}
	}
	if c.Image == "" {
		return nil, fmt.Sprintf("container %s has no image: the docker substrate runs every container from an image; set its image", name)
	}
	if c.Privileged && !jl.AllowPrivileged {
		return nil, fmt.Sprintf("container %s asks to be privileged, which this project's job policy forbids: "+
			"set workerTemplate.jobPolicies.allowPrivileged: true in the project, or drop privileged from the job", name)
	}
	pull, fail := pullPolicy(name, c.ImagePullPolicy)
	if fail != "" {
		return nil, fail
	}
	binds, fail := bindMounts(name, c, dirs, jl.UseWorkspace)
	if fail != "" {
		return nil, fail
	}
	res, fail := resources(name, c.Resources)
	if fail != "" {
		return nil, fail
	}
	role := RoleSidecar
	if primary {
		role = RolePrimary
	}
	cfg := &dockerapi.Config{
		Image:      c.Image,
		Env:        envList(jl.Environment[name]),
		WorkingDir: c.WorkingDirectory,
		Labels: map[string]string{
			LabelDataDir: dataDir, LabelEvent: jl.EventID, LabelProject: jl.ProjectID,
			LabelJob: jl.Job.Name, LabelContainer: name, LabelRole: role,
		},
	}
	// Kubernetes semantics: command replaces the image's entrypoint (and
	// drops its cmd); arguments alone replace only its cmd.
	if len(c.Command) > 0 {
		cfg.Entrypoint = slices.Clone(c.Command)
		cfg.Cmd = slices.Clone(c.Arguments)
	} else if len(c.Arguments) > 0 {
		cfg.Cmd = slices.Clone(c.Arguments)
	}
	if c.UseHostDockerSocket {
		binds = append(binds, DockerSocket+":"+DockerSocket)
	}
	withInit := true
	host := &dockerapi.HostConfig{
		Binds:       binds,
		NetworkMode: network,
		Privileged:  c.Privileged,
		Init:        &withInit, // a real PID 1: signals reach the command, zombies are reaped
		Resources:   res,
	}
	return &ctrPlan{name: name, primary: primary, image: c.Image, pull: pull, config: cfg, host: host}, ""
}

// pullPolicy normalises imagePullPolicy. Empty means IfNotPresent (as
// `docker run` does), whatever the tag.
func pullPolicy(name, p string) (string, string) {
	switch strings.ToLower(p) {
	case "", "ifnotpresent":
		return "IfNotPresent", ""
	case "always":
		return "Always", ""
	case "never":
		return "Never", ""
	}
	return "", fmt.Sprintf("container %s: imagePullPolicy %q is not Always, IfNotPresent or Never", name, p)
}

// envList renders an environment in a stable order.
func envList(env map[string]string) []string {
	out := make([]string, 0, len(env))
	for _, k := range slices.Sorted(maps.Keys(env)) {
		out = append(out, k+"="+env[k])
	}
	return out
}

// bindMounts binds the event's source and workspace folders at the
// container's mount paths (the same rules as the local substrate).
func bindMounts(name string, c core.JobContainerSpec, dirs eventDirs, useWorkspace bool) ([]string, string) {
	var binds, targets []string
	add := func(field, target, host string) string {
		if target == "" {
			return ""
		}
		t := path.Clean(target)
		switch {
		case !path.IsAbs(t):
			return fmt.Sprintf("container %s: %s %q is not an absolute path", name, field, target)
		case t == "/":
			return fmt.Sprintf("container %s: %s cannot be /", name, field)
		case strings.Contains(t, ":"):
			return fmt.Sprintf("container %s: %s %q contains ':', which docker bind mounts cannot express", name, field, target)
		case slices.Contains(targets, t):
			return fmt.Sprintf("container %s: sourceMountPath and workspaceMountPath are both %s; use two paths", name, t)
		}
		targets = append(targets, t)
		binds = append(binds, host+":"+t)
		return ""
	}
	if f := add("sourceMountPath", c.SourceMountPath, dirs.source); f != "" {
		return nil, f
	}
	if c.WorkspaceMountPath != "" && !useWorkspace {
		return nil, fmt.Sprintf("container %s asks for workspaceMountPath %s but the worker does not use a workspace; "+
			"set useWorkspace: true in the project's workerTemplate", name, c.WorkspaceMountPath)
	}
	if f := add("workspaceMountPath", c.WorkspaceMountPath, dirs.workspace); f != "" {
		return nil, f
	}
	return binds, ""
}

// resources applies Kubernetes-style requests and limits: limits become
// hard limits (NanoCPUs, Memory), requests become weights and soft limits
// (CPUShares, MemoryReservation).
func resources(name string, r *core.ResourceRequirements) (dockerapi.Resources, string) {
	var out dockerapi.Resources
	if r == nil {
		return out, ""
	}
	field := func(kind string) string { return fmt.Sprintf("container %s: resources.%s", name, kind) }
	if l := r.Limits; l != nil {
		if l.CPU != "" {
			n, err := cpuNanos(l.CPU)
			if err != nil {
				return out, fmt.Sprintf("%s %v", field("limits.cpu"), err)
			}
			out.NanoCPUs = n
		}
		if l.Memory != "" {
			n, err := memoryBytes(l.Memory)
			if err != nil {
				return out, fmt.Sprintf("%s %v", field("limits.memory"), err)
			}
			out.Memory = n
		}
	}
	if q := r.Requests; q != nil {
		if q.CPU != "" {
			n, err := cpuNanos(q.CPU)
			if err != nil {
				return out, fmt.Sprintf("%s %v", field("requests.cpu"), err)
			}
			// Kubernetes' conversion: 1 CPU is 1024 shares, at least 2.
			out.CPUShares = max(2, n*1024/1e9)
		}
		if q.Memory != "" {
			n, err := memoryBytes(q.Memory)
			if err != nil {
				return out, fmt.Sprintf("%s %v", field("requests.memory"), err)
			}
			out.MemoryReservation = n
		}
	}
	if out.Memory > 0 && out.MemoryReservation > out.Memory {
		return out, fmt.Sprintf("container %s: resources.requests.memory is above resources.limits.memory; "+
			"lower the request or raise the limit", name)
	}
	return out, ""
}

// quantityRE is compiled on first use, not at init (see core.SafeName).
var quantityRE = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^([0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE]([+-]?[0-9]+))?(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)?$`)
})

// suffixScale is what a quantity suffix (one quantityRE accepts) multiplies
// by.
func suffixScale(suffix string) *big.Rat {
	switch suffix {
	case "n":
		return big.NewRat(1, 1e9)
	case "u":
		return big.NewRat(1, 1e6)
	case "m":
		return big.NewRat(1, 1e3)
	case "k":
		return big.NewRat(1e3, 1)
	case "M":
		return big.NewRat(1e6, 1)
	case "G":
		return big.NewRat(1e9, 1)
	case "T":
		return big.NewRat(1e12, 1)
	case "P":
		return big.NewRat(1e15, 1)
	case "E":
		return big.NewRat(1e18, 1)
	case "Ki":
		return big.NewRat(1<<10, 1)
	case "Mi":
		return big.NewRat(1<<20, 1)
	case "Gi":
		return big.NewRat(1<<30, 1)
	case "Ti":
		return big.NewRat(1<<40, 1)
	case "Pi":
		return big.NewRat(1<<50, 1)
	case "Ei":
		return big.NewRat(1<<60, 1)
	}
	return big.NewRat(1, 1)
}

// parseQuantity reads a Kubernetes quantity ("500m", "1.5", "128Mi",
// "1e3") exactly.
func parseQuantity(s string) (*big.Rat, error) {
	m := quantityRE().FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		return nil, fmt.Errorf("%q is not a quantity (examples: 500m, 1, 1.5 for CPUs; 64Mi, 1Gi, 500M for memory)", s)
	}
	num := m[1]
	if m[2] != "" {
		num += "e" + m[2]
	}
	v, ok := new(big.Rat).SetString(num)
	if !ok {
		return nil, fmt.Errorf("%q is not a quantity", s)
	}
	return v.Mul(v, suffixScale(m[3])), nil
}

// ceilInt rounds a positive quantity up to an integer that fits an int64.
func ceilInt(v *big.Rat, s string) (int64, error) {
	q, r := new(big.Int).QuoRem(v.Num(), v.Denom(), new(big.Int))
	if r.Sign() != 0 {
		q.Add(q, big.NewInt(1))
	}
	if !q.IsInt64() {
		return 0, fmt.Errorf("%q is too large", s)
	}
	return q.Int64(), nil
}

// cpuNanos converts CPUs to billionths of a CPU.
func cpuNanos(s string) (int64, error) {
	v, err := parseQuantity(s)
	if err != nil {
		return 0, err
	}
	n, err := ceilInt(v.Mul(v, big.NewRat(1e9, 1)), s)
	if err == nil && n <= 0 {
		err = fmt.Errorf("%q is not a positive number of CPUs", s)
	}
	return n, err
}

// memoryBytes converts a memory quantity to bytes.
func memoryBytes(s string) (int64, error) {
	v, err := parseQuantity(s)
	if err != nil {
		return 0, err
	}
	n, err := ceilInt(v, s)
	if err == nil && n <= 0 {
		err = fmt.Errorf("%q is not a positive amount of memory", s)
	}
	return n, err
}

// ignoredNote is the one log line that lists the job's settings the docker
// substrate records but cannot honour on one machine ("" when none is set).
func ignoredNote(j *core.Job) string {
	var parts []string
	if h := j.Spec.Host; h != nil {
		if len(h.NodeSelector) > 0 {
			var kv []string
			for _, k := range slices.Sorted(maps.Keys(h.NodeSelector)) {
				kv = append(kv, k+"="+h.NodeSelector[k])
			}
			parts = append(parts, "host.nodeSelector "+strings.Join(kv, ","))
		}
		if h.Name != "" {
			parts = append(parts, "host.name "+h.Name)
		}
		if h.OS != "" && h.OS != "linux" {
			parts = append(parts, "host.os "+h.OS)
		}
	}
	names := []string{j.Name}
	names = append(names, slices.Sorted(maps.Keys(j.Spec.SidecarContainers))...)
	for i, n := range names {
		c := j.Spec.PrimaryContainer
		if i > 0 {
			c = j.Spec.SidecarContainers[n]
		}
		if c.ServiceAccount != "" {
			parts = append(parts, fmt.Sprintf("serviceAccount %s (container %s)", c.ServiceAccount, n))
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return notePrefix + "docker substrate: ignoring " + strings.Join(parts, "; ") +
		": every container runs on this machine's Docker daemon (these settings choose nodes on Kubernetes)"
}
