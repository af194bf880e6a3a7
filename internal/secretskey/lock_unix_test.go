//go:build unix

package secretskey

import (
	"strings"
	"sync"
	"testing"
)

func TestLockDataDirRefusesWhileHeld(t *testing.T) {
	dir := t.TempDir()
	unlock, err := LockDataDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	if _, err := lockDataDir(dir, 0, nil); err == nil || !strings.Contains(err.Error(), "uses the data dir") {
		t.Fatalf("a second lock of a held data dir: %v, want the refusal", err)
	}
}

// A lock let go while a start waits for it (a killed server's, held a
// moment longer by a process it was starting) is taken.
func TestLockDataDirWaitsForAHeldLock(t *testing.T) {
	dir := t.TempDir()
	first, err := LockDataDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	tries := 0
	second, err := lockDataDir(dir, lockWait, func() {
		tries++
		once.Do(first)
	})
	if err != nil {
		t.Fatalf("the lock was let go during the wait, yet: %v", err)
	}
	defer second()
	if tries == 0 {
		t.Fatal("the lock was taken without a wait while it was held")
	}
}
