package core

import "testing"

func TestWorkerImage(t *testing.T) {
	for image, want := range map[string]string{
		"":                                      "",
		"  ":                                    "",
		"brigadecore/brigade2-worker":           "",
		"brigadecore/brigade2-worker:v2.6.0":    "",
		"docker.io/brigadecore/brigade2-worker": "",
		"registry:5000/brigadecore/brigade2-worker@sha256:abc": "",
		"python:3": "python:3",
		"example.com/brigadecore/brigade2-worker-py": "example.com/brigadecore/brigade2-worker-py",
		"registry:5000/team/worker":                  "registry:5000/team/worker",
	} {
		spec := &WorkerSpec{Container: &ContainerSpec{Image: image}}
		if got := WorkerImage(spec); got != want {
			t.Errorf("WorkerImage(%q) = %q; want %q", image, got, want)
		}
	}
	if WorkerImage(nil) != "" || WorkerImage(&WorkerSpec{}) != "" {
		t.Error("a spec without a container names an image")
	}
	if (*WorkerLaunch)(nil).Image() != "" || (&WorkerLaunch{Event: &Event{}}).Image() != "" {
		t.Error("a launch without a worker names an image")
	}
}
