package docker

import (
	"context"
	"fmt"
	"strings"

	"github.com/brigadeplatform/brigade/internal/dockerapi"
)

// ContainerRemover is the part of the Docker client that RemoveContainer
// uses (*dockerapi.Client implements it).
type ContainerRemover interface {
	ContainerRemove(ctx context.Context, id string, opts dockerapi.RemoveOptions) error
	ContainerWait(ctx context.Context, id string, cond dockerapi.WaitCondition) (<-chan dockerapi.WaitResult, error)
}

// removeAttempts bounds how often RemoveContainer tries again after
// another removal of the same container failed.
const removeAttempts = 3

// RemoveContainer removes a container and returns once it is gone. It is
// idempotent, so that removals may race (Cleanup of the same event twice,
// a test's own cleanup beside the server's): a container that is already
// gone counts as removed ("No such container", 404), and when another
// removal of it is under way (Docker answers 409 "removal of container …
// is already in progress") it waits until that removal has finished
// instead of failing; should that removal fail, it tries again itself.
//
// The wait is docker's own (POST /containers/{id}/wait?condition=removed),
// registered before the removal is asked for, so the end of a removal
// cannot be missed and nothing is polled.
func RemoveContainer(ctx context.Context, cli ContainerRemover, id string, opts dockerapi.RemoveOptions) error {
	var err error
	for range removeAttempts {
		var gone, again bool
		gone, again, err = removeOnce(ctx, cli, id, opts)
		if gone {
			return nil
		}
		if !again {
			return err
		}
	}
	return err
}

// removeOnce asks for one removal. gone: the container no longer exists;
// again: another removal of it failed, so trying again may succeed.
func removeOnce(ctx context.Context, cli ContainerRemover, id string, opts dockerapi.RemoveOptions) (gone, again bool, err error) {
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// ContainerWait returns once the daemon has registered the wait (it
	// answers the headers after that), or with the daemon's refusal.
	w, waitErr := cli.ContainerWait(wctx, id, dockerapi.WaitRemoved)
	if dockerapi.IsNotFound(waitErr) {
		return true, false, nil
	}
	waiting := waitErr == nil
	// finish ends the wait and collects its goroutine, which sends its
	// result once the request is cancelled, if it has not yet.
	finish := func() {
		if waiting {
			cancel()
			<-w
			waiting = false
		}
	}
	defer finish()

	rerr := cli.ContainerRemove(ctx, id, opts)
	switch {
	case rerr == nil || dockerapi.IsNotFound(rerr):
		return true, false, nil // the daemon answers a removal once it is done
	case !isRemovalInProgress(rerr):
		return false, false, rerr
	case !waiting:
		// Another removal is under way but docker would not let us wait
		// for it: it is not done, so say so.
		return false, false, fmt.Errorf("%w (and waiting for that removal failed: %v)", rerr, waitErr)
	}
	res := <-w
	waiting = false
	switch {
	case res.Err == nil && res.Error != "":
		return false, true, fmt.Errorf("another removal of container %s failed: %s", id, res.Error)
	case res.Err == nil, dockerapi.IsNotFound(res.Err):
		return true, false, nil
	}
	err = res.Err
	if ctx.Err() != nil {
		err = ctx.Err()
	}
	return false, false, fmt.Errorf("%w; waiting for that removal: %w", rerr, err)
}

// isRemovalInProgress tells docker's answer to a removal of a container
// that another removal is already removing (409).
func isRemovalInProgress(err error) bool {
	return err != nil && dockerapi.IsConflict(err) && strings.Contains(err.Error(), "already in progress")
}
