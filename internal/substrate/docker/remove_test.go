package docker

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
)

// fakeDaemon is one container as the Docker daemon sees it, with docker's
// answers to removals and to waits for condition=removed: 404 once it is
// gone, 409 "already in progress" while another removal runs, and waiters
// woken when a removal ends (with its error, if it failed). Its waits
// behave as the client's: the result channel is unbuffered.
type fakeDaemon struct {
	mu        sync.Mutex
	exists    bool
	removing  bool           // a removal is under way
	waiters   []chan string  // woken with the removal's error ("" when it succeeded)
	removes   int            // ContainerRemove calls
	conflict  chan struct{}  // gets a value each time a removal is answered 409
	removeErr error          // if set, ContainerRemove fails with it (not a conflict)
	wg        sync.WaitGroup // the waits' goroutines
}

func newFakeDaemon() *fakeDaemon {
	return &fakeDaemon{exists: true, conflict: make(chan struct{}, 10)}
}

// beginOtherRemoval starts a removal by someone else, which endOtherRemoval ends.
func (d *fakeDaemon) beginOtherRemoval() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.removing = true
}

// endOtherRemoval ends that removal: with msg "" the container is gone,
// else the removal failed with msg and the container is still there.
func (d *fakeDaemon) endOtherRemoval(msg string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.removing = false
	if msg == "" {
		d.exists = false
	}
	for _, w := range d.waiters {
		w <- msg
	}
	d.waiters = nil
}

func (d *fakeDaemon) ContainerRemove(ctx context.Context, id string, opts client.ContainerRemoveOptions) (client.ContainerRemoveResult, error) {
	d.mu.Lock()
	d.removes++
	switch {
	case !d.exists:
		d.mu.Unlock()
		return client.ContainerRemoveResult{}, cerrdefs.ErrNotFound.WithMessage("No such container: " + id)
	case d.removing:
		d.mu.Unlock()
		d.conflict <- struct{}{}
		return client.ContainerRemoveResult{}, cerrdefs.ErrConflict.WithMessage(
			"removal of container " + id + " is already in progress")
	case d.removeErr != nil:
		d.mu.Unlock()
		return client.ContainerRemoveResult{}, d.removeErr
	}
	d.mu.Unlock()
	d.beginOtherRemoval()
	d.endOtherRemoval("")
	return client.ContainerRemoveResult{}, nil
}

func (d *fakeDaemon) ContainerWait(ctx context.Context, id string, opts client.ContainerWaitOptions) client.ContainerWaitResult {
	resC := make(chan container.WaitResponse)
	errC := make(chan error, 1)
	if opts.Condition != container.WaitConditionRemoved {
		errC <- errors.New("the fake daemon only waits for condition=removed")
		return client.ContainerWaitResult{Result: resC, Error: errC}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.exists {
		errC <- cerrdefs.ErrNotFound.WithMessage("No such container: " + id)
		return client.ContainerWaitResult{Result: resC, Error: errC}
	}
	woken := make(chan string, 1)
	d.waiters = append(d.waiters, woken)
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		select {
		case msg := <-woken:
			res := container.WaitResponse{}
			if msg != "" {
				res.Error = &container.WaitExitError{Message: msg}
			}
			resC <- res // unbuffered, as the client's: leaks unless read
		case <-ctx.Done():
			errC <- ctx.Err()
		}
	}()
	return client.ContainerWaitResult{Result: resC, Error: errC}
}

// removeAsync runs RemoveContainer and returns its outcome's channel.
func removeAsync(ctx context.Context, d *fakeDaemon) <-chan error {
	done := make(chan error, 1)
	go func() { done <- RemoveContainer(ctx, d, "c1", client.ContainerRemoveOptions{Force: true}) }()
	return done
}

// result waits (up to a generous deadline, so that a bug fails rather
// than hangs) for RemoveContainer to return.
func result(t *testing.T, done <-chan error) error {
	t.Helper()
	select {
	case err := <-done:
		return err
	case <-time.After(time.Minute):
		t.Fatal("RemoveContainer did not return within a minute")
		return nil
	}
}

// awaitConflict waits until the daemon has answered a removal with 409.
func awaitConflict(t *testing.T, d *fakeDaemon) {
	t.Helper()
	select {
	case <-d.conflict:
	case <-time.After(time.Minute):
		t.Fatal("RemoveContainer never asked for the removal")
	}
}

func TestRemoveContainer(t *testing.T) {
	ctx := context.Background()

	t.Run("Removes", func(t *testing.T) {
		d := newFakeDaemon()
		if err := result(t, removeAsync(ctx, d)); err != nil || d.exists {
			t.Fatalf("RemoveContainer = %v, container exists: %v", err, d.exists)
		}
		d.wg.Wait() // its wait was collected: this would hang otherwise
	})

	t.Run("AlreadyGoneIsRemoved", func(t *testing.T) {
		d := newFakeDaemon()
		d.exists = false
		if err := result(t, removeAsync(ctx, d)); err != nil {
			t.Fatalf("RemoveContainer of a container that is gone = %v; want nil", err)
		}
	})

	t.Run("RemovalInProgressIsWaitedFor", func(t *testing.T) {
		d := newFakeDaemon()
		d.beginOtherRemoval()
		done := removeAsync(ctx, d)
		awaitConflict(t, d)
		select {
		case err := <-done:
			t.Fatalf("RemoveContainer returned %v while the other removal was still under way", err)
		default:
		}
		d.endOtherRemoval("")
		if err := result(t, done); err != nil {
			t.Fatalf("RemoveContainer = %v; want nil once the other removal removed the container", err)
		}
		d.wg.Wait()
	})

	t.Run("FailedOtherRemovalIsRetried", func(t *testing.T) {
		d := newFakeDaemon()
		d.beginOtherRemoval()
		done := removeAsync(ctx, d)
		awaitConflict(t, d)
		d.endOtherRemoval("driver failed to remove root filesystem")
		if err := result(t, done); err != nil || d.exists || d.removes != 2 {
			t.Fatalf("RemoveContainer = %v after %d removals, container exists: %v; want it removed by a second removal",
				err, d.removes, d.exists)
		}
		d.wg.Wait()
	})

	t.Run("OtherErrorsAreReturned", func(t *testing.T) {
		d := newFakeDaemon()
		d.removeErr = cerrdefs.ErrUnavailable.WithMessage("the daemon is shutting down")
		err := result(t, removeAsync(ctx, d))
		if err == nil || !strings.Contains(err.Error(), "shutting down") {
			t.Fatalf("RemoveContainer = %v; want the daemon's error", err)
		}
		d.wg.Wait()
	})

	t.Run("GivesUpWhenTheCallerDoes", func(t *testing.T) {
		d := newFakeDaemon()
		d.beginOtherRemoval()
		cctx, cancel := context.WithCancel(ctx)
		done := removeAsync(cctx, d)
		awaitConflict(t, d)
		cancel()
		err := result(t, done)
		if !errors.Is(err, context.Canceled) || !isRemovalInProgress(err) {
			t.Fatalf("RemoveContainer = %v; want the conflict and context.Canceled", err)
		}
		d.wg.Wait()
	})
}
