package usage

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/loom-agent/loom/cmd/loom/internal/cmdtest"
	"github.com/loom-agent/loom/server"
	"github.com/loom-agent/loom/server/audit"
	"github.com/loom-agent/loom/server/auth"
	"github.com/loom-agent/loom/server/auth/bootstrap"
	"github.com/loom-agent/loom/server/db/dbtest"
	"github.com/loom-agent/loom/server/policy"
	serverusage "github.com/loom-agent/loom/server/usage"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

// signedIn writes the credentials `loom login` would have stored.
func signedIn(t *testing.T, url, token string) string {
	t.Helper()
	dir := t.TempDir()
	b, _ := json.Marshal(map[string]any{"current": url, "servers": map[string]any{url: map[string]string{"token": token}}})
	if err := os.WriteFile(filepath.Join(dir, "credentials.json"), b, 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestUsageAgainstServer runs `loom usage` against a team server on
// loopback: the owner sees the organisation by user and by model, a
// member their own calls and a refusal for the organisation's.
func TestUsageAgainstServer(t *testing.T) {
	for _, e := range dbtest.Engines {
		t.Run(string(e), func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			team, err := server.Open(ctx, server.Config{Listen: "127.0.0.1:0", Database: dbtest.URL(t, e),
				Prices: serverusage.Prices{"sonnet": {Input: 3_000000, Output: 15_000000, Cached: 300000}}}, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer team.Close()
			done := make(chan error, 1)
			go func() { done <- team.Run(ctx) }()
			defer func() { cancel(); <-done }()
			select {
			case <-team.Listening():
			case err := <-done:
				t.Fatal(err)
			case <-time.After(30 * time.Second):
				t.Fatal("the server did not listen")
			}
			res, err := bootstrap.Run(ctx, team.DB, team.SignIn.Links, "acme", "Acme", "owner@example.test")
			if err != nil {
				t.Fatal(err)
			}
			bob, _ := team.Accounts.CreateUser(ctx, "bob@example.test", "")
			team.Accounts.AddMember(ctx, audit.System, res.OrgID, bob.ID, policy.Member)
			for _, c := range []struct {
				user, email string
				u           serverusage.Usage
			}{
				{res.UserID, "owner@example.test", serverusage.Usage{InputTokens: 1_000_000, Status: 200}},
				{bob.ID, "bob@example.test", serverusage.Usage{OutputTokens: 100, CachedTokens: 1000, Status: 200}},
				{bob.ID, "bob@example.test", serverusage.Usage{Status: 429, Err: "upstream rate limit"}},
			} {
				tk, err := team.Usage.Admit(ctx, serverusage.Request{Principal: &auth.Principal{Kind: auth.KindCLI, UserID: c.user, Email: c.email}, Model: "sonnet", Stream: true})
				if err != nil {
					t.Fatal(err)
				}
				tk.Done(c.u)
			}
			if err := team.Usage.Flush(ctx); err != nil {
				t.Fatal(err)
			}
			token := func(user string) string {
				tok, _, err := team.SignIn.Sessions.Create(ctx, user, auth.KindCLI, "test", "127.0.0.1")
				if err != nil {
					t.Fatal(err)
				}
				return tok
			}
			ownerDir, bobDir := signedIn(t, team.URL(), token(res.UserID)), signedIn(t, team.URL(), token(bob.ID))

			run := func(o Options) (string, error) {
				f := cmdtest.New(t, "")
				o.IO = f.IOStreams
				if o.Since == "" {
					o.Since = "7d"
				}
				err := usageRun(ctx, &o)
				return f.Out.String(), err
			}
			out, err := run(Options{ConfigDir: ownerDir, By: "user", Org: "acme"})
			if err != nil {
				t.Fatal(err)
			}
			want := []string{
				"USER                REQUESTS  ERRORS  INPUT    OUTPUT  CACHED  COST ($)",
				"owner@example.test  1         0       1000000  0       0       3.00",
				"bob@example.test    2         1       0        100     1000    0.001800",
				"total               3         1       1000000  100     1000    3.001800",
			}
			if got := strings.Split(strings.TrimSpace(out), "\n"); strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("loom usage --org acme --by user:\n%s\nwant:\n%s", out, strings.Join(want, "\n"))
			}
			out, err = run(Options{ConfigDir: bobDir, Server: team.URL(), By: "model", JSON: true})
			if err != nil {
				t.Fatal(err)
			}
			var rep struct {
				Rows []struct {
					Name     string
					Requests int64
				}
			}
			if json.Unmarshal([]byte(out), &rep); len(rep.Rows) != 1 || rep.Rows[0].Name != "sonnet" || rep.Rows[0].Requests != 2 {
				t.Errorf("bob's own usage: %s", out)
			}
			if _, err := run(Options{ConfigDir: bobDir, By: "user", Org: "acme"}); err == nil || !strings.Contains(err.Error(), "403") {
				t.Errorf("bob asking for the organisation's usage: %v", err)
			}
			if _, err := run(Options{ConfigDir: t.TempDir(), By: "model"}); err == nil || !strings.Contains(err.Error(), "not signed in") {
				t.Errorf("not signed in: %v", err)
			}
		})
	}
}

func TestFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want Options
		bad  bool
	}{
		{args: nil, want: Options{By: "model", Since: "7d"}},
		{args: []string{"--by", "team", "--since", "30d", "--org", "acme", "https://loom.example.com"},
			want: Options{By: "team", Since: "30d", Org: "acme", Server: "https://loom.example.com"}},
		{args: []string{"--by", "colour"}, bad: true},
		{args: []string{"a", "b"}, bad: true},
	} {
		f := cmdtest.New(t, "")
		var got *Options
		cmd := NewCmdUsage(f.Factory, func(o *Options) error { got = o; return nil })
		cmd.SetArgs(tc.args)
		cmd.SetOut(f.Out)
		cmd.SetErr(f.Err)
		err := cmd.Execute()
		if tc.bad {
			if err == nil {
				t.Errorf("%v: accepted", tc.args)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%v: %v", tc.args, err)
		}
		got.IO = nil
		if *got != tc.want {
			t.Errorf("%v: %+v, want %+v", tc.args, *got, tc.want)
		}
	}
}
