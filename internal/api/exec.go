package api

import (
	"context"
	"fmt"
	"maps"

	"github.com/brigadeplatform/brigade/internal/auth"
	"github.com/brigadeplatform/brigade/internal/core"
)

// An event may carry its own config files (an addition to Brigade v2, see
// docs/api.md): `brig exec -f brigade.js` sends the local script that way.
// Such files are code the worker runs with the project's secrets, so:
//
//   - the event must name its project (no fan-out to every subscriber);
//   - the caller must hold PROJECT_DEVELOPER on that project, the role that
//     may change the project's script;
//   - the files go into that one event's worker spec (worker.spec.configFiles)
//     and never into the project.

// maxConfigFileName bounds a config file's name (the schema says the same).
const maxConfigFileName = 255

// checkEventConfigFiles applies the rules above to an event about to be
// created, cloned or retried. An event without config files passes.
func checkEventConfigFiles(ctx context.Context, ev *core.Event) error {
	if len(ev.ConfigFiles) == 0 {
		return nil
	}
	if ev.ProjectID == "" {
		return core.NewBadRequest("an event with configFiles must name its projectID: " +
			"config files run as that project's script, so they cannot be sent to every subscriber")
	}
	for name := range ev.ConfigFiles {
		if err := checkConfigFileName(name); err != nil {
			return err
		}
	}
	p, err := caller(ctx)
	if err != nil {
		return err
	}
	if !p.HasProjectRole(ev.ProjectID, auth.RoleProjectDeveloper) {
		return &core.AuthorizationError{Reason: fmt.Sprintf(
			"an event with configFiles runs code of the caller's choosing: it needs the %s role on project %q",
			auth.RoleProjectDeveloper, ev.ProjectID)}
	}
	return nil
}

// checkConfigFileName refuses names that could leave the worker's config
// folder (see checkRelFile).
func checkConfigFileName(name string) error { return checkRelFile("configFiles", name) }

// applyEventConfigFiles puts an event's own files into its worker spec,
// over any the spec already has (a retry's are the same files).
func applyEventConfigFiles(spec *core.WorkerSpec, ev *core.Event) {
	if len(ev.ConfigFiles) == 0 {
		return
	}
	files := maps.Clone(spec.ConfigFiles)
	if files == nil {
		files = make(map[string]string, len(ev.ConfigFiles))
	}
	maps.Copy(files, ev.ConfigFiles)
	spec.ConfigFiles = files
}

// eventConfigFiles returns the files a clone or retry of orig must carry.
func eventConfigFiles(orig *core.Event) map[string]string {
	if orig.Worker == nil {
		return maps.Clone(orig.ConfigFiles)
	}
	return maps.Clone(orig.Worker.Spec.ConfigFiles)
}
