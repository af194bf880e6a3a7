package storetest

import (
	"testing"
	"time"

	"github.com/brigadeplatform/brigade/internal/core"
)

func secretCases() []testCase {
	return []testCase{
		{"Secrets/SetGetAndOverwrite", func(t *testing.T, s core.Store) {
			ctx := t.Context()
			mkProject(t, s, "demo")
			sealed := []byte{0, 1, 2, 0xff, 0}
			must(t, s.Secrets().Set(ctx, "demo", "token", sealed), "set secret")
			got, err := s.Secrets().Get(ctx, "demo", "token")
			must(t, err, "get secret")
			wantEqual(t, got, sealed, "sealed bytes")
			must(t, s.Secrets().Set(ctx, "demo", "token", []byte("v2")), "overwrite secret")
			got, err = s.Secrets().Get(ctx, "demo", "token")
			must(t, err, "get secret")
			wantEqual(t, got, []byte("v2"), "overwritten value")
		}},
		{"Secrets/MissingIsNotFound", func(t *testing.T, s core.Store) {
			ctx := t.Context()
			mkProject(t, s, "demo")
			_, err := s.Secrets().Get(ctx, "demo", "nope")
			wantNotFound(t, err, "Secret")
			wantNotFound(t, s.Secrets().Set(ctx, "nope", "k", []byte("v")), "Project")
			_, _, err = s.Secrets().List(ctx, "nope", core.ListOptions{Limit: 10})
			wantNotFound(t, err, "Project")
		}},
		{"Secrets/ListOrdersByKeyAndPages", func(t *testing.T, s core.Store) {
			ctx := t.Context()
			mkProject(t, s, "demo")
			mkProject(t, s, "other")
			for _, k := range []string{"d", "a", "e", "c", "b"} {
				must(t, s.Secrets().Set(ctx, "demo", k, []byte(k)), "set secret")
			}
			must(t, s.Secrets().Set(ctx, "other", "zz", []byte("x")), "set other secret")
			var got []string
			opts := core.ListOptions{Limit: 2}
			for _, remaining := range []int64{3, 1, 0} {
				keys, meta, err := s.Secrets().List(ctx, "demo", opts)
				must(t, err, "list secrets")
				wantMeta(t, meta, remaining, "secrets page")
				if meta.Continue != "" {
					wantEqual(t, meta.Continue, keys[len(keys)-1], "cursor is the last key")
				}
				got = append(got, keys...)
				opts.Continue = meta.Continue
			}
			wantEqual(t, got, []string{"a", "b", "c", "d", "e"}, "keys across pages")
		}},
		{"Secrets/AllReturnsEveryValue", func(t *testing.T, s core.Store) {
			ctx := t.Context()
			mkProject(t, s, "demo")
			all, err := s.Secrets().All(ctx, "demo")
			must(t, err, "all secrets")
			wantEqual(t, len(all), 0, "secrets of a new project")
			must(t, s.Secrets().Set(ctx, "demo", "a", []byte("1")), "set a")
			must(t, s.Secrets().Set(ctx, "demo", "b", []byte("2")), "set b")
			all, err = s.Secrets().All(ctx, "demo")
			must(t, err, "all secrets")
			wantEqual(t, all, map[string][]byte{"a": []byte("1"), "b": []byte("2")}, "all secrets")
		}},
		{"Secrets/UnsetRemovesAndAbsentIsNotAnError", func(t *testing.T, s core.Store) {
			ctx := t.Context()
			mkProject(t, s, "demo")
			must(t, s.Secrets().Set(ctx, "demo", "a", []byte("1")), "set a")
			must(t, s.Secrets().Unset(ctx, "demo", "a"), "unset a")
			must(t, s.Secrets().Unset(ctx, "demo", "a"), "unset a again")
			_, err := s.Secrets().Get(ctx, "demo", "a")
			wantNotFound(t, err, "Secret")
		}},
	}
}

