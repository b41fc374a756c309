package accounts_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/loom-agent/loom/server/accounts"
	"github.com/loom-agent/loom/server/audit"
	"github.com/loom-agent/loom/server/auth"
	"github.com/loom-agent/loom/server/db"
	"github.com/loom-agent/loom/server/db/dbtest"
	"github.com/loom-agent/loom/server/policy"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

var by = audit.Actor{ID: "tester", IP: "192.0.2.1"}

func mustUser(t *testing.T, s *accounts.Store, email string) accounts.User {
	t.Helper()
	u, err := s.CreateUser(context.Background(), email, "")
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestUsers(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := accounts.New(d)
		u, err := s.CreateUser(ctx, "  Ada@Example.COM ", "Ada")
		if err != nil {
			t.Fatal(err)
		}
		if u.Email != "ada@example.com" {
			t.Errorf("email stored as %q", u.Email)
		}
		if _, err := s.CreateUser(ctx, "ADA@example.com", ""); !errors.Is(err, accounts.ErrExists) {
			t.Errorf("the same email in other case: %v", err)
		}
		got, err := s.UserByEmail(ctx, "ada@EXAMPLE.com")
		if err != nil || got.ID != u.ID {
			t.Errorf("UserByEmail: %+v, %v", got, err)
		}
		for _, bad := range []string{"", "ada", "Ada <ada@example.com>", "a@b@c", strings.Repeat("a", 250) + "@example.com"} {
			if _, err := s.CreateUser(ctx, bad, ""); !errors.Is(err, accounts.ErrInvalid) {
				t.Errorf("email %q: %v", bad, err)
			}
		}
		if _, err := s.CreateUser(ctx, "bob@example.com", "Bob\x1b[2J"); !errors.Is(err, accounts.ErrInvalid) {
			t.Errorf("a name with an escape sequence: %v", err)
		}
		var n int
		d.QueryRow(`SELECT COUNT(*) FROM users`).Scan(&n)
		if n != 1 {
			t.Errorf("%d users stored, want 1", n)
		}
		if _, err := s.User(ctx, "nobody"); !errors.Is(err, accounts.ErrNotFound) {
			t.Errorf("unknown user: %v", err)
		}
	})
}

func TestSlugs(t *testing.T) {
	for _, tc := range []struct {
		slug string
		ok   bool
	}{
		{"acme", true}, {"a", true}, {"acme-2", true}, {strings.Repeat("a", 40), true},
		{"", false}, {"Acme", false}, {"-acme", false}, {"acme-", false}, {"ac--me", false},
		{"ac_me", false}, {"ac me", false}, {strings.Repeat("a", 41), false}, {"api", false}, {"acmé", false},
	} {
		if err := accounts.ValidSlug(tc.slug); (err == nil) != tc.ok {
			t.Errorf("ValidSlug(%q) = %v, want ok=%v", tc.slug, err, tc.ok)
		}
	}
}

