package usage_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/loom-agent/loom/server"
	"github.com/loom-agent/loom/server/audit"
	"github.com/loom-agent/loom/server/auth"
	"github.com/loom-agent/loom/server/auth/bootstrap"
	"github.com/loom-agent/loom/server/auth/session"
	"github.com/loom-agent/loom/server/db/dbtest"
	"github.com/loom-agent/loom/server/policy"
	"github.com/loom-agent/loom/server/usage"
)

// TestUsageAPI runs the whole team server: the owner reads the
// organisation's usage by user, model and team; a member reads only their
// own and is refused the organisation's; an outsider is told it does not
// exist; an API key and nobody are refused; a bad query is a 400; the page
// shows the same to a browser.
func TestUsageAPI(t *testing.T) {
	for _, e := range dbtest.Engines {
		t.Run(string(e), func(t *testing.T) {
			ctx := context.Background()
			team, err := server.Open(ctx, server.Config{Database: dbtest.URL(t, e),
				Prices: usage.Prices{"sonnet": {Input: 3_000000, Output: 15_000000}, "*": {Input: 1_000000}}}, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer team.Close()
			res, err := bootstrap.Run(ctx, team.DB, team.SignIn.Links, "acme", "Acme", "owner@example.test")
			if err != nil {
				t.Fatal(err)
			}
			bob, _ := team.Accounts.CreateUser(ctx, "bob@example.test", "")
			carol, _ := team.Accounts.CreateUser(ctx, "carol@example.test", "")
			team.Accounts.AddMember(ctx, audit.System, res.OrgID, bob.ID, policy.Member)
			tm, _ := team.Accounts.CreateTeam(ctx, audit.System, res.OrgID, "research", "Research")
			team.Accounts.AddTeamMember(ctx, audit.System, res.OrgID, tm.ID, bob.ID)
			token := func(user string, kind auth.Kind) string {
				tok, _, err := team.SignIn.Sessions.Create(ctx, user, kind, "test", "127.0.0.1")
				if err != nil {
					t.Fatal(err)
				}
				return tok
			}
			ownerTok, bobTok, carolTok := token(res.UserID, auth.KindCLI), token(bob.ID, auth.KindCLI), token(carol.ID, auth.KindCLI)
			_, keySecret, err := team.Keys.Create(ctx, audit.System, res.OrgID, res.UserID, "ci", []string{"read", "use_model"}, 0)
			if err != nil {
				t.Fatal(err)
			}
			metered := func(p *auth.Principal, model string, u usage.Usage) {
				tk, err := team.Usage.Admit(ctx, usage.Request{Principal: p, Model: model, Endpoint: "openai"})
				if err != nil {
					t.Fatal(err)
				}
				tk.Done(u)
			}
			owner := &auth.Principal{Kind: auth.KindCLI, UserID: res.UserID, Email: "owner@example.test"}
			bobP := &auth.Principal{Kind: auth.KindCLI, UserID: bob.ID, Email: "bob@example.test"}
			metered(owner, "sonnet", usage.Usage{InputTokens: 1_000_000, Status: 200})       // $3
			metered(bobP, "sonnet", usage.Usage{OutputTokens: 100_000, Status: 200})         // $1.50
			metered(bobP, "local", usage.Usage{InputTokens: 500_000, Status: 502, Err: "x"}) // $0.50
			if err := team.Usage.Flush(ctx); err != nil {
				t.Fatal(err)
			}

			get := func(path, token string) (int, usage.Report, string) {
				t.Helper()
				r := httptest.NewRequest("GET", path, nil)
				r.RemoteAddr = "127.0.0.1:4000"
				if token != "" {
					r.Header.Set("Authorization", "Bearer "+token)
				}
				w := httptest.NewRecorder()
				team.Handler().ServeHTTP(w, r)
				var rep usage.Report
				json.Unmarshal(w.Body.Bytes(), &rep)
				return w.Code, rep, w.Body.String()
			}
			rows := func(rep usage.Report) string {
				var b strings.Builder
				for _, r := range rep.Rows {
					b.WriteString(r.Name + "=" + r.Cost() + " ")
				}
				return strings.TrimSpace(b.String())
			}
			for _, tc := range []struct {
				name, path, token string
				status            int
				rows              string
			}{
				{"owner by user", "/api/v1/usage?org=acme&by=user&since=7d", ownerTok, 200, "owner@example.test=3.00 bob@example.test=2.00"},
				{"owner by model", "/api/v1/usage?org=acme&by=model", ownerTok, 200, "sonnet=4.50 local=0.50"},
				{"owner by team", "/api/v1/usage?org=" + res.OrgID + "&by=team", ownerTok, 200, "acme/research=2.00"},
				{"owner's own", "/api/v1/usage", ownerTok, 200, "sonnet=3.00"},
				{"member's own", "/api/v1/usage?by=model", bobTok, 200, "sonnet=1.50 local=0.50"},
				{"member asks for the org", "/api/v1/usage?org=acme", bobTok, 403, ""},
				{"outsider asks for the org", "/api/v1/usage?org=acme", carolTok, 404, ""},
				{"outsider's own", "/api/v1/usage", carolTok, 200, ""},
				{"an API key", "/api/v1/usage", keySecret, 403, ""},
				{"an API key for the org", "/api/v1/usage?org=acme", keySecret, 403, ""},
				{"nobody", "/api/v1/usage", "", 401, ""},
				{"bad by", "/api/v1/usage?by=colour", ownerTok, 400, ""},
				{"bad since", "/api/v1/usage?since=yesterday", ownerTok, 400, ""},
				{"the future", "/api/v1/usage?since=" + time.Now().Add(time.Hour).UTC().Format(time.RFC3339), ownerTok, 200, ""},
			} {
				code, rep, body := get(tc.path, tc.token)
				if code != tc.status {
					t.Errorf("%s: %d, want %d: %s", tc.name, code, tc.status, body)
					continue
				}
				if code == 200 && rows(rep) != tc.rows {
					t.Errorf("%s: rows %q, want %q", tc.name, rows(rep), tc.rows)
				}
			}
			if _, rep, _ := get("/api/v1/usage?org=acme&by=team", ownerTok); rep.Total.Requests != 3 || rep.Total.Errors != 1 || rep.Total.CostMicros != 5_000000 {
				t.Errorf("total: %+v", rep.Total)
			}

			// The page, to a browser with a session cookie.
			web, _, err := team.SignIn.Sessions.Create(ctx, res.UserID, auth.KindWeb, "test", "127.0.0.1")
			if err != nil {
				t.Fatal(err)
			}
			page := func(path, cookie string) (int, string) {
				r := httptest.NewRequest("GET", path, nil)
				r.RemoteAddr = "127.0.0.1:4000"
				if cookie != "" {
					r.AddCookie(&http.Cookie{Name: session.CookieName, Value: cookie})
				}
				w := httptest.NewRecorder()
				team.Handler().ServeHTTP(w, r)
				b, _ := io.ReadAll(w.Body)
				return w.Code, string(b)
			}
			if code, body := page("/usage?org=acme&by=user", web); code != 200 || !strings.Contains(body, "<td>bob@example.test</td>") || !strings.Contains(body, "<th>5.00</th>") {
				t.Errorf("the owner's page: %d\n%s", code, body)
			}
			bobWeb, _, _ := team.SignIn.Sessions.Create(ctx, bob.ID, auth.KindWeb, "test", "127.0.0.1")
			if code, body := page("/usage?org=acme", bobWeb); code != 403 || strings.Contains(body, "owner@example.test") {
				t.Errorf("a member's page of the org: %d\n%s", code, body)
			}
			if code, _ := page("/usage", ""); code != http.StatusSeeOther {
				t.Errorf("the page without a session: %d, want a redirect to sign in", code)
			}
		})
	}
}
