package usage

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
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

// clock is a time tests move by hand.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// people is an organisation "acme" with alice (owner) and bob (member),
// both in team "research", and carol in another organisation.
type people struct {
	org               accounts.Org
	team              accounts.Team
	alice, bob, carol *auth.Principal
	keyPrincipal      *auth.Principal
	key               string // the whole API key, to look for in the tables
	accounts          *accounts.Store
}

func setUp(t testing.TB, d *db.DB) *people {
	t.Helper()
	ctx := context.Background()
	acc := accounts.New(d)
	user := func(email string) accounts.User {
		u, err := acc.CreateUser(ctx, email, "")
		if err != nil {
			t.Fatal(err)
		}
		return u
	}
	alice, bob, carol := user("alice@example.test"), user("bob@example.test"), user("carol@example.test")
	org, err := acc.CreateOrg(ctx, audit.System, "acme", "Acme", alice.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := acc.CreateOrg(ctx, audit.System, "other", "Other", carol.ID); err != nil {
		t.Fatal(err)
	}
	if err := acc.AddMember(ctx, audit.System, org.ID, bob.ID, policy.Member); err != nil {
		t.Fatal(err)
	}
	team, err := acc.CreateTeam(ctx, audit.System, org.ID, "research", "Research")
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{alice.ID, bob.ID} {
		if err := acc.AddTeamMember(ctx, audit.System, org.ID, team.ID, u); err != nil {
			t.Fatal(err)
		}
	}
	keys := apikeys.New(d)
	_, secret, err := keys.Create(ctx, audit.System, org.ID, alice.ID, "ci", []string{"use_model"}, 0)
	if err != nil {
		t.Fatal(err)
	}
	kp, err := keys.Verify(ctx, secret)
	if err != nil {
		t.Fatal(err)
	}
	person := func(u accounts.User) *auth.Principal {
		return &auth.Principal{Kind: auth.KindCLI, UserID: u.ID, Email: u.Email, SessionID: "s-" + u.ID}
	}
	return &people{org: org, team: team, alice: person(alice), bob: person(bob), carol: person(carol),
		keyPrincipal: kp, key: secret, accounts: acc}
}

func newStore(t testing.TB, d *db.DB, c *clock, o Options) *Store {
	t.Helper()
	o.Now = c.Now
	s, err := New(d, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func n(v int64) *int64 { return &v }
func dollars(s string) *Money {
	m, err := ParseMoney(s)
	if err != nil {
		panic(err)
	}
	return &m
}

// startClock is half a minute into a minute, so that Retry-After is 30 s.
func startClock() *clock {
	return &clock{t: time.Date(2026, 3, 14, 12, 0, 30, 0, time.UTC)}
}

func call(p *auth.Principal, stream bool) Request {
	return Request{Principal: p, Model: "sonnet", Upstream: "anthropic", Endpoint: "openai", Stream: stream}
}

func flush(t *testing.T, s *Store) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
}

func wantLimit(t *testing.T, err error, retry time.Duration) *LimitError {
	t.Helper()
	var le *LimitError
	if !errors.As(err, &le) {
		t.Fatalf("want a *LimitError, got %v", err)
	}
	if retry > 0 && le.RetryAfter != retry {
		t.Errorf("Retry-After %s, want %s (%v)", le.RetryAfter, retry, err)
	}
	return le
}

// Requests per minute: the third call of a minute is refused until the
// next minute, with Retry-After the rest of this one; a person's limit
// and an API key's are apart; refused calls count nothing.
func TestRequestsPerMinute(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		p := setUp(t, d)
		c := startClock()
		s := newStore(t, d, c, Options{Limits: Limits{
			User: Limit{RequestsPerMinute: n(2)},
			Key:  Limit{RequestsPerMinute: n(1)},
		}})
		for i := range 2 {
			tk, err := s.Admit(ctx, call(p.alice, false))
			if err != nil {
				t.Fatalf("call %d: %v", i+1, err)
			}
			tk.Done(Usage{Status: 200})
		}
		for range 3 { // refused, and refusals do not count
			_, err := s.Admit(ctx, call(p.alice, false))
			if le := wantLimit(t, err, 30*time.Second); le.Limit != "2 requests per minute for user alice@example.test" {
				t.Errorf("limit %q", le.Limit)
			}
		}
		if _, err := s.Admit(ctx, call(p.bob, false)); err != nil {
			t.Fatalf("bob has his own limit: %v", err)
		}
		if _, err := s.Admit(ctx, call(p.keyPrincipal, false)); err != nil {
			t.Fatalf("the key: %v", err)
		}
		_, err := s.Admit(ctx, call(p.keyPrincipal, false))
		wantLimit(t, err, 30*time.Second)
		c.Add(30 * time.Second)
		if _, err := s.Admit(ctx, call(p.alice, false)); err != nil {
			t.Fatalf("the next minute: %v", err)
		}
	})
}

