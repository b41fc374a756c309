package usage

import (
	"cmp"
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/loom-agent/loom/server/auth"
	"github.com/loom-agent/loom/server/db"
)

// Store is the Meter on the server's database, and the source of usage
// reports. Limits and budgets are kept in counter rows that every replica
// on one PostgreSQL database updates atomically, so they hold across
// replicas:
//
//   - Admit, when a limit or budget applies, runs one transaction: one
//     INSERT … ON CONFLICT DO UPDATE … RETURNING adds the call to the
//     minute, day and month rows of its API key, user and teams (in one
//     order, so two admissions cannot deadlock) and returns what those
//     windows hold; a refusal rolls the transaction back, so refused calls
//     count nothing. A streamed call then counts its subjects' live stream
//     leases (the rows locked above serialise that count per subject) and
//     takes one.
//   - Done gives the lease back at once (a client's next stream must find
//     its slot free) and queues the record; one writer goroutine writes
//     what has queued in one transaction: records, and tokens and cost
//     added to the counters. The queue is bounded; a full queue makes
//     Done write itself. Close writes what is queued.
//   - A replica renews its leases every LeaseTTL/3; a replica that crashed
//     stops, and its slots free themselves after LeaseTTL.
//
// Windows are fixed (the UTC minute, day and calendar month). Tokens and
// cost are known only when a call is done, so the call that crosses a
// budget is served and the next one refused.
type Store struct {
	db      *db.DB
	limits  Limits
	prices  Prices
	log     *slog.Logger
	now     func() time.Time
	ttl     time.Duration
	replica string

	queue chan item
	stop  chan struct{}
	done  chan struct{}

	mu     sync.RWMutex // guards closed against sends to queue
	closed bool

	cacheMu sync.Mutex
	cache   map[string]membership // by user ID
}

// Options configure a Store.
type Options struct {
	Limits Limits
	Prices Prices
	Log    *slog.Logger
	// LeaseTTL is how long a stream's slot outlives a replica that stopped
	// renewing it. Default: a minute.
	LeaseTTL time.Duration
	// QueueSize bounds the records waiting to be written. Default: 4096.
	QueueSize int
	// Now is the clock; tests move it.
	Now func() time.Time
}

type item struct {
	rec   *record
	flush chan struct{}
}

// maxBatch is the most records one transaction writes.
const maxBatch = 256

// batchLinger is how long the writer waits, after the records queued, for
// more to join a transaction when nobody waits on it (a Flush does not
// wait). Under load (bench/proxy.sh, 400 streams ending a second) one
// transaction a record was a sixth of the server's CPU; the records'
// writes, and the counters limits read, come at most this much later.
const batchLinger = 20 * time.Millisecond

// New returns the meter on d and starts its writer; Close stops it.
func New(d *db.DB, o Options) (*Store, error) {
	if err := o.Limits.Check(); err != nil {
		return nil, err
	}
	if err := o.Prices.Check(); err != nil {
		return nil, err
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.LeaseTTL <= 0 {
		o.LeaseTTL = time.Minute
	}
	if o.QueueSize <= 0 {
		o.QueueSize = 4096
	}
	s := &Store{
		db: d, limits: o.Limits, prices: o.Prices, log: o.Log, now: o.Now, ttl: o.LeaseTTL,
		replica: rand.Text(),
		queue:   make(chan item, o.QueueSize),
		stop:    make(chan struct{}),
		done:    make(chan struct{}),
		cache:   map[string]membership{},
	}
	go s.run()
	return s, nil
}

// Close writes the records still queued and stops the writer. Tickets
// done afterwards write their record themselves.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	close(s.stop)
	<-s.done
	return nil
}