func sessionCases() []testCase {
	return []testCase{
		{"Sessions/CreateGetDelete", func(t *testing.T, s core.Store) {
			ctx := t.Context()
			want := &core.Session{ID: "s1", TokenHash: "h1", Root: true, UserID: "alice",
				Created: base, Authenticated: ptr(base.Add(time.Second)), Expires: ptr(base.Add(time.Hour))}
			must(t, s.Sessions().Create(ctx, want), "create session")
			got, err := s.Sessions().GetByTokenHash(ctx, "h1")
			must(t, err, "get session")
			wantTime(t, &got.Created, base, "created")
			wantTime(t, got.Authenticated, base.Add(time.Second), "authenticated")
			wantTime(t, got.Expires, base.Add(time.Hour), "expires")
			wantEqual(t, []any{got.ID, got.TokenHash, got.Root, got.UserID}, []any{"s1", "h1", true, "alice"}, "session")

			must(t, s.Sessions().Create(ctx, &core.Session{ID: "s2", TokenHash: "h2", Created: base}), "create bare session")
			got, err = s.Sessions().GetByTokenHash(ctx, "h2")
			must(t, err, "get bare session")
			if got.Authenticated != nil || got.Expires != nil || got.Root {
				t.Fatalf("bare session came back as %+v", got)
			}

			must(t, s.Sessions().Delete(ctx, "s1"), "delete session")
			_, err = s.Sessions().GetByTokenHash(ctx, "h1")
			wantNotFound(t, err, "Session")
			wantNotFound(t, s.Sessions().Delete(ctx, "s1"), "Session")
		}},
		{"Sessions/DuplicateIsConflict", func(t *testing.T, s core.Store) {
			ctx := t.Context()
			must(t, s.Sessions().Create(ctx, &core.Session{ID: "s1", TokenHash: "h1", Created: base}), "create session")
			wantConflict(t, s.Sessions().Create(ctx, &core.Session{ID: "s1", TokenHash: "h9", Created: base}))
			wantConflict(t, s.Sessions().Create(ctx, &core.Session{ID: "s9", TokenHash: "h1", Created: base}))
		}},
		{"Sessions/ThirdPartyLoginCompletesOnce", func(t *testing.T, s core.Store) {
			ctx := t.Context()
			must(t, s.Sessions().Create(ctx, &core.Session{ID: "s1", TokenHash: "h1", Created: base,
				AuthStateHash: "st1", SuccessURL: "https://example.com/done"}), "create pending session")
			must(t, s.Sessions().Create(ctx, &core.Session{ID: "s2", TokenHash: "h2", Created: base, AuthStateHash: "st2"}),
				"create another pending session")
			wantConflict(t, s.Sessions().Create(ctx, &core.Session{ID: "s3", TokenHash: "h3", Created: base, AuthStateHash: "st1"}))
			got, err := s.Sessions().PendingByStateHash(ctx, "st1")
			must(t, err, "find pending session")
			wantEqual(t, []any{got.ID, got.SuccessURL, got.Authenticated == nil}, []any{"s1", "https://example.com/done", true}, "pending")
			_, err = s.Sessions().PendingByStateHash(ctx, "nope")
			wantNotFound(t, err, "Session")

			done, err := s.Sessions().Authenticate(ctx, "s1", "ada@example.com", base.Add(time.Minute), base.Add(time.Hour))
			must(t, err, "authenticate")
			wantEqual(t, []any{done.UserID, done.AuthStateHash, done.SuccessURL}, []any{"ada@example.com", "", "https://example.com/done"}, "completed")
			wantTime(t, done.Authenticated, base.Add(time.Minute), "authenticated")
			wantTime(t, done.Expires, base.Add(time.Hour), "expires")
			// The state completes nothing again, and the token now works.
			_, err = s.Sessions().PendingByStateHash(ctx, "st1")
			wantNotFound(t, err, "Session")
			_, err = s.Sessions().Authenticate(ctx, "s1", "mallory@example.com", base, base.Add(time.Hour))
			wantNotFound(t, err, "Session")
			got, err = s.Sessions().GetByTokenHash(ctx, "h1")
			must(t, err, "get completed session")
			wantEqual(t, got.UserID, "ada@example.com", "user")
			// A root session was never a login under way.
			must(t, s.Sessions().Create(ctx, &core.Session{ID: "r", TokenHash: "hr", Root: true, Created: base}), "create root")
			_, err = s.Sessions().Authenticate(ctx, "r", "ada@example.com", base, base.Add(time.Hour))
			wantNotFound(t, err, "Session")
		}},
		{"Sessions/DeleteExpiredRemovesOnlyExpired", func(t *testing.T, s core.Store) {
			ctx := t.Context()
			for i, exp := range []*time.Time{ptr(base.Add(-time.Hour)), ptr(base.Add(-time.Second)), ptr(base.Add(time.Hour)), nil} {
				must(t, s.Sessions().Create(ctx, &core.Session{ID: idf("s%d", i), TokenHash: idf("h%d", i),
					Created: base.Add(-2 * time.Hour), Expires: exp}), "create session")
			}
			n, err := s.Sessions().DeleteExpired(ctx, base)
			must(t, err, "delete expired")
			wantEqual(t, n, int64(2), "sessions deleted")
			for i, gone := range []bool{true, true, false, false} {
				_, err := s.Sessions().GetByTokenHash(ctx, idf("h%d", i))
				if gone {
					wantNotFound(t, err, "Session")
				} else {
					must(t, err, "get kept session")
				}
			}
		}},
	}
}

