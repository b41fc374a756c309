package usage

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/loom-agent/loom/server/audit"
	"github.com/loom-agent/loom/server/auth"
	"github.com/loom-agent/loom/server/db/dbtest"
	"github.com/loom-agent/loom/server/policy"
)

// BenchmarkAdmitDone measures what the meter adds to one proxied call on
// each engine: Admit (the person's organisation and teams, then one
// transaction counting the call in its user's and team's minute, day and
// month and taking a stream slot) and Done (the slot given back at once,
// the record queued). "unlimited" has no limits configured (one query);
// "sync-record" is what Done would cost if it wrote its record itself
// instead of queueing it for the batching writer.
func BenchmarkAdmitDone(b *testing.B) {
	const users = 100
	for _, e := range dbtest.Engines {
		b.Run(string(e), func(b *testing.B) {
			ctx := context.Background()
			d := dbtest.Open(b, e)
			p := setUp(b, d)
			var people []*auth.Principal
			for i := range users {
				u, err := p.accounts.CreateUser(ctx, fmt.Sprintf("u%d@example.test", i), "")
				if err != nil {
					b.Fatal(err)
				}
				p.accounts.AddMember(ctx, audit.System, p.org.ID, u.ID, policy.Member)
				p.accounts.AddTeamMember(ctx, audit.System, p.org.ID, p.team.ID, u.ID)
				people = append(people, &auth.Principal{Kind: auth.KindCLI, UserID: u.ID, Email: u.Email})
			}
			big := n(1 << 40)
			limited := Limits{
				User: Limit{RequestsPerMinute: big, TokensPerMinute: big, ConcurrentStreams: big, DailyBudget: dollars("1000000"), MonthlyBudget: dollars("1000000")},
				Team: Limit{MonthlyBudget: dollars("1000000")},
			}
			for _, mode := range []string{"unlimited", "limited", "sync-record"} {
				b.Run(mode, func(b *testing.B) {
					o := Options{Prices: prices}
					if mode != "unlimited" {
						o.Limits = limited
					}
					s, err := New(d, o)
					if err != nil {
						b.Fatal(err)
					}
					defer s.Close()
					admit := make([]time.Duration, 0, b.N)
					done := make([]time.Duration, 0, b.N)
					b.ResetTimer()
					for i := range b.N {
						start := time.Now()
						tk, err := s.Admit(ctx, call(people[i%users], true))
						if err != nil {
							b.Fatal(err)
						}
						mid := time.Now()
						u := Usage{InputTokens: 1000, OutputTokens: 100, Status: 200}
						if t := tk.(*ticket); mode == "sync-record" {
							t.done.Store(true)
							t.release()
							s.writeLogged([]*record{t.record(u)})
						} else {
							tk.Done(u)
						}
						done = append(done, time.Since(mid))
						admit = append(admit, mid.Sub(start))
					}
					s.Flush(ctx)
					b.StopTimer()
					slices.Sort(admit)
					slices.Sort(done)
					b.ReportMetric(float64(admit[len(admit)/2].Microseconds()), "admit-p50-µs")
					b.ReportMetric(float64(admit[len(admit)*99/100].Microseconds()), "admit-p99-µs")
					b.ReportMetric(float64(done[len(done)/2].Microseconds()), "done-p50-µs")
					b.ReportMetric(float64(done[len(done)*99/100].Microseconds()), "done-p99-µs")
				})
			}
		})
	}
}

// BenchmarkWriteBatch measures the writer's transaction for a batch of n
// records on each engine: the cost the writer's goroutine holds a CPU for
// while the proxy's streams wait their turn, so it should grow with n and
// no faster.
func BenchmarkWriteBatch(b *testing.B) {
	for _, e := range dbtest.Engines {
		b.Run(string(e), func(b *testing.B) {
			ctx := context.Background()
			d := dbtest.Open(b, e)
			p := setUp(b, d)
			big := n(1 << 40)
			s, err := New(d, Options{Prices: prices, Limits: Limits{User: Limit{TokensPerMinute: big}, Team: Limit{MonthlyBudget: dollars("1000000")}}})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			for _, size := range []int{8, 64, 256} {
				b.Run(fmt.Sprintf("records=%d", size), func(b *testing.B) {
					recs := make([]*record, size)
					for i := range recs {
						tk, err := s.Admit(ctx, call(p.alice, false))
						if err != nil {
							b.Fatal(err)
						}
						recs[i] = tk.(*ticket).record(Usage{InputTokens: 1000, OutputTokens: 100, Status: 200})
					}
					b.ResetTimer()
					for range b.N {
						for _, r := range recs {
							r.id = newRecordID() // a new row each time
						}
						if err := s.db.Tx(ctx, func(tx *sql.Tx) error { return s.write(ctx, tx, recs) }); err != nil {
							b.Fatal(err)
						}
					}
					b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*size), "µs/record")
				})
			}
		})
	}
}
