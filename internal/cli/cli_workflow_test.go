package cli

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/brigadeplatform/brigade/internal/core"
)

// TestLoginFlags logs in with Brigade's short flags and checks what was
// saved, then that BRIGADE_SERVER and BRIGADE_TOKEN override the login.
func TestLoginFlags(t *testing.T) {
	_, addr := startServer(t)
	cfgPath := filepath.Join(t.TempDir(), "config")
	env := map[string]string{envConfig: cfgPath}
	brig(t, env, "", "login", "-s", addr+"/", "-r", "-p", testRootPassword, "-k")
	var saved config
	b, err := os.ReadFile(cfgPath)
	if err != nil || json.Unmarshal(b, &saved) != nil {
		t.Fatalf("login file: %v %s", err, b)
	}
	if saved.Server != addr || saved.Token == "" || !saved.Insecure {
		t.Fatalf("saved %+v", saved)
	}
	brig(t, env, "", "login", "--server", addr, "--root", "--password", testRootPassword, "--insecure")

	// BRIGADE_SERVER is the default of --server.
	env[envServer] = addr
	brig(t, env, "", "login", "--root", "-p", testRootPassword)

	// A bad BRIGADE_TOKEN wins over the good saved one.
	env[envToken] = "not-a-token"
	if stderr := brigFails(t, env, "", "project", "list"); stderr != "brig: Could not authenticate the request: Session not found or may have expired. Please log in again.\n" {
		t.Fatalf("stderr %q", stderr)
	}
	delete(env, envToken)
	brig(t, env, "", "project", "list")
	// Another BRIGADE_SERVER never gets the saved token.
	env[envServer] = "http://127.0.0.1:1"
	if stderr := brigFails(t, env, "", "project", "list"); !strings.Contains(stderr, "not logged in") {
		t.Fatalf("stderr %q", stderr)
	}
}

func TestPrompter(t *testing.T) {
	var out strings.Builder
	p := newPrompter(strings.NewReader("\nBAD\ngood\nlast"), &out)
	if got, err := p.ask("Color", "blue", nil); err != nil || got != "blue" {
		t.Fatalf("default: %q, %v", got, err)
	}
	lower := func(s string) error {
		if strings.ToLower(s) != s {
			return errors.New("lower case please")
		}
		return nil
	}
	if got, err := p.ask("Name", "", lower); err != nil || got != "good" {
		t.Fatalf("re-ask: %q, %v", got, err)
	}
	if got, err := p.ask("Last", "", nil); err != nil || got != "last" {
		t.Fatalf("answer without newline: %q, %v", got, err)
	}
	if _, err := p.ask("More", "x", nil); err != errNoAnswer {
		t.Fatalf("end of input: %v", err)
	}
	if want := "Color [blue]: Name:   lower case please\nName: Last: More [x]: \n"; out.String() != want {
		t.Fatalf("output %q, want %q", out.String(), want)
	}
}

func TestProjectCreateInteractive(t *testing.T) {
	_, addr := startServer(t)
	dir := t.TempDir()
	env := map[string]string{envConfig: filepath.Join(dir, "config"), envServer: addr}
	brig(t, env, "", "login", "--root", "-p", testRootPassword)
	script := filepath.Join(dir, "build.ts")
	if err := os.WriteFile(script, []byte("console.log('ts')"), 0o644); err != nil {
		t.Fatal(err)
	}

	t.Run("FromALocalScript", func(t *testing.T) {
		answers := strings.Join([]string{
			"Not An ID", "asked", // refused, then taken
			"Asked for it",
			"",                      // source: default
			"exec, push ,",          // types
			"/no/such/file", script, // refused, then taken
			"debug",
			"", // create: default yes
		}, "\n") + "\n"
		out, errOut, code := runIn(t, true, env, answers, "project", "create")
		if code != 0 {
			t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
		}
		for _, want := range []string{"Project ID: ", "use 3 to 63 lower-case", "cannot read it", "kind: Project",
			"Create this project? (y/n) [y]: ", `Created project "asked".`} {
			if !strings.Contains(out, want) {
				t.Errorf("output lacks %q:\n%s", want, out)
			}
		}
		var p core.Project
		if err := decodeObject([]byte(brig(t, env, "", "project", "get", "asked", "-o", "yaml")), "get", "Project", &p); err != nil {
			t.Fatal(err)
		}
		subs := p.Spec.EventSubscriptions
		if p.Description != "Asked for it" || len(subs) != 1 || subs[0].Source != defaultEventSource ||
			strings.Join(subs[0].Types, ",") != "exec,push" || p.Spec.WorkerTemplate.LogLevel != "DEBUG" ||
			p.Spec.WorkerTemplate.DefaultConfigFiles["brigade.ts"] != "console.log('ts')" || p.Spec.WorkerTemplate.Git != nil {
			t.Fatalf("project %+v", p)
		}
	})
	t.Run("FromGit", func(t *testing.T) {
		answers := "from-git\n\nbrigade.sh/github\npush\n\nftp://x\nhttps://github.com/example/repo.git\nrefs/heads/dev\n\ny\n"
		out, errOut, code := runIn(t, true, env, answers, "project", "create")
		if code != 0 || !strings.Contains(out, "use an https://") {
			t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
		}
		var p core.Project
		if err := decodeObject([]byte(brig(t, env, "", "project", "get", "from-git", "-o", "json")), "get", "Project", &p); err != nil {
			t.Fatal(err)
		}
		g := p.Spec.WorkerTemplate.Git
		if g == nil || g.CloneURL != "https://github.com/example/repo.git" || g.Ref != "refs/heads/dev" ||
			p.Spec.WorkerTemplate.DefaultConfigFiles != nil || p.Spec.WorkerTemplate.LogLevel != "INFO" {
			t.Fatalf("project %+v", p.Spec.WorkerTemplate)
		}
	})
	t.Run("DeclinedCreatesNothing", func(t *testing.T) {
		out, _, code := runIn(t, true, env, "declined\n\n\n\n\n\n\nn\n", "project", "create")
		if code != 0 || !strings.Contains(out, "Nothing created.") {
			t.Fatalf("exit %d: %s", code, out)
		}
		brigFails(t, env, "", "project", "get", "declined")
	})
	t.Run("InputEndsEarly", func(t *testing.T) {
		_, errOut, code := runIn(t, true, env, "early\n", "project", "create")
		if code != 1 || !strings.Contains(errOut, "standard input ended") || !strings.Contains(errOut, "-f project.yaml") {
			t.Fatalf("exit %d: %s", code, errOut)
		}
	})
	t.Run("NoTerminalNeedsAFile", func(t *testing.T) {
		stderr := brigFails(t, env, "asked\n", "project", "create")
		if !strings.Contains(stderr, "pass -f project.yaml") {
			t.Fatalf("stderr %q", stderr)
		}
	})
}