// Flush returns once every record of a ticket done before the call is
// written.
func (s *Store) Flush(ctx context.Context) error {
	f := make(chan struct{})
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return nil
	}
	select {
	case s.queue <- item{flush: f}:
	case <-ctx.Done():
		s.mu.RUnlock()
		return ctx.Err()
	}
	s.mu.RUnlock()
	select {
	case <-f:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// who is whom a call is metered against.
type who struct {
	org   string
	user  string
	email string
	key   string
	teams []team
}

type team struct{ id, ref string } // ref: "org-slug/team-slug"

// subject is one API key, user or team with its limits.
type subject struct {
	name  string // "key:ID", "user:ID", "team:ID"
	label string // for people: "user alice@example.com"
	lim   limit
}

func (s *Store) whom(ctx context.Context, r Request) (who, error) {
	p := r.Principal
	if p == nil {
		return who{}, errors.New("a model call without a principal")
	}
	if p.Kind == auth.KindAPIKey {
		// A key acts for its organisation, not for the person who made it.
		return who{org: p.KeyOrgID, key: p.KeyID}, nil
	}
	w := who{user: p.UserID, email: strings.ToLower(p.Email)}
	m, err := s.memberships(ctx, p.UserID)
	if err != nil {
		return who{}, err
	}
	orgs, teams := m.orgs, m.teams
	w.org = r.Org
	if w.org == "" && len(orgs) == 1 {
		w.org = orgs[0]
	}
	// Without an organisation, every team the person is in counts.
	for _, t := range teams {
		if (w.org == "" || t.org == w.org) && !slices.Contains(w.teams, t.t) {
			w.teams = append(w.teams, t.t)
		}
	}
	slices.SortFunc(w.teams, func(a, b team) int { return strings.Compare(a.id, b.id) })
	return w, nil
}

type orgTeam struct {
	org string
	t   team
}

// membership is a person's organisations and teams, as read at a time.
type membership struct {
	orgs  []string
	teams []orgTeam
	at    time.Time
}

// Memberships are remembered briefly: a call's admission reads none when
// its person called a moment ago. A change of team counts within
// membershipTTL.
const (
	membershipTTL      = 10 * time.Second
	maxMembershipsHeld = 10000
)

func (s *Store) memberships(ctx context.Context, user string) (membership, error) {
	s.cacheMu.Lock()
	m, ok := s.cache[user]
	s.cacheMu.Unlock()
	if ok && time.Since(m.at) < membershipTTL {
		return m, nil
	}
	m = membership{at: time.Now()}
	rows, err := s.db.QueryContext(ctx, `
		SELECT m.org_id, o.slug, COALESCE(t.id, ''), COALESCE(t.slug, '')
		FROM memberships m
		JOIN orgs o ON o.id = m.org_id
		LEFT JOIN team_members tm ON tm.user_id = m.user_id
		LEFT JOIN teams t ON t.id = tm.team_id AND t.org_id = m.org_id
		WHERE m.user_id = $1`, user)
	if err != nil {
		return m, fmt.Errorf("finding %s's organisations and teams: %w", user, err)
	}
	defer rows.Close()
	for rows.Next() {
		var org, orgSlug, id, slug string
		if err := rows.Scan(&org, &orgSlug, &id, &slug); err != nil {
			return m, err
		}
		if !slices.Contains(m.orgs, org) {
			m.orgs = append(m.orgs, org)
		}
		if id != "" {
			m.teams = append(m.teams, orgTeam{org, team{id: id, ref: orgSlug + "/" + slug}})
		}
	}
	if err := rows.Err(); err != nil {
		return m, err
	}
	s.cacheMu.Lock()
	if len(s.cache) >= maxMembershipsHeld {
		clear(s.cache)
	}
	s.cache[user] = m
	s.cacheMu.Unlock()
	return m, nil
}

func (s *Store) subjects(w who) []subject {
	var out []subject
	l := &s.limits
	if w.key != "" {
		o, ok := l.Keys[w.key]
		out = append(out, subject{name: "key:" + w.key, label: "API key " + w.key, lim: resolve(l.Key, o, ok)})
	}
	if w.user != "" {
		o, ok := l.Users[w.email]
		label := "user " + w.email
		if w.email == "" {
			label = "user " + w.user
		}
		out = append(out, subject{name: "user:" + w.user, label: label, lim: resolve(l.User, o, ok)})
	}
	for _, t := range w.teams {
		o, ok := l.Teams[t.ref]
		out = append(out, subject{name: "team:" + t.id, label: "team " + t.ref, lim: resolve(l.Team, o, ok)})
	}
	return slices.DeleteFunc(out, func(x subject) bool { return !x.lim.any() })
}

// The counter windows.
const (
	perMinute = "minute"
	perDay    = "day"
	perMonth  = "month"
	streams   = "streams"
)

type window struct {
	subject, period string
	start           int64
}

func windows(t time.Time) (minute, day, month time.Time) {
	t = t.UTC()
	return t.Truncate(time.Minute),
		time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC),
		time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
}

