package sqlite

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/brigadeplatform/brigade/internal/core"
)

// heldSync is a sync that waits for the test: each call announces itself on
// entered and returns what the test sends on release.
type heldSync struct {
	entered chan string
	release chan error
}

func newHeldSync() *heldSync {
	return &heldSync{entered: make(chan string), release: make(chan error)}
}

func (h *heldSync) sync(path string) error {
	h.entered <- path
	return <-h.release
}

// wait waits for the next sync to begin and returns the path it syncs;
// the test fails with msg if none does.
func (h *heldSync) wait(t *testing.T, msg string) string {
	t.Helper()
	select {
	case path := <-h.entered:
		return path
	case <-time.After(syncDeadline):
		t.Fatal(msg)
		return ""
	}
}

// openHeld opens a store whose WAL syncs the test holds; the sync that
// opening makes (for the migrations) is let through.
func openHeld(t *testing.T) (*Store, *heldSync) {
	t.Helper()
	h := newHeldSync()
	path := filepath.Join(t.TempDir(), "held.db")
	go func() {
		<-h.entered
		h.release <- nil
	}()
	s, err := Open(context.Background(), path, testLogger(t), func(s *Store) { s.syncFile = h.sync })
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	// A test that failed half-way may leave a sync held: let every sync
	// through while closing, so that the failure is reported, not a hang.
	t.Cleanup(func() {
		stop := make(chan struct{})
		go h.letThrough(stop)
		s.Close()
		close(stop)
	})
	return s, h
}

// letThrough answers every sync until stop is closed.
func (h *heldSync) letThrough(stop <-chan struct{}) {
	for {
		select {
		case <-h.entered:
		case h.release <- nil:
		case <-stop:
			return
		}
	}
}

const syncDeadline = time.Minute

