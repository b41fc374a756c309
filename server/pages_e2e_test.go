package server

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/loom-agent/loom/server/audit"
	"github.com/loom-agent/loom/server/db"
)

// The organisation's pages in headless Chromium, end to end
// (test/e2e/web/admin.mjs): the owner signs in through the bootstrap link,
// invites a second person who signs in and accepts in a browser of their
// own, changes their role (and with it what they may open), makes a team,
// makes, uses and revokes an API key, and finds each step in the audit
// log; no page logs a console error (a CSP violation would). Afterwards
// the database agrees: the key is refused and the log holds the steps.
func TestAdminPagesInBrowser(t *testing.T) {
	suite, err := filepath.Abs("../test/e2e/web")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(suite, "node_modules", "playwright-core")); err != nil {
		t.Fatal("playwright-core is not installed: run test/install.sh")
	}
	s := openSite(t, db.SQLite)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	const memberEmail = "bob@example.test"
	if _, err := s.Team.Accounts.CreateUser(ctx, memberEmail, "Bob"); err != nil {
		t.Fatal(err)
	}
	memberLink, err := s.Team.SignIn.Links.Issue(ctx, memberEmail, "", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	node := exec.CommandContext(ctx, "node", "admin.mjs")
	node.Dir = suite
	node.Env = append(os.Environ(), "HOME="+t.TempDir(), "LOOM_SERVER="+s.URL, "OWNER_LINK="+s.OwnerLink,
		"OWNER_EMAIL="+ownerEmail, "MEMBER_LINK="+memberLink, "MEMBER_EMAIL="+memberEmail)
	var stdout, stderr bytes.Buffer
	node.Stdout, node.Stderr = &stdout, &stderr
	if err := node.Run(); err != nil {
		t.Fatalf("the browser run failed: %v\n%s%s", err, stdout.String(), stderr.String())
	}
	var out struct {
		Secret string   `json:"secret"`
		Audit  []string `json:"audit"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil || out.Secret == "" {
		t.Fatalf("the script's answer %q: %v", stdout.String(), err)
	}
	req, _ := http.NewRequest("GET", s.URL+"/api/v1/orgs/acme", nil)
	req.Header.Set("Authorization", "Bearer "+out.Secret)
	resp, err := s.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("the key revoked on the page: %s, want 401", resp.Status)
	}
	events, err := audit.List(ctx, s.Team.DB, s.OrgID, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, e := range events {
		actions = append(actions, e.Action)
	}
	for _, want := range []string{audit.InvitationAccepted, audit.RoleChanged, audit.TeamCreated, audit.KeyCreated, audit.KeyRevoked} {
		if !slices.Contains(actions, want) {
			t.Errorf("the audit log lacks %s: %v", want, actions)
		}
	}
	if r, err := s.Team.Accounts.Role(ctx, s.OrgID, mustUser(t, s, memberEmail)); err != nil || r != "member" {
		t.Errorf("the invitee is %q (%v), want member", r, err)
	}
}

func mustUser(t *testing.T, s *site, email string) string {
	t.Helper()
	u, err := s.Team.Accounts.UserByEmail(context.Background(), email)
	if err != nil {
		t.Fatal(err)
	}
	return u.ID
}
