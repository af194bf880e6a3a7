package storetest

import (
	"testing"

	"github.com/brigadeplatform/brigade/internal/core"
)

func userRef(id string) core.PrincipalReference {
	return core.PrincipalReference{Type: core.PrincipalTypeUser, ID: id}
}

func saRef(id string) core.PrincipalReference {
	return core.PrincipalReference{Type: core.PrincipalTypeServiceAccount, ID: id}
}

func mkServiceAccount(t *testing.T, s core.Store, id, hash string) {
	t.Helper()
	must(t, s.ServiceAccounts().Create(t.Context(), &core.ServiceAccount{
		Metadata: core.ObjectMeta{ID: id, Created: ptr(base)}, Description: "account " + id, TokenHash: hash,
	}), "create service account "+id)
}

func principalCases() []testCase {
	return []testCase{
		{"Users/EnsureCreatesOnceAndMatchesIDsWithoutCase", func(t *testing.T, s core.Store) {
			ctx := t.Context()
			u, created, err := s.Users().Ensure(ctx, &core.User{Metadata: core.ObjectMeta{ID: "Ann@Example.com", Created: ptr(base)}, Name: "Ann"})
			must(t, err, "ensure user")
			wantEqual(t, created, true, "created on first login")
			wantTime(t, u.Metadata.Created, base, "created")
			again, created, err := s.Users().Ensure(ctx, &core.User{Metadata: core.ObjectMeta{ID: "ann@example.com"}, Name: "Other"})
			must(t, err, "ensure user again")
			wantEqual(t, created, false, "created again")
			wantEqual(t, again.Metadata.ID, "Ann@Example.com", "the id as first stored")
			wantEqual(t, again.Name, "Ann", "the name as first stored")
			got, err := s.Users().Get(ctx, "ANN@example.COM")
			must(t, err, "get user")
			wantEqual(t, got.Metadata.ID, "Ann@Example.com", "id")
			if got.Locked != nil {
				t.Fatalf("a new user is locked: %v", got.Locked)
			}
			_, err = s.Users().Get(ctx, "bob@example.com")
			wantNotFound(t, err, "User")
		}},
		{"Users/ListPagesByID", func(t *testing.T, s core.Store) {
			ctx := t.Context()
			for _, id := range []string{"c@x.io", "a@x.io", "b@x.io"} {
				_, _, err := s.Users().Ensure(ctx, &core.User{Metadata: core.ObjectMeta{ID: id}})
				must(t, err, "ensure user")
			}
			page, meta, err := s.Users().List(ctx, core.ListOptions{Limit: 2})
			must(t, err, "list users")
			wantEqual(t, len(page), 2, "page size")
			wantMeta(t, meta, 1, "first page")
			wantEqual(t, page[0].Metadata.ID, "a@x.io", "first user")
			page, meta, err = s.Users().List(ctx, core.ListOptions{Limit: 2, Continue: meta.Continue})
			must(t, err, "list users")
			wantMeta(t, meta, 0, "last page")
			wantEqual(t, page[0].Metadata.ID, "c@x.io", "last user")
		}},
		{"Users/LockEndsSessionsAndDeleteRemovesEverything", func(t *testing.T, s core.Store) {
			ctx := t.Context()
			mkProject(t, s, "demo")
			_, _, err := s.Users().Ensure(ctx, &core.User{Metadata: core.ObjectMeta{ID: "ann@x.io"}})
			must(t, err, "ensure user")
			must(t, s.Sessions().Create(ctx, &core.Session{ID: "s1", TokenHash: "h1", UserID: "ann@x.io"}), "create session")
			must(t, s.Users().Lock(ctx, "ANN@x.io", base), "lock")
			u, err := s.Users().Get(ctx, "ann@x.io")
			must(t, err, "get user")
			wantTime(t, u.Locked, base, "locked")
			_, err = s.Sessions().GetByTokenHash(ctx, "h1")
			wantNotFound(t, err, "Session")
			must(t, s.Users().Unlock(ctx, "ann@x.io"), "unlock")
			u, err = s.Users().Get(ctx, "ann@x.io")
			must(t, err, "get user")
			if u.Locked != nil {
				t.Fatal("still locked after unlock")
			}
			wantNotFound(t, s.Users().Lock(ctx, "bob@x.io", base), "User")

			must(t, s.Sessions().Create(ctx, &core.Session{ID: "s2", TokenHash: "h2", UserID: "ann@x.io"}), "create session")
			must(t, s.RoleAssignments().Grant(ctx, core.RoleAssignment{Role: "READER", Principal: userRef("ann@x.io")}), "grant")
			must(t, s.RoleAssignments().GrantProject(ctx, core.ProjectRoleAssignment{ProjectID: "demo", Role: "PROJECT_USER", Principal: userRef("ann@x.io")}), "grant project")
			must(t, s.Users().Delete(ctx, "Ann@X.io"), "delete")
			_, err = s.Users().Get(ctx, "ann@x.io")
			wantNotFound(t, err, "User")
			_, err = s.Sessions().GetByTokenHash(ctx, "h2")
			wantNotFound(t, err, "Session")
			sys, proj, err := s.RoleAssignments().Of(ctx, userRef("ann@x.io"))
			must(t, err, "roles of a deleted user")
			wantEqual(t, len(sys)+len(proj), 0, "roles left")
			wantNotFound(t, s.Users().Delete(ctx, "ann@x.io"), "User")
		}},
		{"ServiceAccounts/CreateGetLockUnlockDelete", func(t *testing.T, s core.Store) {
			ctx := t.Context()
			mkServiceAccount(t, s, "gateway", "hash-1")
			wantConflict(t, s.ServiceAccounts().Create(ctx, &core.ServiceAccount{Metadata: core.ObjectMeta{ID: "gateway"}, TokenHash: "hash-2"}))
			sa, err := s.ServiceAccounts().GetByTokenHash(ctx, "hash-1")
			must(t, err, "get by token hash")
			wantEqual(t, sa.Metadata.ID, "gateway", "id")
			wantEqual(t, sa.Description, "account gateway", "description")
			wantTime(t, sa.Metadata.Created, base, "created")
			must(t, s.ServiceAccounts().Lock(ctx, "gateway", base), "lock")
			sa, err = s.ServiceAccounts().Get(ctx, "gateway")
			must(t, err, "get")
			wantTime(t, sa.Locked, base, "locked")
			must(t, s.ServiceAccounts().Unlock(ctx, "gateway", "hash-3"), "unlock")
			_, err = s.ServiceAccounts().GetByTokenHash(ctx, "hash-1")
			wantNotFound(t, err, "ServiceAccount")
			sa, err = s.ServiceAccounts().GetByTokenHash(ctx, "hash-3")
			must(t, err, "get by the new hash")
			if sa.Locked != nil {
				t.Fatal("still locked after unlock")
			}
			must(t, s.RoleAssignments().Grant(ctx, core.RoleAssignment{Role: "EVENT_CREATOR", Scope: "example.com/a", Principal: saRef("gateway")}), "grant")
			must(t, s.ServiceAccounts().Delete(ctx, "gateway"), "delete")
			_, err = s.ServiceAccounts().Get(ctx, "gateway")
			wantNotFound(t, err, "ServiceAccount")
			sys, _, err := s.RoleAssignments().Of(ctx, saRef("gateway"))
			must(t, err, "roles of a deleted account")
			wantEqual(t, len(sys), 0, "roles left")
			wantNotFound(t, s.ServiceAccounts().Delete(ctx, "gateway"), "ServiceAccount")
			wantNotFound(t, s.ServiceAccounts().Lock(ctx, "gateway", base), "ServiceAccount")
			wantNotFound(t, s.ServiceAccounts().Unlock(ctx, "gateway", "h"), "ServiceAccount")
		}},
		{"RoleAssignments/GrantIsIdempotentAndListFiltersAndPages", func(t *testing.T, s core.Store) {
			ctx := t.Context()
			ra := s.RoleAssignments()
			grants := []core.RoleAssignment{
				{Role: "READER", Principal: userRef("b@x.io")},
				{Role: "EVENT_CREATOR", Scope: "example.com/b", Principal: saRef("gw")},
				{Role: "EVENT_CREATOR", Scope: "example.com/a", Principal: saRef("gw")},
				{Role: "ADMIN", Principal: userRef("a@x.io")},
				{Role: "READER", Principal: userRef("a@x.io")},
			}
			for _, g := range grants {
				must(t, ra.Grant(ctx, g), "grant")
				must(t, ra.Grant(ctx, g), "grant again")
			}
			var got []core.RoleAssignment
			opts := core.ListOptions{Limit: 2}
			for _, remaining := range []int64{3, 1, 0} {
				page, meta, err := ra.List(ctx, core.RoleAssignmentSelector{}, opts)
				must(t, err, "list roles")
				wantMeta(t, meta, remaining, "roles page")
				got = append(got, page...)
				opts.Continue = meta.Continue
			}
			want := []core.RoleAssignment{grants[2], grants[1], grants[3], grants[4], grants[0]}
			wantEqual(t, got, want, "every assignment once, by principal type, id, role, scope")
			page, _, err := ra.List(ctx, core.RoleAssignmentSelector{Role: "READER"}, core.ListOptions{Limit: 10})
			must(t, err, "list readers")
			wantEqual(t, page, []core.RoleAssignment{grants[4], grants[0]}, "readers")
			page, _, err = ra.List(ctx, core.RoleAssignmentSelector{Principal: ptr(saRef("gw"))}, core.ListOptions{Limit: 10})
			must(t, err, "list the account's roles")
			wantEqual(t, page, []core.RoleAssignment{grants[2], grants[1]}, "the account's roles")
			must(t, ra.Revoke(ctx, grants[1]), "revoke")
			must(t, ra.Revoke(ctx, grants[1]), "revoke again")
			sys, _, err := ra.Of(ctx, saRef("gw"))
			must(t, err, "roles of the account")
			wantEqual(t, sys, []core.RoleAssignment{grants[2]}, "roles after the revoke")
			_, _, err = ra.List(ctx, core.RoleAssignmentSelector{}, core.ListOptions{Continue: "nonsense"})
			wantBadRequest(t, err)
		}},
		{"RoleAssignments/ProjectRolesGoWithTheProject", func(t *testing.T, s core.Store) {
			ctx := t.Context()
			ra := s.RoleAssignments()
			mkProject(t, s, "alpha")
			mkProject(t, s, "beta")
			a := core.ProjectRoleAssignment{ProjectID: "alpha", Role: "PROJECT_ADMIN", Principal: userRef("a@x.io")}
			b := core.ProjectRoleAssignment{ProjectID: "beta", Role: "PROJECT_USER", Principal: userRef("a@x.io")}
			must(t, ra.GrantProject(ctx, a), "grant on alpha")
			must(t, ra.GrantProject(ctx, a), "grant on alpha again")
			must(t, ra.GrantProject(ctx, b), "grant on beta")
			wantNotFound(t, ra.GrantProject(ctx, core.ProjectRoleAssignment{ProjectID: "nope", Role: "PROJECT_USER", Principal: userRef("a@x.io")}), "Project")
			page, meta, err := ra.ListProject(ctx, core.ProjectRoleAssignmentSelector{}, core.ListOptions{Limit: 1})
			must(t, err, "list project roles")
			wantMeta(t, meta, 1, "first page")
			wantEqual(t, page, []core.ProjectRoleAssignment{a}, "first page")
			page, _, err = ra.ListProject(ctx, core.ProjectRoleAssignmentSelector{}, core.ListOptions{Limit: 1, Continue: meta.Continue})
			must(t, err, "list project roles")
			wantEqual(t, page, []core.ProjectRoleAssignment{b}, "second page")
			page, _, err = ra.ListProject(ctx, core.ProjectRoleAssignmentSelector{ProjectID: "beta"}, core.ListOptions{Limit: 10})
			must(t, err, "list beta's roles")
			wantEqual(t, page, []core.ProjectRoleAssignment{b}, "beta's roles")
			must(t, s.Projects().Delete(ctx, "alpha"), "delete alpha")
			_, proj, err := ra.Of(ctx, userRef("a@x.io"))
			must(t, err, "roles of the user")
			wantEqual(t, proj, []core.ProjectRoleAssignment{b}, "roles after alpha went")
			must(t, ra.RevokeProject(ctx, b), "revoke")
			must(t, ra.RevokeProject(ctx, b), "revoke again")
			_, proj, err = ra.Of(ctx, userRef("a@x.io"))
			must(t, err, "roles of the user")
			wantEqual(t, len(proj), 0, "roles after the revoke")
		}},
	}
}