// Tokens per minute are counted at Done: a minute whose calls used the
// limit refuses the next call.
func TestTokensPerMinute(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		p := setUp(t, d)
		c := startClock()
		s := newStore(t, d, c, Options{Limits: Limits{User: Limit{TokensPerMinute: n(1000)}}})
		tk, err := s.Admit(ctx, call(p.alice, true))
		if err != nil {
			t.Fatal(err)
		}
		tk.Done(Usage{InputTokens: 400, OutputTokens: 500, CachedTokens: 99, Status: 200})
		flush(t, s)
		tk, err = s.Admit(ctx, call(p.alice, false))
		if err != nil {
			t.Fatalf("999 of 1000 tokens used: %v", err)
		}
		tk.Done(Usage{OutputTokens: 1, Status: 200})
		flush(t, s)
		_, err = s.Admit(ctx, call(p.alice, false))
		wantLimit(t, err, 30*time.Second)
		c.Add(time.Minute)
		if _, err := s.Admit(ctx, call(p.alice, false)); err != nil {
			t.Fatalf("the next minute: %v", err)
		}
	})
}

// Concurrent streams: a person's second stream is refused while the first
// runs, calls that do not stream are not, and Done frees the slot at once
// (no flush).
func TestConcurrentStreamsFreedOnDone(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		p := setUp(t, d)
		s := newStore(t, d, startClock(), Options{Limits: Limits{User: Limit{ConcurrentStreams: n(1)}}})
		first, err := s.Admit(ctx, call(p.alice, true))
		if err != nil {
			t.Fatal(err)
		}
		_, err = s.Admit(ctx, call(p.alice, true))
		if le := wantLimit(t, err, time.Second); le.Limit != "1 concurrent streams for user alice@example.test" {
			t.Errorf("limit %q", le.Limit)
		}
		if _, err := s.Admit(ctx, call(p.alice, false)); err != nil {
			t.Fatalf("a call that does not stream: %v", err)
		}
		if _, err := s.Admit(ctx, call(p.bob, true)); err != nil {
			t.Fatalf("bob's stream: %v", err)
		}
		first.Done(Usage{Status: 200})
		first.Done(Usage{Status: 200}) // a second Done does nothing
		second, err := s.Admit(ctx, call(p.alice, true))
		if err != nil {
			t.Fatalf("after Done: %v", err)
		}
		second.Done(Usage{Status: 200})
		flush(t, s)
		var records int
		d.QueryRow(`SELECT COUNT(*) FROM usage_records WHERE user_id = $1`, p.alice.UserID).Scan(&records)
		if records != 2 {
			t.Errorf("%d records of alice's calls done, want 2", records)
		}
	})
}

