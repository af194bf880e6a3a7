package api

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/brigadeplatform/brigade/internal/core"
	"github.com/brigadeplatform/brigade/internal/seal"
	"github.com/brigadeplatform/brigade/internal/store/sqlite"
)

func TestSubscribes(t *testing.T) {
	p := &core.Project{Spec: core.ProjectSpec{EventSubscriptions: []core.EventSubscription{
		{Source: "gw", Types: []string{"push"}, Qualifiers: map[string]string{"repo": "a"}, Labels: map[string]string{"team": "x"}},
	}}}
	ev := func(typ string, q, l map[string]string) *core.Event {
		return &core.Event{Source: "gw", Type: typ, Qualifiers: q, Labels: l}
	}
	cases := []struct {
		name string
		ev   *core.Event
		want bool
	}{
		{"AllMatch", ev("push", map[string]string{"repo": "a"}, map[string]string{"team": "x", "more": "y"}), true},
		{"WrongType", ev("pull", map[string]string{"repo": "a"}, map[string]string{"team": "x"}), false},
		{"MissingQualifier", ev("push", nil, map[string]string{"team": "x"}), false},
		{"ExtraQualifier", ev("push", map[string]string{"repo": "a", "b": "c"}, map[string]string{"team": "x"}), false},
		{"MissingLabel", ev("push", map[string]string{"repo": "a"}, nil), false},
		{"OtherSource", &core.Event{Source: "other", Type: "push", Qualifiers: map[string]string{"repo": "a"}}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := Subscribes(p, c.ev); got != c.want {
				t.Fatalf("Subscribes = %v, want %v", got, c.want)
			}
		})
	}
	t.Run("NoQualifiersOnBothSidesMatch", func(t *testing.T) {
		bare := &core.Project{Spec: core.ProjectSpec{EventSubscriptions: []core.EventSubscription{{Source: "gw", Types: []string{"*"}}}}}
		if !Subscribes(bare, &core.Event{Source: "gw", Type: "any", Qualifiers: map[string]string{}}) {
			t.Fatal("empty qualifiers should match a subscription without qualifiers")
		}
	})
}

func TestRootSessionExpires(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	sealer := testSealer()
	svc := New(st, sealer, Config{RootSessionTTL: time.Minute}, nil)
	clock := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	svc.now = func() time.Time { return clock }
	if _, err := svc.EnsureRootPassword(ctx, "pw-for-test"); err != nil {
		t.Fatal(err)
	}
	tok, err := svc.CreateRootSession(ctx, "root", "pw-for-test", true)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Authenticate(ctx, tok.Value); err != nil {
		t.Fatalf("fresh session refused: %v", err)
	}
	clock = clock.Add(time.Minute)
	var authn *core.AuthenticationError
	if _, err := svc.Authenticate(ctx, tok.Value); !errors.As(err, &authn) {
		t.Fatalf("expired session: got %v, want an AuthenticationError", err)
	}
	t.Run("GeneratedPasswordOnlyOnFirstStart", func(t *testing.T) {
		other, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "c.db"), slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		defer other.Close()
		s2 := New(other, sealer, Config{}, nil)
		pw, err := s2.EnsureRootPassword(ctx, "")
		if err != nil || len(pw) < 16 {
			t.Fatalf("first start: %q %v", pw, err)
		}
		again, err := s2.EnsureRootPassword(ctx, "")
		if err != nil || again != "" {
			t.Fatalf("second start generated %q %v", again, err)
		}
		if _, err := s2.CreateRootSession(ctx, "root", pw, true); err != nil {
			t.Fatalf("generated password refused: %v", err)
		}
	})
}

// openStore opens a SQLite store in the test's temporary folder, closed
// once the test ends.
func openStore(t *testing.T) *sqlite.Store {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "b.db"), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}

// testSealer seals with an all-zero key.
func testSealer() *seal.Sealer {
	s, _ := seal.New(make([]byte, seal.KeySize))
	return s
}
