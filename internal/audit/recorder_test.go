package audit_test

import (
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/brigadeplatform/brigade/internal/audit"
	"github.com/brigadeplatform/brigade/internal/auth"
	"github.com/brigadeplatform/brigade/internal/core"
	"github.com/brigadeplatform/brigade/internal/store/sqlite"
)

func openStore(t *testing.T) *sqlite.Store {
	t.Helper()
	st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "brigade.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func count(t *testing.T, st core.Store) int {
	t.Helper()
	items, meta, err := st.Audit().List(t.Context(), core.AuditSelector{}, core.ListOptions{Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	return len(items) + int(meta.RemainingItemCount)
}

// TestRecorderStoresWhatIsRecorded: entries recorded from many goroutines
// are all stored once Flush returns, and Close stores what is left.
func TestRecorderStoresWhatIsRecorded(t *testing.T) {
	st := openStore(t)
	rec := audit.New(st.Audit(), audit.Options{})
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for j := range 50 {
				rec.Record(core.AuditEntry{Action: "POST /x", Object: "x/" + string(rune('a'+i)), Status: 200 + j})
			}
		})
	}
	wg.Wait()
	if err := rec.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	if n := count(t, st); n != 400 {
		t.Fatalf("%d entries stored, want 400", n)
	}
	rec.Record(core.AuditEntry{Action: "DELETE /x"})
	rec.Close()
	rec.Close()
	if n := count(t, st); n != 401 {
		t.Fatalf("%d entries stored after Close, want 401", n)
	}
	rec.Record(core.AuditEntry{Action: "after close"}) // logged, not stored, no panic
}

// TestRetentionPrunes: entries past the age limit go, then all but the
// newest MaxEntries; the clock is a fake one.
func TestRetentionPrunes(t *testing.T) {
	st := openStore(t)
	now := time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	rec := audit.New(st.Audit(), audit.Options{MaxAge: 24 * time.Hour, MaxEntries: 3, Now: clock})
	defer rec.Close()
	for i := range 5 {
		rec.Record(core.AuditEntry{Time: now.Add(time.Duration(i-10) * 24 * time.Hour), Action: "old"})
	}
	for range 4 {
		rec.Record(core.AuditEntry{Action: "new"}) // now
	}
	if err := rec.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	n, err := rec.Prune(t.Context())
	if err != nil || n != 6 {
		t.Fatalf("pruned %d (%v), want 6: 5 by age, 1 by count", n, err)
	}
	items, _, err := st.Audit().List(t.Context(), core.AuditSelector{}, core.ListOptions{Limit: 10})
	if err != nil || len(items) != 3 {
		t.Fatalf("left %+v (%v), want the 3 newest", items, err)
	}
	for _, e := range items {
		if e.Action != "new" {
			t.Fatalf("left %+v", e)
		}
	}
	mu.Lock()
	now = now.Add(25 * time.Hour)
	mu.Unlock()
	if n, err := rec.Prune(t.Context()); err != nil || n != 3 {
		t.Fatalf("pruned %d (%v) a day later, want 3", n, err)
	}
}

// TestPrincipalOf names each kind of principal.
func TestPrincipalOf(t *testing.T) {
	for _, c := range []struct {
		p    *auth.Principal
		want core.AuditPrincipal
	}{
		{nil, core.AuditPrincipal{Kind: "ANONYMOUS"}},
		{auth.Root("s"), core.AuditPrincipal{Kind: "ROOT", ID: "root"}},
		{auth.Scheduler(), core.AuditPrincipal{Kind: "SCHEDULER", ID: "scheduler"}},
		{auth.Observer(), core.AuditPrincipal{Kind: "OBSERVER", ID: "observer"}},
		{auth.Worker("e1"), core.AuditPrincipal{Kind: "WORKER", ID: "e1"}},
		{&auth.Principal{Kind: auth.KindUser, ID: "alice"}, core.AuditPrincipal{Kind: "USER", ID: "alice"}},
		{&auth.Principal{Kind: auth.KindServiceAccount, ID: "ci"}, core.AuditPrincipal{Kind: "SERVICE_ACCOUNT", ID: "ci"}},
		{&auth.Principal{Kind: 99, ID: "x"}, core.AuditPrincipal{Kind: "KIND_99", ID: "x"}},
	} {
		if got := audit.PrincipalOf(c.p); got != c.want {
			t.Errorf("PrincipalOf(%+v) = %+v, want %+v", c.p, got, c.want)
		}
	}
}
