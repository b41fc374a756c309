package server

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/loom-agent/loom/server/auth"
	"github.com/loom-agent/loom/server/auth/secret"
	"github.com/loom-agent/loom/server/auth/session"
	"github.com/loom-agent/loom/server/db"
)

// heldSessions is how many people are signed in at once.
const heldSessions = 2000

// BenchmarkConcurrentWebSessions holds 2,000 web sessions, each a
// different member of the organisation signed in on its own connection to
// the assembled server (Open) on loopback. Each iteration is one round in
// which all 2,000 make an authenticated request at once (GET
// /api/v1/orgs/acme: the cookie's session looked up, the member's
// memberships read, the policy decided). It reports requests/s and the
// p50 and p99 latency of a request, and fails unless every request
// succeeded and all 2,000 sessions are still valid at the end.
func BenchmarkConcurrentWebSessions(b *testing.B) {
	s := openSite(b, db.SQLite)
	ctx := context.Background()
	users := make([]string, heldSessions)
	err := s.Team.DB.Tx(ctx, func(tx *sql.Tx) error {
		now := db.Now()
		for i := range users {
			users[i] = secret.ID()
			if _, err := tx.ExecContext(ctx, `INSERT INTO users (id, email, created_at) VALUES ($1, $2, $3)`,
				users[i], fmt.Sprintf("user%d@example.test", i), now); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO memberships (org_id, user_id, role, created_at) VALUES ($1, $2, 'member', $3)`,
				s.OrgID, users[i], now); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	cookies := make([]*http.Cookie, heldSessions)
	for i, u := range users {
		token, _, err := s.Team.SignIn.Sessions.Create(ctx, u, auth.KindWeb, "bench", "127.0.0.1")
		if err != nil {
			b.Fatal(err)
		}
		cookies[i] = &http.Cookie{Name: session.CookieName, Value: token}
	}
	// A connection per session, kept between rounds.
	tr := &http.Transport{MaxIdleConnsPerHost: heldSessions, IdleConnTimeout: time.Minute}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: time.Minute}
	get := func(i int, path string) (int, error) {
		req, _ := http.NewRequest("GET", s.URL+path, nil)
		req.AddCookie(cookies[i])
		resp, err := client.Do(req)
		if err != nil {
			return 0, err
		}
		defer resp.Body.Close()
		io.Copy(io.Discard, resp.Body)
		return resp.StatusCode, nil
	}

	latencies := make([][]time.Duration, heldSessions)
	failures := make([]error, heldSessions)
	rounds := 0
	start := time.Now()
	for b.Loop() {
		rounds++
		var wg sync.WaitGroup
		for i := range heldSessions {
			wg.Go(func() {
				t0 := time.Now()
				code, err := get(i, "/api/v1/orgs/acme")
				latencies[i] = append(latencies[i], time.Since(t0))
				if err == nil && code != http.StatusOK {
					err = fmt.Errorf("status %d", code)
				}
				if err != nil && failures[i] == nil {
					failures[i] = err
				}
			})
		}
		wg.Wait()
	}
	elapsed := time.Since(start)
	b.StopTimer()
	for i, err := range failures {
		if err != nil {
			b.Fatalf("session %d: a request failed: %v", i, err)
		}
	}
	all := slices.Concat(latencies...)
	slices.Sort(all)
	ms := func(q float64) float64 { return float64(all[int(q*float64(len(all)-1))]) / float64(time.Millisecond) }
	b.ReportMetric(float64(len(all))/elapsed.Seconds(), "req/s")
	b.ReportMetric(ms(0.50), "p50-ms")
	b.ReportMetric(ms(0.99), "p99-ms")

	// Every session is still good after the load.
	valid := 0
	for i := range heldSessions {
		if code, err := get(i, "/api/v1/me"); err == nil && code == http.StatusOK {
			valid++
		}
	}
	b.ReportMetric(float64(valid), "valid-sessions")
	if valid != heldSessions {
		b.Fatalf("%d of %d sessions are still valid after %d rounds", valid, heldSessions, rounds)
	}
}