func TestOrgsTeamsMembers(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := accounts.New(d)
		ada, bob := mustUser(t, s, "ada@example.com"), mustUser(t, s, "bob@example.com")
		o, err := s.CreateOrg(ctx, by, "acme", "Acme", ada.ID)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.CreateOrg(ctx, by, "acme", "Other", bob.ID); !errors.Is(err, accounts.ErrExists) {
			t.Errorf("a second acme: %v", err)
		}
		if _, err := s.CreateOrg(ctx, by, "Bad Slug", "Other", bob.ID); !errors.Is(err, accounts.ErrInvalid) {
			t.Errorf("a bad slug: %v", err)
		}
		for _, ref := range []string{o.ID, "acme"} {
			if got, err := s.Org(ctx, ref); err != nil || got.ID != o.ID {
				t.Errorf("Org(%q) = %+v, %v", ref, got, err)
			}
		}
		if err := s.AddMember(ctx, by, o.ID, bob.ID, policy.Member); err != nil {
			t.Fatal(err)
		}
		if err := s.AddMember(ctx, by, o.ID, bob.ID, policy.Admin); !errors.Is(err, accounts.ErrExists) {
			t.Errorf("adding bob twice: %v", err)
		}
		if err := s.AddMember(ctx, by, o.ID, "nobody", policy.Member); !errors.Is(err, accounts.ErrNotFound) {
			t.Errorf("adding a missing user: %v", err)
		}
		if err := s.AddMember(ctx, by, o.ID, bob.ID, "king"); !errors.Is(err, accounts.ErrInvalid) {
			t.Errorf("an unknown role: %v", err)
		}
		team, err := s.CreateTeam(ctx, by, o.ID, "core", "Core")
		if err != nil {
			t.Fatal(err)
		}
		if err := s.AddTeamMember(ctx, by, o.ID, team.ID, bob.ID); err != nil {
			t.Fatal(err)
		}
		outsider := mustUser(t, s, "eve@example.com")
		if err := s.AddTeamMember(ctx, by, o.ID, team.ID, outsider.ID); !errors.Is(err, accounts.ErrInvalid) {
			t.Errorf("a non-member into a team: %v", err)
		}
		m, err := s.Memberships(ctx, bob.ID)
		if err != nil || m.Roles[o.ID] != policy.Member || m.Teams[team.ID] != o.ID {
			t.Errorf("bob's memberships: %+v, %v", m, err)
		}
		members, _ := s.Members(ctx, o.ID)
		if len(members) != 2 || members[0].Email != "ada@example.com" || members[0].Role != policy.Owner {
			t.Errorf("members: %+v", members)
		}
		// Leaving the organisation leaves its teams.
		if err := s.RemoveMember(ctx, by, o.ID, bob.ID); err != nil {
			t.Fatal(err)
		}
		if m, _ := s.Memberships(ctx, bob.ID); len(m.Roles)+len(m.Teams) != 0 {
			t.Errorf("after removal bob still has %+v", m)
		}
		orgs, _ := s.OrgsOf(ctx, ada.ID)
		if len(orgs) != 1 || orgs[0].Role != policy.Owner {
			t.Errorf("ada's orgs: %+v", orgs)
		}
		events, err := audit.List(ctx, d, o.ID, 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		var acts []string
		for _, e := range events {
			acts = append(acts, e.Action)
			if e.Actor != "tester" || e.IP != "192.0.2.1" {
				t.Errorf("event %+v: actor or address lost", e)
			}
		}
		want := "member.removed team.member_added team.created member.added org.created"
		if got := strings.Join(acts, " "); got != want {
			t.Errorf("audit log: %s\nwant %s", got, want)
		}
	})
}

func TestLastOwnerStays(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := accounts.New(d)
		ada, bob := mustUser(t, s, "ada@example.com"), mustUser(t, s, "bob@example.com")
		o, err := s.CreateOrg(ctx, by, "acme", "Acme", ada.ID)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.SetRole(ctx, by, o.ID, ada.ID, policy.Admin); !errors.Is(err, accounts.ErrLastOwner) {
			t.Errorf("demoting the last owner: %v", err)
		}
		if err := s.RemoveMember(ctx, by, o.ID, ada.ID); !errors.Is(err, accounts.ErrLastOwner) {
			t.Errorf("removing the last owner: %v", err)
		}
		if r, _ := s.Role(ctx, o.ID, ada.ID); r != policy.Owner {
			t.Errorf("ada is now %q", r)
		}
		// Two owners demote each other at once: one wins, an owner remains.
		if err := s.AddMember(ctx, by, o.ID, bob.ID, policy.Owner); err != nil {
			t.Fatal(err)
		}
		for round := range 10 {
			var wg sync.WaitGroup
			errs := make([]error, 2)
			for i, u := range []string{ada.ID, bob.ID} {
				wg.Go(func() { errs[i] = s.SetRole(ctx, by, o.ID, u, policy.Member) })
			}
			wg.Wait()
			var owners int
			d.QueryRow(`SELECT COUNT(*) FROM memberships WHERE org_id = $1 AND role = 'owner'`, o.ID).Scan(&owners)
			if owners != 1 {
				t.Fatalf("round %d: %d owners after two demotions at once (%v)", round, owners, errs)
			}
			if (errs[0] == nil) == (errs[1] == nil) || !errors.Is(errors.Join(errs...), accounts.ErrLastOwner) {
				t.Fatalf("round %d: errors %v, want one ErrLastOwner", round, errs)
			}
			for _, u := range []string{ada.ID, bob.ID} {
				if err := s.SetRole(ctx, by, o.ID, u, policy.Owner); err != nil {
					t.Fatal(err)
				}
			}
		}
	})
}

