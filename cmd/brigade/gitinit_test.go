package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/brigadeplatform/brigade/internal/core"
)

// needGit skips without the git program, unless BRIGADE_TEST_GIT is set
// (as in CI), which makes that a failure.
func needGit(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		if os.Getenv("BRIGADE_TEST_GIT") != "" {
			t.Fatalf("BRIGADE_TEST_GIT is set but git is not installed: %v", err)
		}
		t.Skip("the git program is not installed (set BRIGADE_TEST_GIT=1 to make this a failure)")
	}
}

// gitIn runs git in dir and returns its trimmed output.
func gitIn(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com",
		"GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com", "HOME="+dir,
		"GIT_CONFIG_COUNT=1", "GIT_CONFIG_KEY_0=protocol.file.allow", "GIT_CONFIG_VALUE_0=always")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

// commitFile writes name=content in the work tree dir and commits it.
func commitFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	gitIn(t, dir, "add", name)
	gitIn(t, dir, "commit", "-q", "-m", name+"="+content)
	return gitIn(t, dir, "rev-parse", "HEAD")
}

// writeEventDoc writes an event document with git g and returns its path.
func writeEventDoc(t *testing.T, g *core.EventDocGit) string {
	t.Helper()
	doc := core.EventDocument{ID: "ev-1", Project: core.EventDocProject{ID: "proj"}}
	doc.Worker.Git = g
	data, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "event.json")
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func readIn(t *testing.T, dir, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatalf("the checkout lacks %s: %v", name, err)
	}
	return string(b)
}