type ticket struct {
	s      *Store
	req    Request
	who    who
	subs   []subject
	at     time.Time
	leases []string
	done   atomic.Bool
}

// Admit refuses r when a limit or budget of its API key, user or teams is
// reached; otherwise it counts the call and returns its ticket.
func (s *Store) Admit(ctx context.Context, r Request) (Ticket, error) {
	w, err := s.whom(ctx, r)
	if err != nil {
		return nil, fmt.Errorf("metering: %w", err)
	}
	now := s.now()
	t := &ticket{s: s, req: r, who: w, subs: s.subjects(w), at: now}
	if len(t.subs) == 0 {
		return t, nil
	}
	if _, priced := s.prices.lookup(r.Model); !priced {
		// A call that cannot be priced would spend a budget unseen.
		for _, x := range t.subs {
			if x.lim.daily > 0 || x.lim.monthly > 0 {
				return nil, &BudgetError{Budget: fmt.Sprintf("model %q has no price in the server's price table, and the %s has a budget", r.Model, x.label)}
			}
		}
	}
	if !slices.ContainsFunc(t.subs, func(x subject) bool { return x.lim.counted() || r.Stream }) {
		return t, nil // only stream limits, and not a stream
	}
	if err := s.db.Tx(ctx, func(tx *sql.Tx) error { return s.admit(ctx, tx, t, now) }); err != nil {
		var le *LimitError
		if errors.As(err, &le) || errors.Is(err, ErrBudgetSpent) {
			return nil, err
		}
		return nil, fmt.Errorf("metering: %w", err)
	}
	return t, nil
}

