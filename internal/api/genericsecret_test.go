package api

import (
	"errors"
	"testing"
	"time"

	"github.com/brigadeplatform/brigade/internal/auth"
	"github.com/brigadeplatform/brigade/internal/core"
)

func TestVerifyGenericGatewaySecret(t *testing.T) {
	st := openStore(t)
	sealer := testSealer()
	clock := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	svc := New(st, sealer, Config{GenericSecretCheckRate: 1, GenericSecretCheckBurst: 3, Now: func() time.Time { return clock }}, nil)
	root := auth.With(t.Context(), auth.Root(""))
	for _, id := range []string{"with-secret", "without-secret", "empty-secret"} {
		if _, err := svc.CreateProject(root, &core.Project{Metadata: core.ObjectMeta{ID: id}}); err != nil {
			t.Fatal(err)
		}
	}
	set := func(project, value string) {
		k := core.GenericGatewaySecretKey
		if err := svc.SetSecret(root, project, k, &core.Secret{Key: k, Value: value}); err != nil {
			t.Fatal(err)
		}
	}
	set("with-secret", "the-right-secret-0123")
	set("empty-secret", "")
	gw := auth.With(t.Context(), auth.Gateway("generic", core.GenericGatewaySource))
	check := func(project, value string) (core.SecretVerificationResult, error) {
		return svc.VerifyGenericGatewaySecret(gw, project, value)
	}

	t.Run("Results", func(t *testing.T) {
		for _, c := range []struct {
			project, value string
			want           core.SecretVerificationResult
		}{
			{"with-secret", "the-right-secret-0123", core.SecretMatched},
			{"with-secret", "the-right-secret-012", core.SecretMismatched},
			{"with-secret", "", core.SecretMismatched},
			{"without-secret", "anything", core.SecretNotSet},
			{"empty-secret", "", core.SecretNotSet},
		} {
			if got, err := check(c.project, c.value); err != nil || got != c.want {
				t.Errorf("%s: got %q %v, want %q", c.project, got, err, c.want)
			}
		}
		if _, err := check("nobody", "x"); !core.IsNotFound(err) {
			t.Errorf("unknown project: %v, want a NotFoundError", err)
		}
	})
	t.Run("WhoMayAsk", func(t *testing.T) {
		admin := auth.Stored(auth.KindServiceAccount, "admin", "", []core.RoleAssignment{{Role: auth.RoleAdmin}}, nil)
		if _, err := svc.VerifyGenericGatewaySecret(auth.With(t.Context(), admin), "without-secret", "x"); err != nil {
			t.Errorf("an ADMIN was refused: %v", err)
		}
		var authz *core.AuthorizationError
		other := auth.With(t.Context(), auth.Gateway("github", "brigade.sh/github"))
		if _, err := svc.VerifyGenericGatewaySecret(other, "with-secret", "x"); !errors.As(err, &authz) {
			t.Errorf("an event creator of another source: %v, want a 403", err)
		}
		if _, err := svc.VerifyGenericGatewaySecret(t.Context(), "with-secret", "x"); err == nil {
			t.Error("no principal was let in")
		}
	})
	t.Run("FailedChecksAreLimitedPerProject", func(t *testing.T) {
		// Results left one failed check in the bucket of 3; matches give
		// their token back.
		for range 5 {
			if got, err := check("with-secret", "the-right-secret-0123"); err != nil || got != core.SecretMatched {
				t.Fatalf("a match with a token left: %q %v", got, err)
			}
		}
		if _, err := check("with-secret", "wrong"); err != nil {
			t.Fatal(err)
		}
		var tooMany *core.TooManyRequestsError
		_, err := check("with-secret", "the-right-secret-0123")
		if !errors.As(err, &tooMany) || tooMany.RetryAfter <= 0 {
			t.Fatalf("with the bucket empty, even the right secret: %v, want a 429 with a delay", err)
		}
		// Other projects are not affected.
		if got, err := check("without-secret", "x"); err != nil || got != core.SecretNotSet {
			t.Fatalf("another project: %q %v", got, err)
		}
		clock = clock.Add(time.Minute)
		if got, err := check("with-secret", "the-right-secret-0123"); err != nil || got != core.SecretMatched {
			t.Fatalf("a minute later: %q %v", got, err)
		}
	})
}
