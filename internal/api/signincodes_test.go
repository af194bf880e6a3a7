package api

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/brigadeplatform/brigade/internal/auth"
	"github.com/brigadeplatform/brigade/internal/core"
)

// TestSignInCodes: a code signs in once, as its asker, until it expires;
// a changed root password ends codes not yet used.
func TestSignInCodes(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	var mu sync.Mutex
	clock := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	now := func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
	advance := func(d time.Duration) { mu.Lock(); clock = clock.Add(d); mu.Unlock() }
	sealer := testSealer()
	svc := New(st, sealer, Config{Now: now}, nil)
	if _, err := svc.EnsureRootPassword(ctx, "pw-for-test"); err != nil {
		t.Fatal(err)
	}
	tok, err := svc.CreateRootSession(ctx, "root", "pw-for-test", true)
	if err != nil {
		t.Fatal(err)
	}
	p, err := svc.Authenticate(ctx, tok.Value)
	if err != nil {
		t.Fatal(err)
	}
	asRoot := auth.With(ctx, p)
	newCode := func() string {
		t.Helper()
		c, err := svc.CreateSignInCode(asRoot)
		if err != nil {
			t.Fatal(err)
		}
		return c.Code
	}
	refused := func(code, why string) {
		t.Helper()
		_, err := svc.RedeemSignInCode(ctx, code)
		if _, ok := err.(*core.AuthenticationError); !ok {
			t.Fatalf("%s: got %v, want an AuthenticationError", why, err)
		}
	}

	code := newCode()
	got, err := svc.RedeemSignInCode(ctx, code)
	if err != nil {
		t.Fatal(err)
	}
	if gp, err := svc.Authenticate(ctx, got.Value); err != nil || gp.Kind != auth.KindRoot || gp.SessionID == p.SessionID {
		t.Fatalf("the redeemed session: %+v %v", gp, err)
	}
	refused(code, "a second redemption")
	refused("", "an empty code")
	refused("made-up", "a made-up code")

	late := newCode()
	advance(SignInCodeTTL)
	refused(late, "a code redeemed at its expiry")

	ended := newCode()
	if _, err := svc.EnsureRootPassword(ctx, "another-password"); err != nil {
		t.Fatal(err)
	}
	refused(ended, "a code after the root password changed")

	if _, err := svc.CreateSignInCode(auth.With(ctx, auth.Worker("some-event"))); err == nil {
		t.Fatal("a worker got a sign-in code")
	}
}
