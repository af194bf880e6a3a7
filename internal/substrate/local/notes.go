package local

import (
	"fmt"
	"maps"
	"runtime"
	"slices"
	"strings"

	"github.com/brigadeplatform/brigade/internal/core"
)

// unhonoured lists what a job asks for that host processes cannot give:
// the substrate keeps it on the job (the API shows it) and says so once in
// the container's log. The kubernetes and docker substrates honour more.
func unhonoured(spec *core.JobSpec, c *core.JobContainerSpec, primary bool) string {
	var what []string
	if primary {
		if h := spec.Host; h != nil {
			if h.Name != "" {
				what = append(what, fmt.Sprintf("host.name %q", h.Name))
			}
			if len(h.NodeSelector) > 0 {
				var pairs []string
				for _, k := range slices.Sorted(maps.Keys(h.NodeSelector)) {
					pairs = append(pairs, k+"="+h.NodeSelector[k])
				}
				what = append(what, "host.nodeSelector "+strings.Join(pairs, ","))
			}
			if h.OS == "windows" && runtime.GOOS != "windows" {
				what = append(what, fmt.Sprintf(`host.os "windows" (the local substrate runs jobs as processes of this %s host: `+
					`Windows commands such as cmd.exe cannot run here; use a substrate with Windows nodes)`, runtime.GOOS))
			}
		}
		if spec.Cache != nil {
			what = append(what, fmt.Sprintf("cache at %q", spec.Cache.Path))
		}
	}
	if r := c.Resources; r != nil {
		if q := quantities(r.Requests); q != "" {
			what = append(what, "resource requests "+q)
		}
		if q := quantities(r.Limits); q != "" {
			what = append(what, "resource limits "+q)
		}
	}
	if c.ServiceAccount != "" {
		what = append(what, fmt.Sprintf("serviceAccount %q", c.ServiceAccount))
	}
	if c.Privileged {
		what = append(what, "privileged (it runs as the server's user)")
	}
	if c.UseHostDockerSocket {
		what = append(what, "useHostDockerSocket (the host's Docker, if any, is reachable as usual)")
	}
	if len(what) == 0 {
		return ""
	}
	return notePrefix + "local substrate: recorded but not applied to host processes: " + strings.Join(what, "; ")
}

func quantities(r *core.Resources) string {
	if r == nil {
		return ""
	}
	var q []string
	if r.CPU != "" {
		q = append(q, "cpu="+r.CPU)
	}
	if r.Memory != "" {
		q = append(q, "memory="+r.Memory)
	}
	return strings.Join(q, ",")
}