// A replica that dies holding a stream slot: the other replica is refused
// while the lease is renewed, and admitted once it has expired.
func TestStreamLeaseExpires(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		p := setUp(t, d)
		c := startClock()
		o := Options{Limits: Limits{User: Limit{ConcurrentStreams: n(1)}}, LeaseTTL: time.Hour}
		crashed, other := newStore(t, d, c, o), newStore(t, d, c, o)
		if _, err := crashed.Admit(ctx, call(p.alice, true)); err != nil {
			t.Fatal(err)
		}
		c.Add(50 * time.Minute)
		crashed.renew(ctx) // alive: it renews
		c.Add(50 * time.Minute)
		_, err := other.Admit(ctx, call(p.alice, true))
		wantLimit(t, err, 0)
		// Now it stops renewing, as a crashed replica would.
		c.Add(61 * time.Minute)
		tk, err := other.Admit(ctx, call(p.alice, true))
		if err != nil {
			t.Fatalf("after the lease expired: %v", err)
		}
		tk.Done(Usage{})
		other.prune(ctx)
		var leases int
		d.QueryRow(`SELECT COUNT(*) FROM usage_leases`).Scan(&leases)
		if leases != 0 {
			t.Errorf("%d leases left after Done and pruning", leases)
		}
	})
}

var prices = Prices{
	"sonnet": {Input: 3_000000, Output: 15_000000, Cached: 300000},
}

// Budgets: a large streamed response at Done spends a person's daily
// budget and the next call is refused until the next day; a team's
// monthly budget spent by one member refuses the others; a model with no
// price under a budget is refused.
func TestBudgets(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		p := setUp(t, d)
		c := startClock()
		s := newStore(t, d, c, Options{Prices: prices, Limits: Limits{
			User:  Limit{DailyBudget: dollars("1")},
			Teams: map[string]Limit{"acme/research": {MonthlyBudget: dollars("2")}},
		}})
		tk, err := s.Admit(ctx, call(p.alice, true))
		if err != nil {
			t.Fatal(err)
		}
		// $1.50 of output, known only when the stream ends.
		tk.Done(Usage{OutputTokens: 100_000, Status: 200})
		flush(t, s)
		_, err = s.Admit(ctx, call(p.alice, true))
		var be *BudgetError
		if !errors.As(err, &be) || !errors.Is(err, ErrBudgetSpent) {
			t.Fatalf("after spending $1.50 of $1: %v", err)
		}
		if be.Budget != "daily budget of $1.00 for user alice@example.test" || !be.Renews.Equal(time.Date(2026, 3, 15, 0, 0, 0, 0, time.UTC)) {
			t.Errorf("budget error %v", be)
		}
		tk, err = s.Admit(ctx, call(p.bob, false))
		if err != nil {
			t.Fatalf("bob's own budget is untouched and the team has $0.50 left: %v", err)
		}
		tk.Done(Usage{InputTokens: 200_000, Status: 200}) // $0.60: the team is at $2.10
		flush(t, s)
		_, err = s.Admit(ctx, call(p.bob, false))
		if !errors.As(err, &be) || be.Budget != "monthly budget of $2.00 for team acme/research" {
			t.Fatalf("the team's budget: %v", err)
		}
		c.Add(24 * time.Hour)
		if _, err := s.Admit(ctx, call(p.alice, false)); !errors.Is(err, ErrBudgetSpent) {
			t.Fatalf("a new day, but the team's month is spent: %v", err)
		}
	})
}

// A model without a price is refused when a budget applies: it would
// spend the budget unseen.
func TestUnpricedModelUnderBudget(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		p := setUp(t, d)
		s := newStore(t, d, startClock(), Options{Prices: prices, Limits: Limits{User: Limit{MonthlyBudget: dollars("5")}}})
		_, err := s.Admit(context.Background(), Request{Principal: p.alice, Model: "mystery"})
		if !errors.Is(err, ErrBudgetSpent) {
			t.Fatalf("an unpriced model under a budget: %v", err)
		}
		if _, err := s.Admit(context.Background(), Request{Principal: p.keyPrincipal, Model: "mystery"}); err != nil {
			t.Fatalf("a key with no budget: %v", err)
		}
	})
}

