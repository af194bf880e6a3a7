package sqlite

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/brigadeplatform/brigade/internal/core"
)

// Durability off the writer's path.
//
// The write connection commits with synchronous=NORMAL: a COMMIT writes its
// frames to the WAL and returns without waiting for the disk, so the writer
// goes on with the next batch at once. A transaction that was not made with
// core.Relaxed is not answered yet: the writer hands it to the syncer, which
// syncs the WAL file (fdatasync of the same file SQLite writes) and only
// then lets Tx return. One sync answers every durable transaction committed
// before it began, and the WAL is written in commit order, so it also makes
// every earlier relaxed commit durable.
//
// What a commit changed is visible (and its topics published) as soon as it
// commits, before its sync, as relaxed commits always were: the scheduler
// can start an event's worker while the sync that answers the event's 201
// is still under way. A crash of the process loses nothing either way (the
// frames are in the page cache); a crash of the machine can lose what was
// not synced yet, and no client was told it was accepted.

// holdForSync keeps a batch of durable transactions open while a sync is
// under way, running in it what else comes: none of them could be answered
// before the sync after it anyway, so committing them when it ends answers
// them as soon, in fewer and larger commits (many clients at once), and
// their work is done while the disk syncs rather than after. A transaction
// that would be answered at its commit (a relaxed one) ends the wait, as
// does the end of the sync or a full batch; an unhurried one waits with the
// durable ones. It returns batch with what it ran; an error from runOne
// means the transaction broke down (see runBatch). Writer only.
func (s *Store) holdForSync(w *writeConn, batch []*txRequest) ([]*txRequest, error) {
	defer s.held.Store(0)
	for len(batch) < maxBatch && mayWait(batch) {
		idle := s.syncIdle()
		if idle == nil {
			return batch, nil
		}
		s.held.Store(int64(len(batch)))
		select {
		case r := <-s.reqs:
			batch = append(batch, r)
			if err := s.runQueued(w, r, false); err != nil {
				return batch, err
			}
		case <-idle:
			return batch, nil
		case <-s.closing:
			return batch, nil
		}
	}
	return batch, nil
}

// mayWait reports whether nothing in batch is to be answered at its commit.
func mayWait(batch []*txRequest) bool {
	for _, r := range batch {
		if core.IsRelaxed(r.ctx) && !core.IsUnhurried(r.ctx) {
			return false
		}
	}
	return true
}

// syncIdle returns a channel closed when the sync under way ends, or nil
// when none is.
func (s *Store) syncIdle() <-chan struct{} {
	s.syncMu.Lock()
	defer s.syncMu.Unlock()
	return s.syncing
}

// syncStarted and syncEnded bracket a sync (syncer only).
func (s *Store) syncStarted() {
	s.syncMu.Lock()
	s.syncing = make(chan struct{})
	s.syncMu.Unlock()
}

func (s *Store) syncEnded() {
	s.syncMu.Lock()
	close(s.syncing)
	s.syncing = nil
	s.syncMu.Unlock()
}

// syncRequests is what the writer hands the syncer: the durable requests of
// one committed batch, to be answered once the WAL is on disk.
type syncRequests []*txRequest

// syncer answers durable requests after syncing the WAL, as many at once as
// have waited during the previous sync. It ends once the writer has closed
// syncq and everything handed to it is answered.
func (s *Store) syncer() {
	defer close(s.syncerDone)
	for batch := range s.syncq {
		waiting := batch
	more:
		for {
			select {
			case b, ok := <-s.syncq:
				if !ok {
					break more
				}
				waiting = append(waiting, b...)
			default:
				break more
			}
		}
		s.syncStarted()
		err := s.syncWAL()
		s.syncEnded()
		for _, r := range waiting {
			if err != nil {
				r.ok = false
				r.err = fmt.Errorf("the transaction committed, but syncing it to disk failed, so it may not survive a crash of the machine: %w", err)
			}
			close(r.done)
		}
	}
}

// syncWAL writes what SQLite wrote to the WAL to disk. fdatasync applies
// to the file, whichever descriptor names it. Should the WAL be gone (a
// checkpoint on closing moved it into the database, which SQLite then
// syncs), the database file is synced instead.
func (s *Store) syncWAL() error {
	s.fsyncs.Add(1)
	if s.syncFile != nil {
		return s.syncFile(s.path + "-wal")
	}
	err := syncPath(s.path + "-wal")
	if errors.Is(err, fs.ErrNotExist) {
		err = syncPath(s.path)
	}
	return err
}

func syncPath(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	err = datasync(f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("sync %s: %w", path, err)
	}
	return nil
}

// answer finishes a committed batch's requests: relaxed ones (and those
// that failed, which wrote nothing) at once, durable ones through the
// syncer. It reports how many went to the syncer.
func (s *Store) answer(batch []*txRequest) int {
	var durable syncRequests
	for _, r := range batch {
		if r.ok && !core.IsRelaxed(r.ctx) {
			durable = append(durable, r)
			continue
		}
		close(r.done)
	}
	if len(durable) > 0 {
		s.syncq <- durable
	}
	return len(durable)
}
