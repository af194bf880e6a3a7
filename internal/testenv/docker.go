package testenv

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/brigadeplatform/brigade/internal/dockerapi"
	"github.com/brigadeplatform/brigade/internal/substrate/docker"
)

// DockerImage is the image tests run on the docker substrate
// (BRIGADE_TEST_IMAGE, else the busybox image setup.sh imports).
func DockerImage() string {
	if img := os.Getenv("BRIGADE_TEST_IMAGE"); img != "" {
		return img
	}
	return "brigade-test/busybox:latest"
}

var dockerCheck = sync.OnceValue(func() string {
	cli, err := dockerapi.New("")
	if err != nil {
		return err.Error()
	}
	defer cli.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := cli.Ping(ctx); err != nil {
		return "the Docker daemon at " + cli.Host() + " is not reachable: " + err.Error()
	}
	if _, err := cli.ImageInspect(ctx, DockerImage()); err != nil {
		return "the test image " + DockerImage() + " is not on the daemon: " + err.Error()
	}
	return ""
})

// NeedDocker skips a test that needs a Docker daemon with DockerImage when
// there is none, saying why; with BRIGADE_TEST_DOCKER=1 (as in CI) the
// test fails instead.
func NeedDocker(t testing.TB) {
	t.Helper()
	lackDocker(t, dockerCheck())
}

// lackDocker skips (or, with BRIGADE_TEST_DOCKER=1, fails) the test for the
// reason why, unless it is "".
func lackDocker(t testing.TB, why string) {
	t.Helper()
	if why == "" {
		return
	}
	const how = "internal/substrate/docker/testdata/setup.sh (as root) installs and starts Docker and imports the image"
	if os.Getenv("BRIGADE_TEST_DOCKER") == "1" {
		t.Fatalf("%s; %s (BRIGADE_TEST_DOCKER=1 makes this a failure, not a skip)", why, how)
	}
	t.Skipf("%s; %s, or set BRIGADE_TEST_DOCKER=1 to make this a failure", why, how)
}

// RemoveDockerContainersAtEnd removes, when the test ends, the containers a
// docker-substrate server on dataDir left (a server leaves them to
// re-attach after a restart).
func RemoveDockerContainersAtEnd(t testing.TB, dataDir string) {
	t.Cleanup(func() {
		cli, err := dockerapi.New("")
		if err != nil {
			t.Error(err)
			return
		}
		defer cli.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		list, err := cli.ContainerList(ctx, dockerapi.ListOptions{All: true, Labels: []string{docker.LabelDataDir + "=" + dataDir}})
		if err != nil {
			t.Error(err)
			return
		}
		for _, c := range list {
			if err := docker.RemoveContainer(ctx, cli, c.ID, dockerapi.RemoveOptions{Force: true}); err != nil {
				t.Errorf("removing container %s: %v", c.ID, err)
			}
		}
	})
}

// BuildDockerImage builds the image tag from the Dockerfile in dir with the
// docker CLI, FROM DockerImage (the Dockerfile takes it as the build
// argument BASE), so that no registry is needed. It needs the daemon
// NeedDocker checks and the docker program (skipping, or failing with
// BRIGADE_TEST_DOCKER=1, without them); a build that fails fails the test.
func BuildDockerImage(t testing.TB, tag, dir string) {
	t.Helper()
	NeedDocker(t)
	if _, err := exec.LookPath("docker"); err != nil {
		lackDocker(t, "the docker program, which builds images, is not installed: "+err.Error())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "docker", "build", "-q", "--build-arg", "BASE="+DockerImage(), "-t", tag, dir)
	// The classic builder needs no buildx plugin and builds FROM an image
	// that is only on the daemon.
	cmd.Env = append(os.Environ(), "DOCKER_BUILDKIT=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building image %s from %s: %v\n%s", tag, dir, err, strings.TrimSpace(string(out)))
	}
}
