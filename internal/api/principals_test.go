package api

import (
	"context"
	"errors"
	"testing"

	"github.com/brigadeplatform/brigade/internal/auth"
	"github.com/brigadeplatform/brigade/internal/core"
)

// TestPrincipalsAreCachedUntilTheirRolesChange: a service account's or a
// user's principal is read once and then served from the cache, until a
// grant, revoke or lock, after which the next request reads it anew.
func TestPrincipalsAreCachedUntilTheirRolesChange(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	sealer := testSealer()
	svc := New(st, sealer, Config{ThirdPartyAuth: true}, nil)
	root := auth.With(ctx, auth.Root("test"))

	saTok, err := svc.CreateServiceAccount(root, &core.ServiceAccount{Metadata: core.ObjectMeta{ID: "bot"}, Description: "a bot"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.EnsureUser(ctx, "ann@example.com", "Ann"); err != nil {
		t.Fatal(err)
	}
	userTok, err := svc.StartUserSession(ctx, "ann@example.com")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name  string
		token string
		ref   core.PrincipalReference
	}{
		{"ServiceAccount", saTok.Value, core.PrincipalReference{Type: core.PrincipalTypeServiceAccount, ID: "bot"}},
		{"User", userTok.Value, core.PrincipalReference{Type: core.PrincipalTypeUser, ID: "ann@example.com"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			authn := func() *auth.Principal {
				t.Helper()
				p, err := svc.Authenticate(ctx, c.token)
				if err != nil {
					t.Fatalf("authenticating: %v", err)
				}
				return p
			}
			first := authn()
			if authn() != first {
				t.Fatal("the second request read the principal again instead of using the cache")
			}
			reader := core.RoleAssignment{Role: auth.RoleReader, Principal: c.ref}
			if err := svc.GrantRole(root, reader); err != nil {
				t.Fatal(err)
			}
			granted := authn()
			if granted == first || !granted.HasRole(auth.RoleReader, "") {
				t.Fatalf("after the grant: %+v", granted)
			}
			if err := svc.RevokeRole(root, reader); err != nil {
				t.Fatal(err)
			}
			if authn().HasRole(auth.RoleReader, "") {
				t.Fatal("the revoked role still holds")
			}
		})
	}
	if err := svc.LockServiceAccount(root, "bot"); err != nil {
		t.Fatal(err)
	}
	var authz *core.AuthorizationError
	if _, err := svc.Authenticate(ctx, saTok.Value); !errors.As(err, &authz) {
		t.Fatalf("a locked account: got %v, want an AuthorizationError", err)
	}
	if err := svc.LockUser(root, "ann@example.com"); err != nil {
		t.Fatal(err)
	}
	var authnErr *core.AuthenticationError
	if _, err := svc.Authenticate(ctx, userTok.Value); !errors.As(err, &authnErr) {
		t.Fatalf("a locked user's session: got %v, want an AuthenticationError", err)
	}
}
