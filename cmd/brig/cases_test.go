package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/brigadeplatform/brigade/internal/client"
	"github.com/brigadeplatform/brigade/internal/core"
	"github.com/brigadeplatform/brigade/internal/idp/idptest"
	"github.com/brigadeplatform/brigade/internal/server"
	"github.com/brigadeplatform/brigade/internal/testenv"
)

const rootPassword = "commands-test-password"

const demoProject = `metadata:
  id: demo
description: %s
spec:
  eventSubscriptions:
  - source: brigade.sh/cli
    types: [exec]
  workerTemplate:
    defaultConfigFiles:
      brigade.js: console.log("never runs here")
`

// testAdministration: logins, projects, secrets, events that stay pending,
// service accounts, roles, users and the audit log, on a server whose
// events do not run and whose people log in through a test identity
// provider.
func testAdministration(t *testing.T, runs *brigRuns) {
	prov := idptest.Start(t, idptest.Account{Email: "ada@example.com", Name: "Ada Lovelace"})
	srv, _ := testenv.Server(t, server.Config{Substrate: "none", RootPassword: rootPassword,
		Login: server.LoginConfig{OIDCIssuerURL: prov.URL, OIDCClientID: prov.ClientID, OIDCClientSecret: prov.ClientSecret}})
	addr := "http://" + srv.Addr()
	dir := t.TempDir()
	root := runs.session("BRIGADE_CONFIG=" + filepath.Join(dir, "root-config"))

	if out := root.ok(t); !strings.Contains(out, "Available Commands:") {
		t.Errorf("brig alone:\n%s", out)
	}
	if out := root.ok(t, "login", "-s", addr, "--root", "-p", rootPassword); out != "Logged in to "+addr+" as root.\n" {
		t.Fatalf("login: %q", out)
	}
	if out := root.ok(t, "whoami"); out != "ROOT root on "+addr+"\n" {
		t.Errorf("whoami: %q", out)
	}
	var me core.PrincipalReference
	decodeAs(t, root.ok(t, "whoami", "-o", "json"), "PrincipalReference", &me)
	if me.Type != core.PrincipalTypeRoot {
		t.Errorf("whoami -o json: %+v", me)
	}
	contains(t, "version", root.ok(t, "version"), "Client version: ", "Server version: ")

	t.Run("Projects", func(t *testing.T) {
		file := writeFile(t, dir, "project.yaml", strings.Replace(demoProject, "%s", "first", 1))
		if out := root.ok(t, "project", "create", "-f", file); !strings.Contains(out, `"demo"`) {
			t.Errorf("project create: %q", out)
		}
		root.fails(t, "project", "create", "-f", file) // it exists
		updated := writeFile(t, dir, "updated.yaml", strings.Replace(demoProject, "%s", "second", 1))
		if out := root.ok(t, "project", "update", "-f", updated); out != "Updated project \"demo\".\n" {
			t.Errorf("project update: %q", out)
		}
		var p core.Project
		decodeAs(t, root.ok(t, "project", "get", "demo", "-o", "json"), "Project", &p)
		if p.Metadata.ID != "demo" || p.Description != "second" {
			t.Errorf("project get -o json: %+v", p)
		}
		contains(t, "project get", root.ok(t, "project", "get", "-i", "demo"), "second", "brigade.sh/cli exec")
		var l client.List[core.Project]
		decodeAs(t, root.ok(t, "project", "list", "-o", "json"), "ProjectList", &l)
		if len(l.Items) != 1 || l.Items[0].Metadata.ID != "demo" {
			t.Errorf("project list -o json: %+v", l)
		}
		contains(t, "project list", root.ok(t, "projects", "ls"), "demo")
		contains(t, "project get nope", root.fails(t, "project", "get", "nope"), "not found")
	})

	t.Run("Secrets", func(t *testing.T) {
		file := writeFile(t, dir, "secrets.yaml", "greeting: hi\n")
		out := root.ok(t, "project", "secret", "set", "demo", "-f", file, "--set", "token=abc")
		contains(t, "secret set", out, `Set secret "greeting" of project "demo".`, `Set secret "token" of project "demo".`)
		var l client.List[core.Secret]
		decodeAs(t, root.ok(t, "project", "secret", "list", "demo", "-o", "json"), "SecretList", &l)
		if len(l.Items) != 2 || l.Items[0].Key != "greeting" || l.Items[0].Value != "" {
			t.Errorf("secret list -o json: %+v", l)
		}
		root.ok(t, "project", "secret", "unset", "demo", "-u", "token")
		if out := root.ok(t, "project", "secrets", "list", "-p", "demo"); strings.Contains(out, "token") || !strings.Contains(out, "greeting") {
			t.Errorf("after unset:\n%s", out)
		}
		root.fails(t, "project", "secret", "unset", "nope", "-u", "token")
	})

	t.Run("PendingEvents", func(t *testing.T) {
		var ids []string
		for range 3 {
			ids = append(ids, createdID(t, root.ok(t, "event", "create", "-p", "demo", "--payload", "p", "-l", "tier=web")))
		}
		var l client.List[core.Event]
		decodeAs(t, root.ok(t, "event", "list", "-p", "demo", "-o", "json"), "EventList", &l)
		if len(l.Items) != 3 {
			t.Fatalf("event list -o json: %+v", l)
		}
		var e core.Event
		decodeAs(t, root.ok(t, "event", "get", ids[0], "-o", "json"), "Event", &e)
		if e.Metadata.ID != ids[0] || e.ProjectID != "demo" || e.Payload != "p" || e.Labels["tier"] != "web" || e.Worker.Status.Phase != core.PhasePending {
			t.Errorf("event get -o json: %+v", e)
		}
		var jobs client.List[core.Job]
		decodeAs(t, root.ok(t, "job", "list", ids[0], "-o", "json"), "JobList", &jobs)
		if len(jobs.Items) != 0 {
			t.Errorf("jobs of a pending event: %+v", jobs)
		}
		if out := root.ok(t, "event", "cancel", ids[0]); out != "Canceled event \""+ids[0]+"\".\n" {
			t.Errorf("event cancel: %q", out)
		}
		contains(t, "event cancel-many", root.ok(t, "event", "cancel-many", "-p", "demo", "-y"), `Canceled 2 event(s) of project "demo".`)
		decodeAs(t, root.ok(t, "event", "list", "--canceled", "-o", "json"), "EventList", &l)
		if len(l.Items) != 3 {
			t.Errorf("canceled events: %+v", l.Items)
		}
		if out := root.ok(t, "event", "delete", "-i", ids[0], "-y"); out != "Deleted event \""+ids[0]+"\".\n" {
			t.Errorf("event delete: %q", out)
		}
		contains(t, "deleted event", root.fails(t, "event", "get", ids[0]), "not found", "`brig event list` shows what exists")
		contains(t, "event delete-many", root.ok(t, "event", "delete-many", "-p", "demo", "--terminal", "-y"), `Deleted 2 event(s) of project "demo".`)
		if out := root.ok(t, "event", "list"); out != "No events found.\n" {
			t.Errorf("after delete-many: %q", out)
		}
		root.fails(t, "event", "cancel", "nope")
		root.fails(t, "job", "list", "nope")
	})

	t.Run("ServiceAccountsAndRoles", func(t *testing.T) {
		var tok core.Token
		decodeAs(t, root.ok(t, "service-account", "create", "-i", "gateway", "-d", "a gateway", "-o", "json"), "Token", &tok)
		var sas client.List[core.ServiceAccount]
		decodeAs(t, root.ok(t, "sa", "list", "-o", "json"), "ServiceAccountList", &sas)
		if len(sas.Items) != 1 || sas.Items[0].Metadata.ID != "gateway" || sas.Items[0].Description != "a gateway" {
			t.Errorf("sa list -o json: %+v", sas)
		}
		var sa core.ServiceAccount
		decodeAs(t, root.ok(t, "sa", "get", "gateway", "-o", "json"), "ServiceAccount", &sa)
		if sa.Metadata.ID != "gateway" || sa.Locked != nil {
			t.Errorf("sa get -o json: %+v", sa)
		}
		root.ok(t, "role", "grant", "EVENT_CREATOR", "--source", "brigade.sh/cli", "-s", "gateway")
		root.ok(t, "role", "grant", "READER", "--service-account", "gateway")
		var roles client.List[core.RoleAssignment]
		decodeAs(t, root.ok(t, "role", "list", "-s", "gateway", "-o", "json"), "RoleAssignmentList", &roles)
		if len(roles.Items) != 2 {
			t.Errorf("role list -o json: %+v", roles)
		}
		root.ok(t, "project", "role", "grant", "PROJECT_DEVELOPER", "-p", "demo", "-s", "gateway")
		var projectRoles client.List[core.ProjectRoleAssignment]
		decodeAs(t, root.ok(t, "project", "role", "list", "-p", "demo", "-o", "json"), "ProjectRoleAssignmentList", &projectRoles)
		if len(projectRoles.Items) != 1 || projectRoles.Items[0].Principal.ID != "gateway" || projectRoles.Items[0].Role != "PROJECT_DEVELOPER" {
			t.Errorf("project role list -o json: %+v", projectRoles)
		}
		root.ok(t, "project", "role", "revoke", "PROJECT_DEVELOPER", "-p", "demo", "-s", "gateway")

		asGateway := runs.session("BRIGADE_SERVER="+addr, "BRIGADE_TOKEN="+tok.Value)
		contains(t, "whoami as the service account", asGateway.ok(t, "whoami"), "SERVICE_ACCOUNT gateway")
		createdID(t, asGateway.ok(t, "event", "create", "-p", "demo"))
		contains(t, "another source", asGateway.fails(t, "event", "create", "-p", "demo", "-s", "example.com/other"), "not authorized")
		root.ok(t, "sa", "lock", "gateway")
		contains(t, "a locked account", asGateway.fails(t, "event", "create", "-p", "demo"), "locked")
		out := root.ok(t, "sa", "unlock", "-i", "gateway")
		newToken := regexp.MustCompile(`(?m)^\s+(\S{40,})$`).FindStringSubmatch(out)
		if newToken == nil {
			t.Fatalf("sa unlock printed no token:\n%s", out)
		}
		createdID(t, runs.session("BRIGADE_SERVER="+addr, "BRIGADE_TOKEN="+newToken[1]).ok(t, "event", "create", "-p", "demo"))
		root.ok(t, "role", "revoke", "EVENT_CREATOR", "--source", "brigade.sh/cli", "-s", "gateway")
		root.ok(t, "sa", "delete", "gateway", "-y")
		root.fails(t, "sa", "get", "gateway")
	})

	t.Run("PeopleLogInWithABrowser", func(t *testing.T) {
		pathEnv, done := fakeBrowser(t)
		ada := runs.session("BRIGADE_CONFIG="+filepath.Join(dir, "ada-config"), pathEnv, "BRIG_TEST_BROWSER_DONE="+done)
		out := ada.ok(t, "login", "-s", addr, "--browse")
		contains(t, "login --browse", out, prov.URL+"/authorize?", "Your token is saved")
		var page []byte
		waitFor(t, "the browser to come back from the identity provider", func() bool {
			var err error
			page, err = os.ReadFile(done)
			return err == nil
		})
		if !strings.HasPrefix(string(page), "200 OK\n") || !strings.Contains(string(page), "You are logged in") {
			t.Fatalf("the browser ended on:\n%s", page)
		}
		if out := ada.ok(t, "whoami"); out != "USER ada@example.com on "+addr+"\n" {
			t.Errorf("whoami after the browser login: %q", out)
		}
		// brig dashboard opens the browser signed in as ada's session.
		pathEnv2, done2 := fakeBrowser(t)
		adaDash := runs.session("BRIGADE_CONFIG="+filepath.Join(dir, "ada-config"), pathEnv2, "BRIG_TEST_BROWSER_DONE="+done2)
		contains(t, "dashboard", adaDash.ok(t, "dashboard"), "Opening the dashboard of "+addr, addr+"/signin?code=")
		waitFor(t, "the browser to sign in to the dashboard", func() bool {
			var err error
			page, err = os.ReadFile(done2)
			return err == nil
		})
		if !strings.HasPrefix(string(page), "200 OK\n") || !strings.Contains(string(page), "Continue to the dashboard") {
			t.Fatalf("the dashboard's browser ended on:\n%s", page)
		}
		contains(t, "dashboard --print", ada.ok(t, "dashboard", "--print", "-e", "some-event"), addr+"/signin?code=", "next=%2Fevents%2Fsome-event")
		if out := ada.ok(t, "logout"); out != "Logged out.\n" {
			t.Errorf("logout: %q", out)
		}
		contains(t, "whoami after logout", ada.fails(t, "whoami"), "not logged in")

		var users client.List[core.User]
		decodeAs(t, root.ok(t, "user", "list", "-o", "json"), "UserList", &users)
		if len(users.Items) != 1 || users.Items[0].Metadata.ID != "ada@example.com" || users.Items[0].Name != "Ada Lovelace" {
			t.Fatalf("user list -o json: %+v", users)
		}
		root.ok(t, "user", "lock", "ada@example.com")
		var u core.User
		decodeAs(t, root.ok(t, "user", "get", "ada@example.com", "-o", "json"), "User", &u)
		if u.Locked == nil {
			t.Errorf("user get -o json after lock: %+v", u)
		}
		root.ok(t, "user", "unlock", "-i", "ada@example.com")
		root.ok(t, "role", "grant", "READER", "-u", "ada@example.com")
		root.ok(t, "role", "revoke", "READER", "-u", "ada@example.com")
		root.ok(t, "user", "delete", "ada@example.com", "-y")
		if out := root.ok(t, "users", "ls"); out != "No users found.\n" {
			t.Errorf("after user delete: %q", out)
		}
	})

	t.Run("AuditAndLogout", func(t *testing.T) {
		var entries client.List[core.AuditEntry]
		decodeAs(t, root.ok(t, "audit", "--action", "/cancellation", "-o", "json"), "AuditEntryList", &entries)
		if len(entries.Items) == 0 || entries.Items[0].Principal.Kind != "ROOT" {
			t.Errorf("audit -o json: %+v", entries.Items)
		}
		contains(t, "audit", root.ok(t, "audit"), "PRINCIPAL", "ROOT:root")
		root.fails(t, "audit", "--since", "yesterday")
		root.ok(t, "project", "delete", "demo", "-y")
		root.fails(t, "project", "delete", "demo", "-y")
		if out := root.ok(t, "logout"); out != "Logged out.\n" {
			t.Errorf("logout: %q", out)
		}
		contains(t, "after logout", root.fails(t, "project", "list"), "not logged in")
	})
}

