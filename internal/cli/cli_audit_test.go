package cli

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

// TestAuditCommand: brig audit lists what brig just did, filters it, and
// prints JSON and YAML; a bad flag is refused before any request.
func TestAuditCommand(t *testing.T) {
	_, addr := startServer(t)
	dir := t.TempDir()
	env := map[string]string{"HOME": filepath.Join(dir, "home"), envRootPassword: testRootPassword}
	brig(t, env, "", "login", "-s", addr, "--root")
	brigFails(t, env, "", "project", "get", "nope") // a read: not audited
	brigFails(t, env, "", "event", "cancel", "nope")

	out := brig(t, env, "", "audit")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "TIME") ||
		!strings.Contains(lines[1], "ROOT:root") || !strings.Contains(lines[1], "PUT /v2/events/{id}/cancellation") ||
		!strings.Contains(lines[1], "events/nope") || !strings.Contains(lines[1], "404") ||
		!strings.Contains(lines[2], "POST /v2/sessions") || !strings.Contains(lines[2], "201") {
		t.Fatalf("brig audit:\n%s", out)
	}

	out = brig(t, env, "", "audit", "--action", "/sessions", "-o", "json")
	var list struct {
		Kind  string
		Items []struct {
			Action    string
			Principal struct{ Kind, ID string }
		}
	}
	if err := json.Unmarshal([]byte(out), &list); err != nil || list.Kind != "AuditEntryList" || len(list.Items) != 1 ||
		list.Items[0].Principal.Kind != "ROOT" {
		t.Fatalf("brig audit -o json (%v):\n%s", err, out)
	}
	if out := brig(t, env, "", "audit", "--principal", "worker", "--since", "1h", "-o", "yaml"); !strings.Contains(out, "kind: AuditEntryList") ||
		!strings.Contains(out, "items: []") {
		t.Fatalf("brig audit -o yaml:\n%s", out)
	}
	if out := brig(t, env, "", "audit", "--object", "projects/none"); out != "No audit entries found.\n" {
		t.Fatalf("no entries: %q", out)
	}
	for _, args := range [][]string{{"--since", "yesterday"}, {"-o", "xml"}, {"--limit", "0"}} {
		brigFails(t, env, "", append([]string{"audit"}, args...)...)
	}
}