// Two replicas on one database share every limit: concurrent calls from
// both are admitted exactly up to the limit, and a budget spent through
// one refuses calls through the other.
func TestReplicasShareLimits(t *testing.T) {
	for _, e := range dbtest.Engines {
		t.Run(string(e), func(t *testing.T) {
			ctx := context.Background()
			url := dbtest.URL(t, e)
			open := func() *db.DB {
				d, err := db.Open(ctx, url, nil)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { d.Close() })
				return d
			}
			d1, d2 := open(), open()
			p := setUp(t, d1)
			c := startClock()
			// Streams alone first: only the stream row serialises admissions.
			streamsOnly := Options{Limits: Limits{User: Limit{ConcurrentStreams: n(3)}}}
			replicas := []*Store{newStore(t, d1, c, streamsOnly), newStore(t, d2, c, streamsOnly)}
			var admitted, limited atomic.Int64
			var mu sync.Mutex
			var tickets []Ticket
			var wg sync.WaitGroup
			streamAtOnce := func() {
				for i := range 16 {
					wg.Add(1)
					go func() {
						defer wg.Done()
						tk, err := replicas[i%2].Admit(ctx, call(p.alice, true))
						var le *LimitError
						switch {
						case err == nil:
							admitted.Add(1)
							mu.Lock()
							tickets = append(tickets, tk)
							mu.Unlock()
						case errors.As(err, &le):
							limited.Add(1)
						default:
							t.Error(err)
						}
					}()
				}
				wg.Wait()
			}
			for round := range 5 {
				admitted.Store(0)
				limited.Store(0)
				streamAtOnce()
				if admitted.Load() != 3 || limited.Load() != 13 {
					t.Fatalf("round %d: 16 streams at once with 3 allowed: %d admitted, %d refused", round, admitted.Load(), limited.Load())
				}
				for _, tk := range tickets {
					tk.Done(Usage{})
				}
				tickets = nil
			}

			o := Options{Prices: prices, Limits: Limits{User: Limit{
				RequestsPerMinute: n(10), ConcurrentStreams: n(3), DailyBudget: dollars("1"),
			}}}
			replicas = []*Store{newStore(t, d1, c, o), newStore(t, d2, c, o)}
			admitted.Store(0)
			limited.Store(0)
			for i := range 16 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					tk, err := replicas[i%2].Admit(ctx, call(p.alice, true))
					var le *LimitError
					switch {
					case err == nil:
						admitted.Add(1)
						mu.Lock()
						tickets = append(tickets, tk)
						mu.Unlock()
					case errors.As(err, &le):
						limited.Add(1)
					default:
						t.Error(err)
					}
				}()
			}
			wg.Wait()
			if admitted.Load() != 3 || limited.Load() != 13 {
				t.Fatalf("16 streams at once with 3 allowed: %d admitted, %d refused", admitted.Load(), limited.Load())
			}
			for _, tk := range tickets {
				tk.Done(Usage{Status: 200})
			}
			// Requests: 3 counted so far; 7 more of 10 this minute.
			admitted.Store(0)
			for i := range 12 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					tk, err := replicas[i%2].Admit(ctx, call(p.alice, false))
					if err == nil {
						admitted.Add(1)
						tk.Done(Usage{Status: 200})
					}
				}()
			}
			wg.Wait()
			if admitted.Load() != 7 {
				t.Fatalf("12 calls with 7 left of the minute: %d admitted", admitted.Load())
			}
			c.Add(time.Minute)
			tk, err := replicas[0].Admit(ctx, call(p.alice, false))
			if err != nil {
				t.Fatal(err)
			}
			tk.Done(Usage{OutputTokens: 70_000, Status: 200}) // $1.05
			flush(t, replicas[0])
			if _, err := replicas[1].Admit(ctx, call(p.alice, false)); !errors.Is(err, ErrBudgetSpent) {
				t.Fatalf("the budget spent through one replica, a call through the other: %v", err)
			}
		})
	}
}