func TestInvitations(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := accounts.New(d)
		ada, bob := mustUser(t, s, "ada@example.com"), mustUser(t, s, "bob@example.com")
		eve := mustUser(t, s, "eve@example.com")
		o, err := s.CreateOrg(ctx, by, "acme", "Acme", ada.ID)
		if err != nil {
			t.Fatal(err)
		}
		inv, token, err := s.Invite(ctx, by, o.ID, "BOB@example.com", policy.Admin, 0)
		if err != nil {
			t.Fatal(err)
		}
		if inv.Email != "bob@example.com" || !strings.HasPrefix(token, "loominv_") || len(token) < 40 {
			t.Errorf("invitation %+v, token %q", inv, token)
		}
		dbtest.AssertNotStored(t, d, strings.TrimPrefix(token, "loominv_"))
		if _, _, err := s.Invite(ctx, by, o.ID, "ada@example.com", policy.Member, 0); !errors.Is(err, accounts.ErrExists) {
			t.Errorf("inviting a member: %v", err)
		}
		if _, _, err := s.Invite(ctx, by, o.ID, "x@example.com", policy.Member, 365*24*time.Hour); !errors.Is(err, accounts.ErrInvalid) {
			t.Errorf("a year-long invitation: %v", err)
		}
		if _, err := s.AcceptInvitation(ctx, by, token, eve); !errors.Is(err, accounts.ErrWrongEmail) {
			t.Errorf("eve accepting bob's invitation: %v", err)
		}
		if _, err := s.AcceptInvitation(ctx, by, token+"x", bob); !errors.Is(err, accounts.ErrInvitation) {
			t.Errorf("a wrong token: %v", err)
		}
		if _, err := s.AcceptInvitation(ctx, by, token, bob); err != nil {
			t.Fatalf("bob accepting: %v", err)
		}
		if r, _ := s.Role(ctx, o.ID, bob.ID); r != policy.Admin {
			t.Errorf("bob's role: %q", r)
		}
		if _, err := s.AcceptInvitation(ctx, by, token, bob); !errors.Is(err, accounts.ErrInvitation) {
			t.Errorf("the same invitation twice: %v", err)
		}
		if r, _ := s.Role(ctx, o.ID, eve.ID); r != "" {
			t.Errorf("eve became %q", r)
		}

		// Revoked and expired invitations are refused.
		revoked, token2, _ := s.Invite(ctx, by, o.ID, "eve@example.com", policy.Member, 0)
		expired, token3, _ := s.Invite(ctx, by, o.ID, "eve@example.com", policy.Member, 0)
		if pending, _ := s.Invitations(ctx, o.ID); len(pending) != 2 {
			t.Errorf("%d waiting invitations, want 2", len(pending))
		}
		if err := s.RevokeInvitation(ctx, by, o.ID, revoked.ID); err != nil {
			t.Fatal(err)
		}
		if err := s.RevokeInvitation(ctx, by, o.ID, revoked.ID); !errors.Is(err, accounts.ErrNotFound) {
			t.Errorf("revoking twice: %v", err)
		}
		d.Exec(`UPDATE invitations SET expires_at = $1 WHERE id = $2`, db.Now()-1, expired.ID)
		for name, tok := range map[string]string{"revoked": token2, "expired": token3} {
			if _, err := s.AcceptInvitation(ctx, by, tok, eve); !errors.Is(err, accounts.ErrInvitation) {
				t.Errorf("%s invitation: %v", name, err)
			}
		}
		if pending, _ := s.Invitations(ctx, o.ID); len(pending) != 0 {
			t.Errorf("waiting invitations: %+v", pending)
		}
		if r, _ := s.Role(ctx, o.ID, eve.ID); r != "" {
			t.Errorf("eve became %q", r)
		}
	})
}

// The store is the authorizer's directory: a role change decides the very
// next request.
func TestStoreFeedsTheAuthorizer(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := accounts.New(d)
		a := policy.NewAuthorizer(s, nil)
		ada, bob := mustUser(t, s, "ada@example.com"), mustUser(t, s, "bob@example.com")
		o, _ := s.CreateOrg(ctx, by, "acme", "Acme", ada.ID)
		bobP := &auth.Principal{Kind: auth.KindWeb, UserID: bob.ID}
		check := func(act policy.Action, want bool) {
			t.Helper()
			err := a.Authorize(ctx, bobP, act, policy.OrgResource(o.ID))
			if (err == nil) != want {
				t.Errorf("bob %s: %v, want allowed=%v", act, err, want)
			}
		}
		check(policy.Read, false)
		s.AddMember(ctx, by, o.ID, bob.ID, policy.Member)
		check(policy.Read, true)
		check(policy.Manage, false)
		s.SetRole(ctx, by, o.ID, bob.ID, policy.Admin)
		check(policy.Manage, true)
		check(policy.GrantOwner, false)
		s.RemoveMember(ctx, by, o.ID, bob.ID)
		check(policy.Read, false)
	})
}
