package worker

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/brigadeplatform/brigade/internal/core"
)

// checkout clones the worker's source into dir with the git binary, as
// Brigade's git-initializer did (docs/worker.md, "Laying out the config
// folder"): a commit wins over a
// ref; without either, the remote's default branch; submodules on request;
// credentials from the gitSSHKey or gitPassword project secrets.
//
// What git says, the commands run and the error that ends a failed clone go
// to the vcs log, not to the worker's.
func checkout(ctx context.Context, g *core.EventDocGit, secrets map[string]string, dir string, vcs lineLog) (err error) {
	defer func() {
		if err != nil {
			vcs.Line(err.Error())
		}
	}()
	if _, err := exec.LookPath("git"); err != nil {
		return fmt.Errorf("this project's source comes from git (%s), but the git program is not installed on this machine", g.CloneURL)
	}
	home, err := os.MkdirTemp("", "brigade-git-")
	if err != nil {
		return fmt.Errorf("preparing git credentials: %w", err)
	}
	defer os.RemoveAll(home)
	env := append(os.Environ(), "HOME="+home, "GIT_TERMINAL_PROMPT=0", "GIT_CONFIG_NOSYSTEM=1")
	// git refuses a repository in a folder another user owns ("dubious
	// ownership"): a pod's source volume is made by the kubelet as root and
	// git-init runs as our image's non-root user. Every repository git sees
	// here is the one this clone makes or the one it clones from. In the
	// global file (HOME is ours), since git clears the environment's
	// settings for the upload-pack of a local clone.
	if err := os.WriteFile(filepath.Join(home, ".gitconfig"), []byte("[safe]\n\tdirectory = *\n"), 0o600); err != nil {
		return fmt.Errorf("writing git's settings: %w", err)
	}
	if key := secrets["gitSSHKey"]; key != "" {
		keyFile := filepath.Join(home, "id_key")
		if err := os.WriteFile(keyFile, []byte(strings.TrimRight(key, "\n")+"\n"), 0o600); err != nil {
			return fmt.Errorf("writing the gitSSHKey: %w", err)
		}
		env = append(env, "GIT_SSH_COMMAND=ssh -i "+keyFile+" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null")
	} else if pw := secrets["gitPassword"]; pw != "" {
		u, err := url.Parse(g.CloneURL)
		if err == nil && (u.Scheme == "http" || u.Scheme == "https") {
			user := secrets["gitUsername"]
			if user == "" && u.User != nil {
				user = u.User.Username()
			}
			if user == "" {
				user = "git"
			}
			cred := url.URL{Scheme: u.Scheme, User: url.UserPassword(user, pw), Host: u.Host}
			if err := os.WriteFile(filepath.Join(home, ".git-credentials"), []byte(cred.String()+"\n"), 0o600); err != nil {
				return fmt.Errorf("writing git credentials: %w", err)
			}
			env = addGitConfig(env, "credential.helper", "store")
		}
	}
	run := func(args ...string) error {
		vcs.Line("git " + strings.Join(args, " "))
		cmd := exec.CommandContext(ctx, "git", args...)
		cmd.Env = env
		out, flush := lineWriter(vcs)
		cmd.Stdout, cmd.Stderr = out, out
		err := cmd.Run()
		flush()
		if err != nil {
			return fmt.Errorf("git %s failed: %v", gitVerb(args), err)
		}
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return fmt.Errorf("creating %s: %w", filepath.Dir(dir), err)
	}
	vcs.Line("cloning " + g.CloneURL)
	switch {
	case g.Commit != "":
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		for _, args := range [][]string{
			{"-C", dir, "init", "-q"},
			{"-C", dir, "remote", "add", "origin", g.CloneURL},
			{"-C", dir, "fetch", "-q", "--no-tags", "origin", g.Commit},
			{"-C", dir, "checkout", "-q", "FETCH_HEAD"},
		} {
			if err := run(args...); err != nil {
				return err
			}
		}
	default:
		args := []string{"clone", "-q", "--no-tags", "--single-branch"}
		if ref := shortRef(g.Ref); ref != "" {
			args = append(args, "--branch", ref)
		}
		if err := run(append(args, g.CloneURL, dir)...); err != nil {
			return err
		}
	}
	if g.InitSubmodules {
		if err := run("-C", dir, "submodule", "update", "--init", "--recursive"); err != nil {
			return err
		}
	}
	return nil
}

// lineLog is where a clone's lines go.
type lineLog interface{ Line(msg string) }

// lineFunc is a lineLog that calls a function.
type lineFunc func(msg string)

func (f lineFunc) Line(msg string) { f(msg) }

// Checkout clones the git source an event document names into dir, as the
// built-in worker does before it runs its script, for a substrate that
// lays out the source folder of a worker image (docs/worker-contract.md).
// The credentials come from the document's project secrets. log gets the
// git commands, what git says and the error that ends a failed clone, one
// line at a time, from one goroutine at a time. A document without git
// leaves dir alone.
func Checkout(ctx context.Context, eventDocument []byte, dir string, log func(line string)) error {
	var doc core.EventDocument
	if err := json.Unmarshal(eventDocument, &doc); err != nil {
		return fmt.Errorf("the event document is not valid JSON: %w", err)
	}
	if doc.Worker.Git == nil || doc.Worker.Git.CloneURL == "" {
		return nil
	}
	return checkout(ctx, doc.Worker.Git, doc.Project.Secrets, dir, lineFunc(log))
}

// addGitConfig adds one git setting through GIT_CONFIG_COUNT and its
// numbered pairs, after those the environment already holds (an operator's
// url.<base>.insteadOf or proxy stays in force).
func addGitConfig(env []string, key, value string) []string {
	n := 0
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "GIT_CONFIG_COUNT="); ok {
			if c, err := strconv.Atoi(v); err == nil && c > 0 {
				n = c // the last one wins, as in exec
			} else {
				n = 0
			}
		}
	}
	return append(env, fmt.Sprintf("GIT_CONFIG_KEY_%d=%s", n, key), fmt.Sprintf("GIT_CONFIG_VALUE_%d=%s", n, value),
		fmt.Sprintf("GIT_CONFIG_COUNT=%d", n+1))
}

// gitVerb is the git command of args, after any -C dir.
func gitVerb(args []string) string {
	if len(args) > 2 && args[0] == "-C" {
		return args[2]
	}
	return args[0]
}

// shortRef turns refs/heads/X and refs/tags/X into X; other refs pass as
// they are.
func shortRef(ref string) string {
	for _, p := range []string{"refs/heads/", "refs/tags/"} {
		if strings.HasPrefix(ref, p) {
			return strings.TrimPrefix(ref, p)
		}
	}
	return ref
}
