package docker

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/brigadeplatform/brigade/internal/dockerapi"
)

// fakeDaemon is one container as the Docker daemon sees it, with docker's
// answers to removals and to waits for condition=removed: 404 once it is
// gone, 409 "already in progress" while another removal runs, and waiters
// woken when a removal ends (with its error, if it failed). Its waits
// behave as the client's: one result each, sent by a goroutine that ends
// once the wait's context does.
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

func (d *fakeDaemon) ContainerRemove(ctx context.Context, id string, opts dockerapi.RemoveOptions) error {
	d.mu.Lock()
	d.removes++
	switch {
	case !d.exists:
		d.mu.Unlock()
		return &dockerapi.Error{StatusCode: http.StatusNotFound, Message: "No such container: " + id}
	case d.removing:
		d.mu.Unlock()
		d.conflict <- struct{}{}
		return &dockerapi.Error{StatusCode: http.StatusConflict, Message: "removal of container " + id + " is already in progress"}
	case d.removeErr != nil:
		d.mu.Unlock()
		return d.removeErr
	}
	d.mu.Unlock()
	d.beginOtherRemoval()
	d.endOtherRemoval("")
	return nil
}

func (d *fakeDaemon) ContainerWait(ctx context.Context, id string, cond dockerapi.WaitCondition) (<-chan dockerapi.WaitResult, error) {
	if cond != dockerapi.WaitRemoved {
		return nil, errors.New("the fake daemon only waits for condition=removed")
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.exists {
		return nil, &dockerapi.Error{StatusCode: http.StatusNotFound, Message: "No such container: " + id}
	}
	woken := make(chan string, 1)
	d.waiters = append(d.waiters, woken)
	res := make(chan dockerapi.WaitResult, 1)
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		select {
		case msg := <-woken:
			res <- dockerapi.WaitResult{Error: msg}
		case <-ctx.Done():
			res <- dockerapi.WaitResult{Err: ctx.Err()}
		}
	}()
	return res, nil
}

// removeAsync runs RemoveContainer and returns its outcome's channel.
func removeAsync(ctx context.Context, d *fakeDaemon) <-chan error {
	done := make(chan error, 1)
	go func() { done <- RemoveContainer(ctx, d, "c1", dockerapi.RemoveOptions{Force: true}) }()
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
		d.removeErr = &dockerapi.Error{StatusCode: http.StatusServiceUnavailable, Message: "the daemon is shutting down"}
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
