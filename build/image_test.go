// Package build holds how the image is built (Dockerfile at the root,
// build/image.sh); this test builds it with dockerd and runs it.
package build

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// needDocker skips without a Docker daemon, git and busybox-static, or
// fails with BRIGADE_TEST_DOCKER=1 (as in CI).
func needDocker(t *testing.T) {
	t.Helper()
	var why string
	if err := exec.Command("docker", "info").Run(); err != nil {
		why = "no Docker daemon answers (docker info: " + err.Error() + ")"
	} else if _, err := exec.LookPath("git"); err != nil {
		why = "the git program is not installed"
	} else if _, err := os.Stat("/bin/busybox"); err != nil {
		why = "busybox-static is not installed"
	}
	if why == "" {
		return
	}
	why += "; internal/substrate/docker/testdata/setup.sh prepares this machine"
	if os.Getenv("BRIGADE_TEST_DOCKER") == "1" {
		t.Fatalf("%s (BRIGADE_TEST_DOCKER=1 makes this a failure, not a skip)", why)
	}
	t.Skip(why)
}

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

func TestImage(t *testing.T) {
	needDocker(t)
	b := make([]byte, 4)
	rand.Read(b)
	image := "brigade-test/brigade:" + hex.EncodeToString(b)
	cmd := exec.Command("bash", "image.sh")
	cmd.Env = append(os.Environ(), "IMAGE="+image, "VERSION=v9.8.7-test")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("build/image.sh: %v\n%s", err, out)
	}
	t.Cleanup(func() { exec.Command("docker", "rmi", "-f", image).Run() })

	t.Run("Version", func(t *testing.T) {
		if got := run(t, "docker", "run", "--rm", "--network", "none", image, "version"); !strings.Contains(got, "brigade v9.8.7-test") {
			t.Fatalf("brigade version in the image said %q", got)
		}
		for _, bin := range []string{"brigade-worker", "brig"} {
			if got := run(t, "docker", "run", "--rm", "--network", "none", "--entrypoint", bin, image, "version"); !strings.Contains(got, "v9.8.7-test") {
				t.Fatalf("%s version in the image said %q", bin, got)
			}
		}
		if got := strings.TrimSpace(run(t, "docker", "run", "--rm", "--entrypoint", "id", image, "-u")); got != "65532" {
			t.Fatalf("the image runs as uid %s, want the non-root 65532", got)
		}
	})

	// git-init as a pod runs it: as the image's non-root user, the event
	// document mounted read-only at /var/event, the source volume at
	// /var/vcs owned by root (as the kubelet makes an emptyDir).
	t.Run("GitInit", func(t *testing.T) {
		root := t.TempDir()
		work := filepath.Join(root, "work")
		os.MkdirAll(work, 0o755)
		git := func(dir string, args ...string) {
			t.Helper()
			c := exec.Command("git", args...)
			c.Dir = dir
			c.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com",
				"GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com", "HOME="+root)
			if out, err := c.CombinedOutput(); err != nil {
				t.Fatalf("git %v: %v\n%s", args, err, out)
			}
		}
		git(work, "init", "-q", "-b", "main")
		os.WriteFile(filepath.Join(work, "hello.txt"), []byte("from the repository"), 0o644)
		git(work, "add", ".")
		git(work, "commit", "-q", "-m", "hello")
		src := filepath.Join(root, "src")
		os.MkdirAll(src, 0o755)
		git(root, "clone", "-q", "--bare", work, filepath.Join(src, "repo.git"))
		run(t, "chmod", "-R", "a+rX", src)

		evDir, vcs := filepath.Join(root, "event"), filepath.Join(root, "vcs")
		os.MkdirAll(evDir, 0o755)
		os.MkdirAll(vcs, 0o777)
		os.Chmod(vcs, 0o777)
		doc, _ := json.Marshal(map[string]any{"id": "ev1", "worker": map[string]any{
			"git": map[string]any{"cloneURL": "/src/repo.git", "ref": "refs/heads/main"}}})
		os.WriteFile(filepath.Join(evDir, "event.json"), doc, 0o644)

		got := run(t, "docker", "run", "--rm", "--network", "none",
			"-v", src+":/src:ro", "-v", evDir+":/var/event:ro", "-v", vcs+":/var/vcs", image, "git-init")
		b, err := os.ReadFile(filepath.Join(vcs, "hello.txt"))
		if err != nil || string(b) != "from the repository" {
			t.Fatalf("git-init in the image did not check the source out (%v %q):\n%s", err, b, got)
		}
	})
}