// A record holds who, what and how much, the cost from the price table,
// and never the key or anything like a credential in the error.
func TestRecordHoldsNoSecret(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		p := setUp(t, d)
		s := newStore(t, d, startClock(), Options{Prices: prices})
		tk, err := s.Admit(ctx, call(p.keyPrincipal, true))
		if err != nil {
			t.Fatal(err)
		}
		tk.Done(Usage{InputTokens: 1000, OutputTokens: 2000, CachedTokens: 10_000, Status: 502, Latency: 1500 * time.Millisecond,
			Err: "upstream refused Authorization: Bearer sk-ant-api03-secretsecret and " + p.key})
		tk, err = s.Admit(ctx, call(p.bob, false))
		if err != nil {
			t.Fatal(err)
		}
		tk.Done(Usage{InputTokens: 1, Status: 200})
		flush(t, s)
		dbtest.AssertNotStored(t, d, p.key)
		dbtest.AssertNotStored(t, d, "sk-ant-api03-secretsecret")
		var org, user, key, model, upstream, endpoint, errText string
		var stream, in, out, cached, cost, latency, status int64
		err = d.QueryRow(`SELECT org_id, user_id, key_id, model, upstream, endpoint, stream, input_tokens, output_tokens,
			cached_tokens, cost_micros, latency_us, status, error FROM usage_records WHERE key_id <> ''`).
			Scan(&org, &user, &key, &model, &upstream, &endpoint, &stream, &in, &out, &cached, &cost, &latency, &status, &errText)
		if err != nil {
			t.Fatal(err)
		}
		// 1000 × $3 + 2000 × $15 + 10000 × $0.30 per million = $0.036
		if org != p.org.ID || user != "" || key != p.keyPrincipal.KeyID || model != "sonnet" || upstream != "anthropic" ||
			endpoint != "openai" || stream != 1 || in != 1000 || out != 2000 || cached != 10_000 || cost != 36_000 ||
			latency != 1_500_000 || status != 502 {
			t.Errorf("record: %s %q %s %s %s %s %d %d %d %d %d %d %d", org, user, key, model, upstream, endpoint, stream, in, out, cached, cost, latency, status)
		}
		if errText != "upstream refused [redacted] and [redacted]" {
			t.Errorf("error kept as %q", errText)
		}
		var teams []string
		rows, _ := d.Query(`SELECT t.team_id FROM usage_record_teams t JOIN usage_records r ON r.id = t.record_id WHERE r.user_id = $1`, p.bob.UserID)
		for rows.Next() {
			var id string
			rows.Scan(&id)
			teams = append(teams, id)
		}
		rows.Close()
		if len(teams) != 1 || teams[0] != p.team.ID {
			t.Errorf("bob's call counted for teams %v, want [%s]", teams, p.team.ID)
		}
	})
}

// Records queued when the meter closes are written, and a ticket done
// after Close writes its own.
func TestCloseWritesQueued(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		p := setUp(t, d)
		s, err := New(d, Options{})
		if err != nil {
			t.Fatal(err)
		}
		var late Ticket
		for i := range 50 {
			tk, err := s.Admit(ctx, call(p.alice, false))
			if err != nil {
				t.Fatal(err)
			}
			if i == 0 {
				late = tk
				continue
			}
			tk.Done(Usage{Status: 200})
		}
		s.Close()
		late.Done(Usage{Status: 200})
		var records int
		d.QueryRow(`SELECT COUNT(*) FROM usage_records`).Scan(&records)
		if records != 50 {
			t.Errorf("%d records, want 50", records)
		}
	})
}

// TestRecordIDsFollowTime: a record made later sorts after one made
// earlier, so that a batch of records appends to the primary key's index
// instead of writing a random page of it each (BenchmarkWriteBatch).
func TestRecordIDsFollowTime(t *testing.T) {
	prev := newRecordID()
	for range 1000 {
		id := newRecordID()
		if id <= prev {
			t.Fatalf("record %q was named after %q but sorts before it", id, prev)
		}
		prev = id
	}
}
