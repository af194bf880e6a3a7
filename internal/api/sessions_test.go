package api

import (
	"context"
	"errors"
	"testing"

	"github.com/brigadeplatform/brigade/internal/auth"
	"github.com/brigadeplatform/brigade/internal/core"
)

// TestLogoutRevokesACachedSession: a token authenticated before (and so
// cached) is refused once its session is deleted.
func TestLogoutRevokesACachedSession(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	sealer := testSealer()
	svc := New(st, sealer, Config{}, nil)
	if _, err := svc.EnsureRootPassword(ctx, "pw-for-test"); err != nil {
		t.Fatal(err)
	}
	login := func() string {
		tok, err := svc.CreateRootSession(ctx, "root", "pw-for-test", true)
		if err != nil {
			t.Fatal(err)
		}
		return tok.Value
	}
	tok, other := login(), login()
	var p *auth.Principal
	var err error
	for range 2 { // the second one is served from the cache
		if p, err = svc.Authenticate(ctx, tok); err != nil {
			t.Fatalf("fresh session refused: %v", err)
		}
		if _, err := svc.Authenticate(ctx, other); err != nil {
			t.Fatalf("fresh session refused: %v", err)
		}
	}
	if err := svc.DeleteSession(auth.With(ctx, p)); err != nil {
		t.Fatal(err)
	}
	var authn *core.AuthenticationError
	if _, err := svc.Authenticate(ctx, tok); !errors.As(err, &authn) {
		t.Fatalf("after logout: got %v, want an AuthenticationError", err)
	}
	if _, err := svc.Authenticate(ctx, other); err != nil {
		t.Fatalf("another session was logged out too: %v", err)
	}
}
