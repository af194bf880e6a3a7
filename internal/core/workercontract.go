package core

import "strings"

// Where a worker image finds what the worker contract gives it, on every
// substrate that runs worker images (docs/worker-contract.md).
const (
	// WorkerEventFile is the event document, the worker's event.json.
	WorkerEventFile = "/var/event/event.json"
	// WorkerSourceDir holds the project's git checkout, when it has git.
	WorkerSourceDir = "/var/vcs"
	// WorkerWorkspaceDir is the event's shared workspace, when the worker
	// template sets useWorkspace.
	WorkerWorkspaceDir = "/var/workspace"
)

// builtinWorkerRepo is the repository of Brigade's own worker image. Our
// built-in worker runs the same scripts, so a project that names that
// image (with any registry or tag) gets the built-in worker.
const builtinWorkerRepo = "brigadecore/brigade2-worker"

// WorkerImage returns the image a worker spec asks for, or "" when the
// built-in worker runs it: no container or no image, or Brigade's own
// worker image. docs/worker-contract.md says what a worker image receives.
func WorkerImage(spec *WorkerSpec) string {
	if spec == nil || spec.Container == nil {
		return ""
	}
	image := strings.TrimSpace(spec.Container.Image)
	if image == "" || IsBuiltinWorkerImage(image) {
		return ""
	}
	return image
}

// IsBuiltinWorkerImage reports whether image names Brigade's own worker
// image, which the built-in worker stands in for.
func IsBuiltinWorkerImage(image string) bool {
	repo, _, _ := strings.Cut(image, "@")
	if i := strings.LastIndex(repo, ":"); i > strings.LastIndex(repo, "/") {
		repo = repo[:i] // a tag, not a registry's port
	}
	return repo == builtinWorkerRepo || strings.HasSuffix(repo, "/"+builtinWorkerRepo)
}

// Image is the worker image the launch asks for, or "" for the built-in
// worker (see WorkerImage).
func (w *WorkerLaunch) Image() string {
	if w == nil || w.Event == nil || w.Event.Worker == nil {
		return ""
	}
	return WorkerImage(&w.Event.Worker.Spec)
}