// testRunningEvents: brig init, a project from the file it wrote, and
// events that run on the local substrate, followed with every job's lines.
func testRunningEvents(t *testing.T, runs *brigRuns) {
	srv, _ := testenv.Server(t, server.Config{RootPassword: rootPassword, CleanupDelay: time.Hour})
	addr := "http://" + srv.Addr()
	tok, err := client.New(addr, "").CreateRootSession(t.Context(), rootPassword)
	if err != nil {
		t.Fatal(err)
	}
	s := runs.session("BRIGADE_SERVER="+addr, "BRIGADE_TOKEN="+tok.Value, "BRIGADE_CONFIG="+filepath.Join(t.TempDir(), "config"))
	dir := t.TempDir()

	out := s.ok(t, "init", "-i", "hello", "-l", "js", dir)
	script := filepath.Join(dir, ".brigade", "brigade.js")
	contains(t, "init", out, "Wrote "+script, "brig event create -p hello --follow")
	s.ok(t, "project", "create", "-f", filepath.Join(dir, "project.yaml"))

	out = s.ok(t, "event", "create", "-p", "hello", "--follow")
	passed := createdID(t, out)
	if !strings.Contains(out, "[hello] Hello, World!") || !regexp.MustCompile(`(?m)^  hello +SUCCEEDED +\S+ +exit code 0$`).MatchString(out) {
		t.Fatalf("event create --follow shows no job line or summary:\n%s", out)
	}
	if out := s.ok(t, "exec", "hello", "-f", script); !strings.Contains(out, "[hello] Hello, World!") {
		t.Errorf("exec:\n%s", out)
	}
	if out := s.ok(t, "run", "-p", "hello"); !strings.Contains(out, "[hello] Hello, World!") {
		t.Errorf("run (exec's alias):\n%s", out)
	}

	var e core.Event
	decodeAs(t, s.ok(t, "event", "get", passed, "-o", "json"), "Event", &e)
	if e.Worker.Status.Phase != core.PhaseSucceeded || len(e.Worker.Jobs) != 1 || e.Worker.Jobs[0].Name != "hello" {
		t.Errorf("event get -o json: %+v", e.Worker)
	}
	var jobs client.List[core.Job]
	decodeAs(t, s.ok(t, "job", "list", "-i", passed, "-o", "json"), "JobList", &jobs)
	if len(jobs.Items) != 1 || jobs.Items[0].Name != "hello" || jobs.Items[0].Status.Phase != core.PhaseSucceeded {
		t.Errorf("job list -o json: %+v", jobs)
	}
	if out := s.ok(t, "job", "list", passed); !regexp.MustCompile(`(?m)^hello +\S+ +SUCCEEDED `).MatchString(out) {
		t.Errorf("job list:\n%s", out)
	}
	if out := s.ok(t, "event", "logs", passed, "-j", "hello"); !strings.HasSuffix(out, "\nHello, World!\n") {
		t.Errorf("event logs -j hello: %q", out)
	}
	if out := s.ok(t, "event", "logs", passed, "--follow"); !strings.Contains(out, "[hello] Hello, World!") {
		t.Errorf("event logs --follow:\n%s", out)
	}
	out = s.ok(t, "event", "clone", passed, "--follow")
	clone := createdID(t, out)
	if clone == passed || !strings.Contains(out, "[hello] Hello, World!") {
		t.Errorf("event clone --follow:\n%s", out)
	}

	// A job that fails: the follow says why and exits 1; a retry is a new event.
	failing := strings.Replace(mustRead(t, script), `job.primaryContainer.arguments = ["Hello, World!"];`,
		`job.primaryContainer.command = ["sh"];
  job.primaryContainer.arguments = ["-c", "echo failing; exit 3"];`, 1)
	if failing == mustRead(t, script) {
		t.Fatalf("the script brig init wrote has changed; update this test:\n%s", failing)
	}
	failingScript := writeFile(t, dir, "failing.js", failing)
	stdout, stderr, code := s.run(t, "", "exec", "hello", "-f", failingScript)
	failed := createdID(t, stdout)
	if code != 1 || !strings.Contains(stdout, "[hello] failing") ||
		!regexp.MustCompile(`(?m)^  hello +FAILED +\S+ +non-zero exit code 3$`).MatchString(stdout) {
		t.Fatalf("exec of a failing script: exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	retried := createdID(t, s.ok(t, "event", "retry", failed))
	if retried == failed {
		t.Errorf("retry made no new event")
	}
	stdout, stderr, code = s.run(t, "", "event", "logs", "-i", failed, "-f")
	if code != 1 || !strings.Contains(stdout, "[hello] failing") {
		t.Errorf("event logs -f of a failed event: exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
}

// testMistakes: unknown commands and flags exit 1 with a suggestion, and a
// server that is not there is named.
func testMistakes(t *testing.T, runs *brigRuns) {
	s := runs.session("BRIGADE_SERVER=http://127.0.0.1:1", "BRIGADE_TOKEN=x", "BRIGADE_CONFIG="+filepath.Join(t.TempDir(), "config"))
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"evnt", "list"}, `unknown command "evnt" for "brig"; did you mean event?`},
		{[]string{"project", "lst"}, `unknown command "lst" for "brig project"; did you mean get or list?`},
		{[]string{"sa", "creat"}, "did you mean create?"},
		{[]string{"event", "create", "--projcet", "x"}, "did you mean --project?"},
		{[]string{"project", "list", "--outptu", "json"}, "did you mean --output?"},
		{[]string{"project", "list"}, "cannot reach the Brigade API server at http://127.0.0.1:1"},
		{[]string{"project", "list", "-o", "xml"}, "xml"},
	} {
		contains(t, "brig "+strings.Join(c.args, " "), s.fails(t, c.args...), c.want)
	}
}

// testHelpAndCompletion: every command's --help exits 0 with its usage, a
// command with subcommands run alone lists them, and completion scripts
// come out for each shell (bash's parses).
func testHelpAndCompletion(t *testing.T, runs *brigRuns) {
	s := runs.session("BRIGADE_CONFIG=" + filepath.Join(t.TempDir(), "config"))
	walk(runs.tree, func(c *cobra.Command) {
		args := strings.Fields(c.CommandPath())[1:]
		out := s.ok(t, append(args, "--help")...)
		contains(t, c.CommandPath()+" --help", out, "Usage:\n  "+c.CommandPath())
		if c.HasSubCommands() {
			contains(t, c.CommandPath(), s.ok(t, args...), "Available Commands:")
		}
	})
	for _, shell := range []string{"bash", "zsh", "fish", "powershell"} {
		out := s.ok(t, "completion", shell)
		if len(out) < 1000 || !strings.Contains(out, "brig") {
			t.Errorf("completion %s: %d bytes:\n%s", shell, len(out), out)
		}
		if shell != "bash" {
			continue
		}
		bash, err := exec.LookPath("bash")
		if err != nil {
			t.Log("no bash here: the bash completion's syntax is not checked")
			continue
		}
		check := exec.Command(bash, "-n")
		check.Stdin = strings.NewReader(out)
		if msg, err := check.CombinedOutput(); err != nil {
			t.Errorf("bash -n of the bash completion: %v\n%s", err, msg)
		}
	}
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// waitFor polls cond until it holds, failing the test after a generous
// deadline (it only turns a hang into a failure).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited 2 minutes for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