func (s *Store) admit(ctx context.Context, tx *sql.Tx, t *ticket, now time.Time) error {
	minute, day, month := windows(now)
	var ws []window
	for _, x := range t.subs {
		if x.lim.rpm > 0 || x.lim.tpm > 0 {
			ws = append(ws, window{x.name, perMinute, minute.UnixMicro()})
		}
		if x.lim.daily > 0 {
			ws = append(ws, window{x.name, perDay, day.UnixMicro()})
		}
		if x.lim.monthly > 0 {
			ws = append(ws, window{x.name, perMonth, month.UnixMicro()})
		}
		if x.lim.streams > 0 && t.req.Stream {
			ws = append(ws, window{x.name, streams, 0})
		}
	}
	if len(ws) == 0 {
		return s.lease(ctx, tx, t, now)
	}
	// One order for every transaction: rows are locked in it.
	slices.SortFunc(ws, compareWindows)
	args := make([]any, 0, 3*len(ws))
	for _, w := range ws {
		args = append(args, w.subject, w.period, w.start)
	}
	rows, err := tx.QueryContext(ctx, `INSERT INTO usage_counters (subject, period, start, requests, tokens, cost_micros)
		VALUES `+s.values(len(ws), 3, "1, 0, 0")+`
		ON CONFLICT (subject, period, start) DO UPDATE SET requests = usage_counters.requests + 1
		RETURNING subject, period, requests, tokens, cost_micros`, args...)
	if err != nil {
		return fmt.Errorf("counting the call: %w", err)
	}
	type count struct{ requests, tokens, cost int64 }
	counts := map[[2]string]count{}
	for rows.Next() {
		var subj, period string
		var c count
		if err := rows.Scan(&subj, &period, &c.requests, &c.tokens, &c.cost); err != nil {
			rows.Close()
			return err
		}
		counts[[2]string{subj, period}] = c
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	// Budgets first: waiting a minute does not help with those.
	for _, x := range t.subs {
		if c := counts[[2]string{x.name, perDay}]; x.lim.daily > 0 && Money(c.cost) >= x.lim.daily {
			return &BudgetError{Budget: fmt.Sprintf("daily budget of %s for %s", x.lim.daily, x.label), Renews: day.AddDate(0, 0, 1)}
		}
		if c := counts[[2]string{x.name, perMonth}]; x.lim.monthly > 0 && Money(c.cost) >= x.lim.monthly {
			return &BudgetError{Budget: fmt.Sprintf("monthly budget of %s for %s", x.lim.monthly, x.label), Renews: month.AddDate(0, 1, 0)}
		}
	}
	retry := minute.Add(time.Minute).Sub(now)
	for _, x := range t.subs {
		c := counts[[2]string{x.name, perMinute}]
		if x.lim.rpm > 0 && c.requests > x.lim.rpm {
			return &LimitError{Limit: fmt.Sprintf("%d requests per minute for %s", x.lim.rpm, x.label), RetryAfter: retry}
		}
		if x.lim.tpm > 0 && c.tokens >= x.lim.tpm {
			return &LimitError{Limit: fmt.Sprintf("%d tokens per minute for %s", x.lim.tpm, x.label), RetryAfter: retry}
		}
	}
	return s.lease(ctx, tx, t, now)
}

// lease takes a stream slot of each subject that limits streams, for a
// streamed call.
func (s *Store) lease(ctx context.Context, tx *sql.Tx, t *ticket, now time.Time) error {
	if !t.req.Stream {
		return nil
	}
	var limited []subject
	for _, x := range t.subs {
		if x.lim.streams > 0 {
			limited = append(limited, x)
		}
	}
	if len(limited) == 0 {
		return nil
	}
	expires := now.Add(s.ttl).UnixMicro()
	for _, x := range limited {
		// Counted and taken in one statement; the counter row the call
		// locked above serialises this per subject across replicas.
		id := rand.Text()
		res, err := tx.ExecContext(ctx, `INSERT INTO usage_leases (id, subject, replica, expires_at)
			SELECT $1, $2, $3, CAST($4 AS BIGINT)
			WHERE (SELECT COUNT(*) FROM usage_leases WHERE subject = $2 AND expires_at > $5) < $6`,
			id, x.name, s.replica, expires, now.UnixMicro(), x.lim.streams)
		if err != nil {
			return fmt.Errorf("taking a stream slot: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			// A slot frees when any stream ends: no time can be promised.
			return &LimitError{Limit: fmt.Sprintf("%d concurrent streams for %s", x.lim.streams, x.label), RetryAfter: time.Second}
		}
		t.leases = append(t.leases, id)
	}
	return nil
}

func compareWindows(a, b window) int {
	if c := strings.Compare(a.subject, b.subject); c != 0 {
		return c
	}
	if c := strings.Compare(a.period, b.period); c != 0 {
		return c
	}
	return cmp.Compare(a.start, b.start)
}

// values writes n rows of cols placeholders, each followed by the literal
// columns extra: "($1, $2, 1, 0), ($3, $4, 1, 0)" for PostgreSQL and
// "(?, ?, 1, 0), (?, ?, 1, 0)" for SQLite. The statement must take its
// parameters in this order and no others.
func (s *Store) values(n, cols int, extra string) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("(" + s.placeholders(1+i*cols, cols))
		if extra != "" {
			b.WriteString(", " + extra)
		}
		b.WriteString(")")
	}
	return b.String()
}

// placeholders writes n parameters, numbered from first for PostgreSQL.
// SQLite gets anonymous ones: it looks a numbered or named parameter up in
// a list once to parse it and again to bind it, which makes a statement
// of a batch's thousands of parameters cost their square.
func (s *Store) placeholders(first, n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		if s.db.Engine == db.SQLite {
			b.WriteString("?")
		} else {
			fmt.Fprintf(&b, "$%d", first+i)
		}
	}
	return b.String()
}