func settingCases() []testCase {
	return []testCase{
		{"Settings/GetSetAndSetIfAbsent", func(t *testing.T, s core.Store) {
			ctx := t.Context()
			v, ok, err := s.Settings().Get(ctx, "root")
			must(t, err, "get absent setting")
			if ok || v != "" {
				t.Fatalf("absent setting = %q, %v; want \"\", false", v, ok)
			}
			stored, err := s.Settings().SetIfAbsent(ctx, "root", "hash1")
			must(t, err, "set if absent")
			wantEqual(t, stored, true, "stored when absent")
			stored, err = s.Settings().SetIfAbsent(ctx, "root", "hash2")
			must(t, err, "set if absent again")
			wantEqual(t, stored, false, "stored when present")
			v, ok, err = s.Settings().Get(ctx, "root")
			must(t, err, "get setting")
			wantEqual(t, []any{v, ok}, []any{"hash1", true}, "setting")
			must(t, s.Settings().Set(ctx, "root", "hash3"), "set setting")
			v, _, err = s.Settings().Get(ctx, "root")
			must(t, err, "get setting")
			wantEqual(t, v, "hash3", "overwritten setting")
		}},
		{"Settings/SetEndingRootSessionsEndsOnlyRootSessions", func(t *testing.T, s core.Store) {
			ctx := t.Context()
			must(t, s.Sessions().Create(ctx, &core.Session{ID: "r1", TokenHash: "rh1", Root: true}), "create root session")
			must(t, s.Sessions().Create(ctx, &core.Session{ID: "r2", TokenHash: "rh2", Root: true}), "create root session")
			must(t, s.Sessions().Create(ctx, &core.Session{ID: "u1", TokenHash: "uh1", UserID: "ann@x.io"}), "create user session")
			n, err := s.Settings().SetEndingRootSessions(ctx, "root", "hash2")
			must(t, err, "set ending root sessions")
			wantEqual(t, n, int64(2), "root sessions ended")
			v, _, err := s.Settings().Get(ctx, "root")
			must(t, err, "get setting")
			wantEqual(t, v, "hash2", "setting")
			for _, h := range []string{"rh1", "rh2"} {
				_, err := s.Sessions().GetByTokenHash(ctx, h)
				wantNotFound(t, err, "Session")
			}
			_, err = s.Sessions().GetByTokenHash(ctx, "uh1")
			must(t, err, "get user session")
		}},
	}
}
