package postgres

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/brigadeplatform/brigade/internal/store/postgres/pgtest"
)

// One process leads at a time; the next takes over once the first's fn
// returns (its session's lock goes with its connection).
func TestLeadIsExclusiveAndHandsOver(t *testing.T) {
	url := pgtest.Schema(t)
	a, b := openURL(t, url), openURL(t, url)
	ctx := t.Context()
	var la, lb Leadership
	aLeads, aStop := make(chan struct{}), make(chan struct{})
	aDone := make(chan error, 1)
	go func() {
		aDone <- a.Lead(ctx, "test", &la, func(ctx context.Context) error {
			close(aLeads)
			<-aStop
			return nil
		})
	}()
	select {
	case <-aLeads:
	case <-time.After(waitFor):
		t.Fatal("a never led")
	}
	bLeads := make(chan struct{})
	bCtx, bCancel := context.WithCancel(ctx)
	defer bCancel()
	bDone := make(chan error, 1)
	go func() {
		bDone <- b.Lead(bCtx, "test", &lb, func(ctx context.Context) error {
			close(bLeads)
			<-ctx.Done()
			return nil
		})
	}()
	select {
	case <-bLeads:
		t.Fatal("b led while a held the lock")
	case <-time.After(3 * leadPoll): // b tried the lock at least twice meanwhile
	}
	if !la.Leading() || lb.Leading() {
		t.Fatalf("leading: a %v, b %v; want a only", la.Leading(), lb.Leading())
	}
	close(aStop)
	if err := <-aDone; err != nil {
		t.Fatalf("a's Lead: %v", err)
	}
	select {
	case <-bLeads:
	case <-time.After(waitFor):
		t.Fatal("b did not take over once a stopped")
	}
	if la.Leading() || !lb.Leading() {
		t.Fatalf("leading: a %v, b %v; want b only", la.Leading(), lb.Leading())
	}
	bCancel()
	if err := <-bDone; !errors.Is(err, context.Canceled) && err != nil {
		t.Fatalf("b's Lead after its ctx ended: %v", err)
	}
}

// A leader whose lock connection is cut stops what it leads and says so.
func TestLeadStopsWhenItsLockConnectionBreaks(t *testing.T) {
	url := pgtest.Schema(t)
	s := openURL(t, url)
	ctx := t.Context()
	leading := make(chan struct{})
	fnEnded := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- s.Lead(ctx, "test", nil, func(ctx context.Context) error {
			close(leading)
			<-ctx.Done()
			close(fnEnded)
			return nil
		})
	}()
	select {
	case <-leading:
	case <-time.After(waitFor):
		t.Fatal("never led")
	}
	if _, err := s.pool.Exec(ctx, `SELECT pg_terminate_backend(pid) FROM pg_locks
		WHERE locktype = 'advisory' AND granted AND pid <> pg_backend_pid()
		AND pid IN (SELECT pid FROM pg_stat_activity WHERE datname = current_database())
		AND objid = (hashtextextended('brigade-lead:' || current_schema() || ':test', 0) & x'FFFFFFFF'::bigint)`); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if !errors.Is(err, ErrLeadershipLost) {
			t.Fatalf("Lead returned %v, want ErrLeadershipLost", err)
		}
	case <-time.After(waitFor):
		t.Fatal("Lead went on after its lock connection was cut")
	}
	select {
	case <-fnEnded:
	default:
		t.Fatal("Lead returned before what it led had stopped")
	}
}
