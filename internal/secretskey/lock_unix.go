//go:build unix

package secretskey

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// lockWait is how long LockDataDir waits for a lock that is held. A server
// killed a moment ago may still hold it for a few milliseconds more: a
// process it was starting then shares the lock's open file until its exec
// closes it, so a restart right after a crash (as a supervisor makes) must
// not give up at once. A second server started by mistake waits this long
// before it is refused.
const lockWait = 3 * time.Second

// LockDataDir takes the data dir's lock (a flock on server.lock in it),
// which a running server holds, so that a key rotation never runs beside a
// server that keeps the old key in memory. unlock releases it.
func LockDataDir(dir string) (unlock func(), err error) {
	return lockDataDir(dir, lockWait, nil)
}

// lockDataDir is LockDataDir waiting up to wait for a held lock; retrying,
// when not nil, is called before each new try.
func lockDataDir(dir string, wait time.Duration, retrying func()) (unlock func(), err error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("creating data dir %s: %w (set --data-dir to a writable folder)", dir, err)
	}
	path := filepath.Join(dir, "server.lock")
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", path, err)
	}
	deadline := time.Now().Add(wait)
	for {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if !errors.Is(err, syscall.EWOULDBLOCK) || time.Now().After(deadline) {
			break
		}
		if retrying != nil {
			retrying()
		}
		time.Sleep(20 * time.Millisecond) // flock cannot wait with a bound
	}
	if err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("another brigade process (a server, or a key rotation) uses the data dir %s; "+
				"stop it first, or give each server its own --data-dir", dir)
		}
		return nil, fmt.Errorf("locking %s: %w", path, err)
	}
	return func() { f.Close() }, nil
}
