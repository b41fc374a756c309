package policy_test

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/loom-agent/loom/server/accounts"
	"github.com/loom-agent/loom/server/apikeys"
	"github.com/loom-agent/loom/server/audit"
	"github.com/loom-agent/loom/server/auth"
	"github.com/loom-agent/loom/server/db"
	"github.com/loom-agent/loom/server/db/dbtest"
	"github.com/loom-agent/loom/server/policy"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

const (
	benchOrgs     = 100
	benchUsers    = 10000 // 100 per organisation
	benchTeams    = 10    // per organisation, 10 members each
	benchPolicies = 100
)

// benchWorld fills d with 10,000 users in 100 organisations of 10 teams,
// one API key per organisation, and returns the keys and 100 policies:
// the defaults and, to make up the number, one per team.
func benchWorld(b *testing.B, d *db.DB) ([]string, *policy.Policies) {
	ctx := context.Background()
	now := db.Now()
	var extra strings.Builder
	err := d.Tx(ctx, func(tx *sql.Tx) error {
		for o := range benchOrgs {
			org := fmt.Sprintf("org%d", o)
			if _, err := tx.Exec(`INSERT INTO orgs (id, slug, name, created_at) VALUES ($1, $1, $1, $2)`, org, now); err != nil {
				return err
			}
			for t := range benchTeams {
				if _, err := tx.Exec(`INSERT INTO teams (id, org_id, slug, name, created_at) VALUES ($1, $2, $1, $1, $3)`,
					fmt.Sprintf("%s-t%d", org, t), org, now); err != nil {
					return err
				}
			}
			for u := range benchUsers / benchOrgs {
				user := fmt.Sprintf("u%d", o*benchUsers/benchOrgs+u)
				role := []string{"owner", "admin", "member", "member", "member"}[u%5]
				if _, err := tx.Exec(`INSERT INTO users (id, email, created_at) VALUES ($1, $2, $3)`, user, user+"@example.com", now); err != nil {
					return err
				}
				if _, err := tx.Exec(`INSERT INTO memberships (org_id, user_id, role, created_at) VALUES ($1, $2, $3, $4)`, org, user, role, now); err != nil {
					return err
				}
				if _, err := tx.Exec(`INSERT INTO team_members (team_id, user_id, created_at) VALUES ($1, $2, $3)`,
					fmt.Sprintf("%s-t%d", org, u%benchTeams), user, now); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	n := policy.Default().Len()
	for i := 0; n < benchPolicies; i, n = i+1, n+1 {
		fmt.Fprintf(&extra, "@id(\"extra%d\")\npermit (principal in Loom::Team::\"org%d-t%d\", action == Loom::Action::\"read\", resource is Loom::Run)\nwhen { resource.org == Loom::Org::\"org%d\" };\n",
			i, i%benchOrgs, i%benchTeams, i%benchOrgs)
	}
	p, err := policy.Parse("bench", []byte(policy.DefaultText()+extra.String()))
	if err != nil {
		b.Fatal(err)
	}
	if p.Len() != benchPolicies {
		b.Fatalf("%d policies", p.Len())
	}
	keys := apikeys.New(d)
	var secrets []string
	for o := range 10 { // argon2id makes each key cost ~50 ms to create
		_, s, err := keys.Create(ctx, audit.System, fmt.Sprintf("org%d", o), "u0", "bench", []string{"read", "write"}, 0)
		if err != nil {
			b.Fatal(err)
		}
		secrets = append(secrets, s)
	}
	return secrets, p
}

// asUser signs the request in as the user X-Bench-User names: the session
// lookup is another package's; this measures memberships and the decision.
type asUser struct{}

func (asUser) Check(r *http.Request) (*auth.Principal, error) {
	if id := r.Header.Get("X-Bench-User"); id != "" {
		return &auth.Principal{Kind: auth.KindWeb, UserID: id}, nil
	}
	return nil, nil
}

// BenchmarkAuthenticatedRequest measures what authentication and
// authorization add to an API request: the middleware, the credential's
// lookup (an API key: its row, then the verification cache) or the user's
// memberships, and the Cedar decision over 100 policies, with 10,000 users.
// It reports the 99th percentile in microseconds.
func BenchmarkAuthenticatedRequest(b *testing.B) {
	for _, e := range dbtest.Engines {
		b.Run(string(e), func(b *testing.B) {
			d := dbtest.Open(b, e)
			secrets, pols := benchWorld(b, d)
			keys := apikeys.New(d)
			authz := policy.NewAuthorizer(accounts.New(d), pols)
			handler := auth.Authenticate(keys, asUser{})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				p := auth.From(r.Context())
				org := p.KeyOrgID
				if org == "" {
					org = "org" + r.Header.Get("X-Bench-Org")
				}
				if err := authz.Authorize(r.Context(), p, policy.Read, policy.ModelResource(org, "m")); err != nil {
					http.Error(w, err.Error(), http.StatusForbidden)
				}
			}))
			for _, kind := range []string{"apikey", "user"} {
				b.Run(kind, func(b *testing.B) {
					rng := rand.New(rand.NewPCG(1, 2))
					request := func() *http.Request {
						r := httptest.NewRequest("GET", "/api/v1/x", nil)
						if kind == "apikey" {
							r.Header.Set("Authorization", "Bearer "+secrets[rng.IntN(len(secrets))])
						} else {
							u := rng.IntN(benchUsers)
							r.Header.Set("X-Bench-User", fmt.Sprintf("u%d", u))
							r.Header.Set("X-Bench-Org", fmt.Sprint(u/(benchUsers/benchOrgs)))
						}
						return r
					}
					// Keys verified once, as a server running for a while has.
					for range len(secrets) * 4 {
						handler.ServeHTTP(httptest.NewRecorder(), request())
					}
					lat := make([]time.Duration, 0, b.N)
					b.ResetTimer()
					for range b.N {
						r := request()
						w := httptest.NewRecorder()
						start := time.Now()
						handler.ServeHTTP(w, r)
						lat = append(lat, time.Since(start))
						if w.Code != http.StatusOK {
							b.Fatalf("%d %s", w.Code, w.Body)
						}
					}
					b.StopTimer()
					slices.Sort(lat)
					b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
					b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
				})
			}
		})
	}
}
