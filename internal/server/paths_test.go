package server_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/brigadeplatform/brigade/internal/core"
)

// Every host path a project, an event or a job can name is refused at the
// API when it could leave its folder (docs/security.md, "Paths").
func TestPathsThatLeaveTheirFolderAreRefused(t *testing.T) {
	ts := newTestServer(t)
	withTemplate := func(id string, set func(w map[string]any)) map[string]any {
		b := projectBody(id)
		set(b["spec"].(map[string]any)["workerTemplate"].(map[string]any))
		return b
	}
	refused := func(t *testing.T, method, path, token string, body any, says ...string) {
		t.Helper()
		m := ts.expectError(400, "BadRequestError", method, path, token, body)
		said := fmt.Sprint(m["reason"], m["details"])
		for _, s := range says {
			if !strings.Contains(said, s) {
				t.Errorf("error %q does not say %q", said, s)
			}
		}
	}
	for name, dir := range map[string]string{
		"Traversal": "../../../../escaped-cfgdir", "Inner": "config/../../x", "Absolute": "/etc", "Backslash": `..\x`,
	} {
		t.Run("ConfigFilesDirectory"+name, func(t *testing.T) {
			body := withTemplate("p-"+strings.ToLower(name), func(w map[string]any) { w["configFilesDirectory"] = dir })
			refused(t, "POST", "/v2/projects", ts.root, body, "configFilesDirectory", "inside the project's source")
			ts.expectError(404, "NotFoundError", "GET", "/v2/projects/p-"+strings.ToLower(name), ts.root, nil)
		})
	}
	t.Run("ConfigFilesDirectoryOnUpdate", func(t *testing.T) {
		ts.createProject("upd")
		body := withTemplate("upd", func(w map[string]any) { w["configFilesDirectory"] = "../up" })
		refused(t, "PUT", "/v2/projects/upd", ts.root, body, "configFilesDirectory")
		ok := withTemplate("upd", func(w map[string]any) { w["configFilesDirectory"] = ".brigade/v2" })
		ts.expect(200, "PUT", "/v2/projects/upd", ts.root, ok)
	})
	for name, file := range map[string]string{
		"Traversal": "../brigade.js", "Absolute": "/tmp/brigade.js", "Inner": "a/../../b.js", "Empty": "",
	} {
		t.Run("DefaultConfigFile"+name, func(t *testing.T) {
			body := withTemplate("d-"+strings.ToLower(name), func(w map[string]any) {
				w["defaultConfigFiles"] = map[string]string{file: "x"}
			})
			refused(t, "POST", "/v2/projects", ts.root, body, "defaultConfigFiles")
		})
	}
	t.Run("EventConfigFile", func(t *testing.T) {
		ts.createProject("execp")
		for _, file := range []string{"../brigade.js", "/tmp/brigade.js", "x/../../y"} {
			body := eventBody("brigade.sh/cli", "exec", map[string]any{
				"projectID": "execp", "configFiles": map[string]string{file: "x"}})
			refused(t, "POST", "/v2/events", ts.root, body, "configFiles")
		}
	})
	t.Run("JobMountPaths", func(t *testing.T) {
		ts.createProject("jobs", core.EventSubscription{Source: "paths", Types: []string{"*"}})
		id := ts.createEvents(eventBody("paths", "t", nil))[0].Metadata.ID
		wt := ts.startWorker(id)
		for field, p := range map[string]string{
			"sourceMountPath": "/src/../../etc", "workspaceMountPath": "relative/ws",
		} {
			c := map[string]any{"image": "debian:12", "command": []string{"true"}, field: p}
			refused(t, "POST", "/v2/events/"+id+"/worker/jobs", wt, jobBody("job-a", c), field, "absolute path")
		}
		c := map[string]any{"image": "debian:12", "command": []string{"true"}, "sourceMountPath": "/src"}
		ts.expect(201, "POST", "/v2/events/"+id+"/worker/jobs", wt, jobBody("job-a", c))
	})
}
