package cli

import (
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/brigadeplatform/brigade/internal/core"
	"github.com/brigadeplatform/brigade/internal/server"
	"github.com/brigadeplatform/brigade/internal/testenv"
)

// saToken picks the token out of what `brig sa create` or `unlock` print.
func saToken(t *testing.T, out string) string {
	t.Helper()
	for _, line := range strings.Split(out, "\n") {
		if s := strings.TrimSpace(line); len(s) == 256 {
			return s
		}
	}
	t.Fatalf("no token in:\n%s", out)
	return ""
}

// TestCLIGatewayFlow follows Brigade's gateway setup with brig: a service
// account with EVENT_CREATOR for its source creates events from it and
// from no other; locked, its token is refused; unlocked, a new one works.
// Users appear on their first login; brig lists, locks and deletes them.
func TestCLIGatewayFlow(t *testing.T) {
	srv, _ := testenv.Server(t, server.Config{Substrate: "none", RootPassword: testRootPassword, ThirdPartyAuth: true})
	addr := "http://" + srv.Addr()
	ctx := t.Context()
	root, err := testenv.RootClient(ctx, srv, testRootPassword)
	if err != nil {
		t.Fatal(err)
	}
	subs := []core.EventSubscription{{Source: "example.com/gw", Types: []string{"push"}}, {Source: "example.com/other", Types: []string{"push"}}}
	if _, err := root.CreateProject(ctx, &core.Project{Metadata: core.ObjectMeta{ID: "demo"}, Spec: core.ProjectSpec{EventSubscriptions: subs}}); err != nil {
		t.Fatal(err)
	}
	asRoot := map[string]string{envConfig: filepath.Join(t.TempDir(), "config"), envServer: addr, envToken: root.Token()}

	out := brig(t, asRoot, "", "sa", "create", "-i", "gateway", "-d", "events from the gateway")
	if !strings.HasPrefix(out, "\nService account \"gateway\" created with token:\n") || !strings.Contains(out, "Store this token") {
		t.Fatalf("sa create:\n%s", out)
	}
	gwToken := saToken(t, out)
	if stderr := brigFails(t, asRoot, "", "sa", "create", "-i", "gateway", "-d", "again"); stderr != "brig: A service account with the ID \"gateway\" already exists.\n" {
		t.Fatalf("duplicate: %q", stderr)
	}
	if stderr := brigFails(t, asRoot, "", "sa", "create", "-i", "x"); !strings.Contains(stderr, "--description") {
		t.Fatalf("missing flags: %q", stderr)
	}
	out = brig(t, asRoot, "", "role", "grant", "EVENT_CREATOR", "--source", "example.com/gw", "-s", "gateway")
	if out != "Granted role \"EVENT_CREATOR\" to service account \"gateway\".\n" {
		t.Fatalf("role grant: %q", out)
	}
	if stderr := brigFails(t, asRoot, "", "role", "grant", "EVENT_CREATOR", "-s", "gateway"); !strings.Contains(stderr, "--source") {
		t.Fatalf("EVENT_CREATOR without a source: %q", stderr)
	}
	out = brig(t, asRoot, "", "role", "list", "-s", "gateway")
	if lines := strings.Split(strings.TrimSpace(out), "\n"); len(lines) != 2 ||
		strings.Join(strings.Fields(lines[1]), " ") != "SERVICE_ACCOUNT gateway EVENT_CREATOR example.com/gw" {
		t.Fatalf("role list:\n%s", out)
	}

	asGateway := map[string]string{envConfig: filepath.Join(t.TempDir(), "config"), envServer: addr, envToken: gwToken}
	eventID(t, brig(t, asGateway, "", "event", "create", "-p", "demo", "-s", "example.com/gw", "-t", "push"))
	if stderr := brigFails(t, asGateway, "", "event", "create", "-p", "demo", "-s", "example.com/other", "-t", "push"); !strings.HasPrefix(stderr, "brig: The request is not authorized") {
		t.Fatalf("another source: %q", stderr)
	}
	if out := brig(t, asRoot, "", "sa", "lock", "gateway"); out != "Service account \"gateway\" locked.\n" {
		t.Fatalf("sa lock: %q", out)
	}
	if stderr := brigFails(t, asGateway, "", "event", "create", "-p", "demo", "-s", "example.com/gw", "-t", "push"); !strings.Contains(stderr, "is locked") {
		t.Fatalf("locked: %q", stderr)
	}
	out = brig(t, asRoot, "", "sa", "list")
	if lines := strings.Split(strings.TrimSpace(out), "\n"); len(lines) != 2 || !strings.HasPrefix(lines[1], "gateway") || !strings.HasSuffix(lines[1], "yes") {
		t.Fatalf("sa list:\n%s", out)
	}
	asGateway[envToken] = saToken(t, brig(t, asRoot, "", "sa", "unlock", "-i", "gateway"))
	eventID(t, brig(t, asGateway, "", "event", "create", "-p", "demo", "-s", "example.com/gw", "-t", "push"))
	if out := brig(t, asRoot, "", "sa", "get", "-i", "gateway", "-o", "json"); !strings.Contains(out, `"kind": "ServiceAccount"`) {
		t.Fatalf("sa get:\n%s", out)
	}

	// Users, and project roles for them.
	if _, err := srv.Service().EnsureUser(ctx, "ann@example.com", "Ann"); err != nil {
		t.Fatal(err)
	}
	out = brig(t, asRoot, "", "user", "list")
	if lines := strings.Split(strings.TrimSpace(out), "\n"); len(lines) != 2 || !strings.HasPrefix(lines[1], "ann@example.com") {
		t.Fatalf("user list:\n%s", out)
	}
	out = brig(t, asRoot, "", "project", "role", "grant", "PROJECT_USER", "-p", "demo", "-u", "ann@example.com", "-s", "gateway")
	if !strings.Contains(out, "Granted role \"PROJECT_USER\" on project \"demo\" to user \"ann@example.com\".\n") {
		t.Fatalf("project role grant: %q", out)
	}
	out = brig(t, asRoot, "", "project", "role", "list", "-p", "demo", "-r", "project_user")
	if lines := strings.Split(strings.TrimSpace(out), "\n"); len(lines) != 3 {
		t.Fatalf("project role list:\n%s", out)
	}
	brig(t, asRoot, "", "project", "role", "revoke", "PROJECT_USER", "-p", "demo", "-s", "gateway")
	out = brig(t, asRoot, "", "project", "role", "list", "-p", "demo")
	if lines := strings.Split(strings.TrimSpace(out), "\n"); len(lines) != 2 || !strings.Contains(lines[1], "ann@example.com") {
		t.Fatalf("after the revoke:\n%s", out)
	}
	if out := brig(t, asRoot, "", "user", "lock", "ann@example.com"); out != "User \"ann@example.com\" locked.\n" {
		t.Fatalf("user lock: %q", out)
	}
	if out := brig(t, asRoot, "", "user", "get", "ann@example.com", "-o", "yaml"); !strings.Contains(out, "locked: \"20") {
		t.Fatalf("user get:\n%s", out)
	}
	if out := brig(t, asRoot, "", "user", "get", "ann@example.com"); !regexp.MustCompile(`(?m)^Locked: +yes, \S+ ago$`).MatchString(out) {
		t.Fatalf("user get:\n%s", out)
	}
	if out := brig(t, asRoot, "", "sa", "get", "gateway"); !regexp.MustCompile(`(?m)^ID: +gateway$`).MatchString(out) {
		t.Fatalf("sa get:\n%s", out)
	}
	brig(t, asRoot, "", "user", "unlock", "ann@example.com")
	if out := brig(t, asRoot, "y\n", "user", "delete", "ann@example.com"); !strings.Contains(out, "User \"ann@example.com\" deleted.\n") {
		t.Fatalf("user delete: %q", out)
	}
	if out := brig(t, asRoot, "", "user", "list"); out != "No users found.\n" {
		t.Fatalf("user list after delete: %q", out)
	}
	brig(t, asRoot, "", "role", "revoke", "EVENT_CREATOR", "--source", "example.com/gw", "-s", "gateway")
	if stderr := brigFails(t, asGateway, "", "event", "create", "-p", "demo", "-s", "example.com/gw", "-t", "push"); !strings.HasPrefix(stderr, "brig: The request is not authorized") {
		t.Fatalf("after the revoke: %q", stderr)
	}
	brig(t, asRoot, "", "sa", "delete", "gateway", "-y")
	if out := brig(t, asRoot, "", "sa", "list"); out != "No service accounts found.\n" {
		t.Fatalf("sa list after delete: %q", out)
	}
}