// waitHeld waits until the writer holds n transactions for the
// sync that runs. The writer has no event to wait on for that, so the
// counter is looked at every few milliseconds, up to syncDeadline.
func waitHeld(t *testing.T, s *Store, n int64) {
	t.Helper()
	deadline := time.Now().Add(syncDeadline)
	for s.held.Load() != n {
		if time.Now().After(deadline) {
			t.Fatalf("the writer holds %d durable transactions, want %d", s.held.Load(), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestDurableTransactionsWaitForTheSyncAndTheWriterDoesNot(t *testing.T) {
	s, h := openHeld(t)
	ctx := context.Background()
	created := make(chan error, 1)
	go func() { created <- s.Projects().Create(ctx, project("demo")) }()

	path := h.wait(t, "a durable transaction committed without a sync of the WAL")
	if !strings.HasSuffix(path, "held.db-wal") {
		t.Fatalf("synced %s, want the WAL", path)
	}
	// The commit is visible, and the writer free, while its sync runs.
	if _, err := s.Projects().Get(ctx, "demo"); err != nil {
		t.Fatalf("the committed project while its sync runs: %v", err)
	}
	if err := s.Events().Create(core.Relaxed(ctx), event("demo", "e1")); err != nil {
		t.Fatalf("a relaxed write while a sync runs: %v", err)
	}
	select {
	case err := <-created:
		t.Fatalf("the durable transaction returned (%v) before its sync ended", err)
	default:
	}
	h.release <- nil
	select {
	case err := <-created:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(syncDeadline):
		t.Fatal("the durable transaction did not return after its sync")
	}
}

func TestAFailedSyncFailsTheDurableTransactions(t *testing.T) {
	s, h := openHeld(t)
	ctx := context.Background()
	created := make(chan error, 1)
	go func() { created <- s.Projects().Create(ctx, project("demo")) }()
	h.wait(t, "no sync")
	h.release <- errors.New("disk on fire")
	select {
	case err := <-created:
		if err == nil || !strings.Contains(err.Error(), "disk on fire") || !strings.Contains(err.Error(), "may not survive") {
			t.Fatalf("got %v, want the sync's error, saying the commit may not survive", err)
		}
	case <-time.After(syncDeadline):
		t.Fatal("the durable transaction did not return")
	}
}

func TestDurableTransactionsWaitingForASyncCommitTogetherAfterIt(t *testing.T) {
	s, h := openHeld(t)
	ctx := context.Background()
	must(t, s.Projects().Create(core.Relaxed(ctx), project("demo")), "create project")
	first := make(chan error, 1)
	go func() { first <- s.Events().Create(ctx, event("demo", "e0")) }()
	h.wait(t, "no sync") // the first sync is held: the next durable commits wait for it
	const n = 8
	done := make(chan error, n)
	for i := range n {
		go func() { done <- s.Events().Create(ctx, event("demo", "e"+string(rune('a'+i)))) }()
	}
	waitHeld(t, s, n)
	// Held, not committed: no sync could answer them before the next.
	evs, _, err := s.Events().List(ctx, core.EventSelector{ProjectID: "demo"}, core.ListOptions{Limit: 100})
	must(t, err, "list")
	if len(evs) != 1 {
		t.Fatalf("%d events visible while the first sync runs, want only e0", len(evs))
	}
	batches, syncs := s.batches.Load(), s.fsyncs.Load()
	h.release <- nil
	must(t, <-first, "first durable write")
	h.wait(t, "no sync for the held transactions") // the held ones' sync
	h.release <- nil
	for range n {
		must(t, <-done, "durable write")
	}
	if got := s.batches.Load() - batches; got != 1 {
		t.Errorf("%d durable transactions held during a sync were committed in %d batches, want 1", n, got)
	}
	if got := s.fsyncs.Load() - syncs; got != 1 {
		t.Errorf("%d durable transactions held during a sync took %d syncs, want 1", n, got)
	}
}

// holdOne opens a held store and leaves it with the sync of a first
// durable write (e0) under way and a second durable write (e1) held for it;
// first and held get their outcomes.
func holdOne(t *testing.T) (s *Store, h *heldSync, first, held chan error) {
	t.Helper()
	s, h = openHeld(t)
	ctx := context.Background()
	must(t, s.Projects().Create(core.Relaxed(ctx), project("demo")), "create project")
	first, held = make(chan error, 1), make(chan error, 1)
	go func() { first <- s.Events().Create(ctx, event("demo", "e0")) }()
	h.wait(t, "no sync")
	go func() { held <- s.Events().Create(ctx, event("demo", "e1")) }()
	waitHeld(t, s, 1)
	return s, h, first, held
}

// notVisible fails the test if any of the events is visible: the batch
// held for the first sync was committed before it ended.
func notVisible(t *testing.T, s *Store, ids ...string) {
	t.Helper()
	for _, id := range ids {
		if _, err := s.Events().Get(context.Background(), id); err == nil {
			t.Fatalf("%s is visible while the first sync runs: the held batch was committed", id)
		}
	}
}

func TestARelaxedTransactionIsNotHeldBehindDurableOnes(t *testing.T) {
	s, h, first, held := holdOne(t)
	ctx := context.Background()
	// The relaxed write commits at once, and the held one with it; that one
	// is answered only by a sync that begins after its commit.
	must(t, s.Events().Create(core.Relaxed(ctx), event("demo", "e2")), "a relaxed write while a durable one is held")
	if _, err := s.Events().Get(ctx, "e1"); err != nil {
		t.Fatalf("the held durable write, committed with the relaxed one: %v", err)
	}
	select {
	case err := <-held:
		t.Fatalf("the held durable write was answered (%v) before a sync after its commit", err)
	default:
	}
	h.release <- nil
	must(t, <-first, "first durable write")
	h.wait(t, "no sync for the held transaction")
	h.release <- nil
	must(t, <-held, "held durable write")
}

func TestAnUnhurriedTransactionWaitsWithTheHeldOnes(t *testing.T) {
	s, h, first, held := holdOne(t)
	ctx := context.Background()
	unhurried := make(chan error, 1)
	go func() { unhurried <- s.Events().Create(core.Unhurried(ctx), event("demo", "e2")) }()
	// Unlike a relaxed write, it joins the held batch instead of ending it.
	waitHeld(t, s, 2)
	notVisible(t, s, "e1", "e2")
	batches := s.batches.Load()
	h.release <- nil
	must(t, <-first, "first durable write")
	// Committed together; the unhurried write is answered at the commit,
	// the durable one only after the sync that follows it.
	must(t, <-unhurried, "unhurried write")
	if got := s.batches.Load() - batches; got != 1 {
		t.Errorf("the held durable and unhurried writes took %d commits, want 1", got)
	}
	h.wait(t, "no sync for the held transaction")
	select {
	case err := <-held:
		t.Fatalf("the held durable write was answered (%v) before its sync ended", err)
	default:
	}
	h.release <- nil
	must(t, <-held, "held durable write")
}

func TestHeldTransactionsRunWhileTheSyncIsUnderWay(t *testing.T) {
	s, h, first, held := holdOne(t)
	ctx := context.Background()
	// A transaction that comes while the sync runs is run at once, in the
	// held batch's transaction (its work overlaps the sync), and committed
	// only when the sync ends; one that fails is rolled back alone.
	ran := make(chan struct{})
	joined := make(chan error, 1)
	go func() {
		joined <- s.Tx(ctx, func(ctx context.Context) error {
			if err := s.Events().Create(ctx, event("demo", "e2")); err != nil {
				return err
			}
			close(ran)
			return nil
		})
	}()
	select {
	case <-ran:
	case <-time.After(syncDeadline):
		t.Fatal("a transaction that came while a sync ran waited for the sync's end before it ran")
	}
	failed := make(chan error, 1)
	go func() {
		failed <- s.Tx(ctx, func(ctx context.Context) error {
			if err := s.Events().Create(ctx, event("demo", "e3")); err != nil {
				return err
			}
			return errors.New("changed my mind")
		})
	}()
	waitHeld(t, s, 3)
	notVisible(t, s, "e1", "e2")
	batches := s.batches.Load()
	h.release <- nil
	must(t, <-first, "first durable write")
	h.wait(t, "no sync for the held transactions")
	h.release <- nil
	must(t, <-held, "held durable write")
	must(t, <-joined, "the durable write that joined the held batch")
	if err := <-failed; err == nil || err.Error() != "changed my mind" {
		t.Fatalf("the failed held transaction returned %v", err)
	}
	if got := s.batches.Load() - batches; got != 1 {
		t.Errorf("the held writes took %d commits, want 1", got)
	}
	for _, id := range []string{"e1", "e2"} {
		if _, err := s.Events().Get(ctx, id); err != nil {
			t.Errorf("%s after the held batch's commit: %v", id, err)
		}
	}
	if _, err := s.Events().Get(ctx, "e3"); !core.IsNotFound(err) {
		t.Errorf("the failed held transaction's event: %v, want not found", err)
	}
}