func TestGitInit(t *testing.T) {
	needGit(t)
	// Submodules from a local path need file transport, which git refuses
	// by default; an operator's setting in the environment reaches git-init's git.
	t.Setenv("GIT_CONFIG_COUNT", "1")
	t.Setenv("GIT_CONFIG_KEY_0", "protocol.file.allow")
	t.Setenv("GIT_CONFIG_VALUE_0", "always")

	root := t.TempDir()
	sub := filepath.Join(root, "sub")
	os.MkdirAll(sub, 0o755)
	gitIn(t, sub, "init", "-q", "-b", "main")
	commitFile(t, sub, "lib.txt", "from the submodule")

	work := filepath.Join(root, "work")
	os.MkdirAll(work, 0o755)
	gitIn(t, work, "init", "-q", "-b", "main")
	first := commitFile(t, work, "v.txt", "one")
	gitIn(t, work, "tag", "v1")
	gitIn(t, work, "checkout", "-q", "-b", "feature")
	commitFile(t, work, "v.txt", "feature")
	gitIn(t, work, "checkout", "-q", "main")
	gitIn(t, work, "submodule", "-q", "add", sub, "sub")
	gitIn(t, work, "commit", "-q", "-m", "submodule")
	commitFile(t, work, "v.txt", "two")
	bare := filepath.Join(root, "repo.git")
	gitIn(t, root, "clone", "-q", "--bare", work, bare)

	cases := []struct {
		name, want string
		git        core.EventDocGit
		submodule  bool
	}{
		{name: "DefaultBranch", git: core.EventDocGit{CloneURL: bare}, want: "two"},
		{name: "CommitWinsOverRef", git: core.EventDocGit{CloneURL: bare, Commit: first, Ref: "refs/heads/feature"}, want: "one"},
		{name: "BranchRef", git: core.EventDocGit{CloneURL: bare, Ref: "refs/heads/feature"}, want: "feature"},
		{name: "TagRef", git: core.EventDocGit{CloneURL: bare, Ref: "refs/tags/v1"}, want: "one"},
		{name: "Submodules", git: core.EventDocGit{CloneURL: "file://" + bare, InitSubmodules: true}, want: "two", submodule: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "vcs")
			out, err := runBrigade("git-init", "--event-file", writeEventDoc(t, &c.git), "--source-dir", dir)
			if err != nil {
				t.Fatalf("git-init: %v\n%s", err, out)
			}
			if got := readIn(t, dir, "v.txt"); got != c.want {
				t.Fatalf("v.txt = %q, want %q\n%s", got, c.want, out)
			}
			_, err = os.Stat(filepath.Join(dir, "sub", "lib.txt"))
			if c.submodule != (err == nil) {
				t.Fatalf("submodule checked out: %v, want %v\n%s", err == nil, c.submodule, out)
			}
			if !strings.Contains(out, "checked out") {
				t.Fatalf("git-init said:\n%s", out)
			}
		})
	}

	t.Run("AnEarlierCheckoutIsReplaced", func(t *testing.T) {
		dir := t.TempDir()
		ev := writeEventDoc(t, &core.EventDocGit{CloneURL: bare, Ref: "refs/heads/feature"})
		for range 2 { // an init container that runs again finds its volume as it left it
			if out, err := runBrigade("git-init", "--event-file", ev, "--source-dir", dir); err != nil {
				t.Fatalf("git-init: %v\n%s", err, out)
			}
		}
		if got := readIn(t, dir, "v.txt"); got != "feature" {
			t.Fatalf("v.txt = %q", got)
		}
	})

	t.Run("EnvironmentNamesTheFiles", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "vcs")
		t.Setenv("BRIGADE_EVENT_FILE", writeEventDoc(t, &core.EventDocGit{CloneURL: bare}))
		t.Setenv("BRIGADE_SOURCE_DIR", dir)
		if out, err := runBrigade("git-init"); err != nil {
			t.Fatalf("git-init: %v\n%s", err, out)
		}
		readIn(t, dir, "v.txt")
	})

	t.Run("NoGitIsNothingToDo", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "vcs")
		out, err := runBrigade("git-init", "--event-file", writeEventDoc(t, nil), "--source-dir", dir)
		if err != nil || !strings.Contains(out, "nothing to check out") {
			t.Fatalf("git-init without git: %v\n%s", err, out)
		}
	})

	errCases := []struct {
		name  string
		event func(t *testing.T) string
		dir   func(t *testing.T) string
		want  []string
	}{
		{
			name: "MissingRepository",
			event: func(t *testing.T) string {
				return writeEventDoc(t, &core.EventDocGit{CloneURL: filepath.Join(root, "nope.git")})
			},
			want: []string{"checking out the default branch of", "nope.git", "git clone failed"},
		},
		{
			name: "UnknownCommit",
			event: func(t *testing.T) string {
				return writeEventDoc(t, &core.EventDocGit{CloneURL: bare, Commit: strings.Repeat("ab", 20)})
			},
			want: []string{"checking out commit abab", "git fetch failed"},
		},
		{
			name: "UnknownRef",
			event: func(t *testing.T) string {
				return writeEventDoc(t, &core.EventDocGit{CloneURL: bare, Ref: "refs/heads/nope"})
			},
			want: []string{"checking out ref refs/heads/nope", "git clone failed"},
		},
		{
			name:  "MissingEventFile",
			event: func(t *testing.T) string { return filepath.Join(t.TempDir(), "event.json") },
			want:  []string{"reading the event document", "--event-file"},
		},
		{
			name: "EventFileNotJSON",
			event: func(t *testing.T) string {
				p := filepath.Join(t.TempDir(), "event.json")
				os.WriteFile(p, []byte("{not json"), 0o600)
				return p
			},
			want: []string{"is not valid JSON"},
		},
		{
			name:  "FolderWithOtherFiles",
			event: func(t *testing.T) string { return writeEventDoc(t, &core.EventDocGit{CloneURL: bare}) },
			dir: func(t *testing.T) string {
				d := t.TempDir()
				os.WriteFile(filepath.Join(d, "keep.txt"), []byte("mine"), 0o644)
				return d
			},
			want: []string{"is not empty and holds no earlier checkout", "--source-dir"},
		},
	}
	for _, c := range errCases {
		t.Run(c.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "vcs")
			if c.dir != nil {
				dir = c.dir(t)
			}
			out, err := runBrigade("git-init", "--event-file", c.event(t), "--source-dir", dir)
			if err == nil {
				t.Fatalf("git-init succeeded:\n%s", out)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("the error %q does not say %q", err, w)
				}
			}
			if c.dir != nil && readIn(t, dir, "keep.txt") != "mine" {
				t.Error("git-init changed a folder it refused")
			}
		})
	}
}