// TestRoleAndAccountFlagsAreChecked: wrong flags are refused before any
// request, with what to fix.
func TestRoleAndAccountFlagsAreChecked(t *testing.T) {
	env := map[string]string{envServer: "http://127.0.0.1:1", envToken: "t"}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"sa", "lock"}, "which service account? give its ID as the argument or with -i (--id); `brig service-account list` shows them"},
		{[]string{"sa", "lock", "a", "-i", "b"}, "name different service accounts"},
		{[]string{"sa", "create", "-i", "gateway"}, "--description (-d)"},
		{[]string{"sa", "create", "-i", "gateway", "-d", "x", "-o", "xml"}, "not a format"},
		{[]string{"user", "unlock"}, "which user? give its ID"},
		{[]string{"role", "grant", "WORKER", "-u", "a@b.co"}, `"WORKER" is not a role here`},
		{[]string{"role", "grant", "READER"}, "--user or --service-account"},
		{[]string{"role", "grant", "READER", "--source", "x/y", "-s", "gw"}, "--source goes with EVENT_CREATOR only"},
		{[]string{"role", "revoke", "EVENT_CREATOR", "-s", "gw"}, "name it with --source"},
		{[]string{"project", "role", "grant", "PROJECT_USER", "-u", "a@b.co"}, "-p (--project)"},
		{[]string{"project", "role", "grant", "READER", "-p", "demo", "-u", "a@b.co"}, `"READER" is not a role here`},
		{[]string{"role", "list", "-u", "a@b.co", "-s", "gw"}, "mutually exclusive"},
	} {
		_, stderr, code := run(t, env, "", c.args...)
		if code != 1 || !strings.Contains(stderr, c.want) {
			t.Errorf("brig %s: exit %d, stderr %q; want it to say %q", strings.Join(c.args, " "), code, stderr, c.want)
		}
	}
}
