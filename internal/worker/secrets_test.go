package worker

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// A worker whose event.json leaves the secrets out fetches them with its
// token, and scripts see them as if they had been in the file.
func TestSecretsFromAPI(t *testing.T) {
	for name, c := range map[string]struct {
		secrets map[string]string
		want    string
	}{
		"Some": {map[string]string{"token": "abc-123"}, `secrets {"token":"abc-123"} flag false`},
		"None": {map[string]string{}, `secrets {} flag false`},
	} {
		t.Run(name, func(t *testing.T) {
			doc := baseDoc()
			doc.Project.Secrets, doc.Worker.SecretsFromAPI = nil, true
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.Method != http.MethodGet || r.URL.Path != "/v2/events/"+doc.ID+"/worker/secrets" ||
					r.Header.Get("Authorization") != "Bearer "+doc.Worker.APIToken {
					http.Error(w, "unexpected request", http.StatusNotFound)
					return
				}
				json.NewEncoder(w).Encode(map[string]any{"apiVersion": "brigade.sh/v2", "kind": "WorkerSecrets", "secrets": c.secrets})
			}))
			defer srv.Close()
			doc.Worker.APIAddress = srv.URL
			doc.Worker.DefaultConfigFiles = map[string]string{"brigade.js": `const { events } = require("@brigadecore/brigadier");
events.on("brigade.sh/cli", "exec", async event => {
  console.log("secrets " + JSON.stringify(event.project.secrets) + " flag " + ("secretsFromAPI" in event.worker));
});
events.process();`}
			code, out := runWorker(t, doc)
			if code != 0 || !strings.Contains(out, c.want) {
				t.Fatalf("exit %d, want %q in:\n%s", code, c.want, out)
			}
		})
	}
	t.Run("UnreachableAPIFailsTheWorker", func(t *testing.T) {
		doc := baseDoc()
		doc.Project.Secrets, doc.Worker.SecretsFromAPI = nil, true
		doc.Worker.DefaultConfigFiles = map[string]string{"brigade.js": `console.log("ran")`}
		code, out := runWorker(t, doc)
		if code == 0 || !strings.Contains(out, "fetching the project's secrets from the API") || strings.Contains(out, "ran\n") {
			t.Fatalf("exit %d:\n%s", code, out)
		}
	})
}
