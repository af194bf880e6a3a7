package api

import (
	"fmt"
	"path"
	"strings"

	"github.com/brigadeplatform/brigade/internal/core"
)

// Paths a project, an event or a job names become paths on the host where
// a substrate runs workers and jobs. Every one of them must stay inside its
// event's folder (docs/security.md, "Paths"): the API refuses the ones that
// could leave it, and the worker and the substrates check again when they
// use them (a symlink from git can only be caught there).

// checkProjectPaths refuses a project whose worker template names a config
// folder or default config files outside the worker's source folder.
func checkProjectPaths(p *core.Project) error {
	w := p.Spec.WorkerTemplate
	if err := checkConfigDir(w.ConfigFilesDirectory); err != nil {
		return err
	}
	for name := range w.DefaultConfigFiles {
		if err := checkRelFile("spec.workerTemplate.defaultConfigFiles", name); err != nil {
			return err
		}
	}
	return nil
}

// checkConfigDir accepts "" or "." (the source folder itself) and relative
// folders below it.
func checkConfigDir(dir string) error {
	bad := func(why string) error {
		return core.NewBadRequest(fmt.Sprintf(
			"spec.workerTemplate.configFilesDirectory %q %s: name a folder inside the project's source, such as . or .brigade", dir, why))
	}
	switch {
	case dir == "" || dir == ".":
		return nil
	case len(dir) > maxConfigFileName:
		return bad(fmt.Sprintf("is longer than %d characters", maxConfigFileName))
	case strings.HasPrefix(dir, "/"):
		return bad("is an absolute path")
	case strings.ContainsAny(dir, "\\\x00"):
		return bad("contains a backslash or NUL")
	}
	for seg := range strings.SplitSeq(dir, "/") {
		if seg == ".." {
			return bad("has a .. segment, which leaves the source folder")
		}
	}
	return nil
}

// checkRelFile refuses a file name (field names where it came from) that
// could leave its folder: absolute paths, empty, "." or ".." segments,
// backslashes and NUL.
func checkRelFile(field, name string) error {
	bad := func(why string) error {
		return core.NewBadRequest(fmt.Sprintf("%s name %q %s: use a relative file name such as brigade.js", field, name, why))
	}
	switch {
	case name == "" || len(name) > maxConfigFileName:
		return bad(fmt.Sprintf("must have 1 to %d characters", maxConfigFileName))
	case strings.HasPrefix(name, "/"):
		return bad("is absolute")
	case strings.ContainsAny(name, "\\\x00"):
		return bad("contains a backslash or NUL")
	}
	for seg := range strings.SplitSeq(name, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return bad("has an empty, . or .. path segment")
		}
	}
	return nil
}

// checkJobPaths refuses mount paths that are not clean absolute paths in
// the job's container: on the local substrate they are where the event's
// source and workspace folders appear, and a path that climbs with ..
// names another place than it seems to.
func checkJobPaths(job *core.Job) error {
	for name, c := range containers(job) {
		for field, p := range map[string]string{
			"sourceMountPath": c.SourceMountPath, "workspaceMountPath": c.WorkspaceMountPath,
		} {
			if p == "" {
				continue
			}
			if !strings.HasPrefix(p, "/") || path.Clean(p) == "/" || strings.ContainsRune(p, 0) ||
				strings.Contains("/"+p+"/", "/../") {
				return core.NewBadRequest(fmt.Sprintf(
					"container %q of job %q: %s %q must be an absolute path other than / without .. segments, such as /src",
					name, job.Name, field, p))
			}
		}
	}
	return nil
}
