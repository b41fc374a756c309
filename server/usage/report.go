package usage

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/loom-agent/loom/server/db"
)

// By is what a report groups calls by.
type By string

// The groupings of a report.
const (
	ByModel By = "model"
	ByUser  By = "user"
	ByTeam  By = "team"
	ByKey   By = "key"
)

// Query is what a report covers: one organisation's calls, or one
// person's, since a time.
type Query struct {
	Org   string // an organisation's ID
	User  string // a user's ID, when Org is ""
	By    By
	Since time.Time
}

// Row is one group of a report. Cost is in micro-dollars.
type Row struct {
	Key          string `json:"key"`  // the model, or the user's, team's or key's ID
	Name         string `json:"name"` // the model, an email, "org/team", a key's name
	Requests     int64  `json:"requests"`
	Errors       int64  `json:"errors"`
	InputTokens  int64  `json:"input_tokens"`
	OutputTokens int64  `json:"output_tokens"`
	CachedTokens int64  `json:"cached_tokens"`
	CostMicros   int64  `json:"cost_micros"`
}

// Cost is the row's cost in dollars.
func (r Row) Cost() string { return Money(r.CostMicros).Dollars() }

// Report is usage summed by group, the costliest first.
type Report struct {
	By    By     `json:"by"`
	Since int64  `json:"since"` // Unix microseconds
	Org   string `json:"org,omitempty"`
	User  string `json:"user,omitempty"`
	Rows  []Row  `json:"rows"`
	// Total sums every call once (a call counts for each of its user's
	// teams in Rows by team).
	Total Row `json:"total"`
}

// maxRows bounds a report's rows.
const maxRows = 1000

// Summarize sums the records q covers.
func Summarize(ctx context.Context, d *db.DB, q Query) (Report, error) {
	var group, name, from string
	switch q.By {
	case ByModel:
		group, name, from = "r.model", "r.model", "usage_records r"
	case ByUser:
		group, name, from = "r.user_id", "COALESCE(u.email, '')",
			"usage_records r LEFT JOIN users u ON u.id = r.user_id"
	case ByKey:
		group, name, from = "r.key_id", "COALESCE(k.name, '')",
			"usage_records r LEFT JOIN api_keys k ON k.id = r.key_id"
	case ByTeam:
		group, name, from = "rt.team_id", "COALESCE(o.slug || '/' || t.slug, '')",
			"usage_records r JOIN usage_record_teams rt ON rt.record_id = r.id LEFT JOIN teams t ON t.id = rt.team_id LEFT JOIN orgs o ON o.id = t.org_id"
	default:
		return Report{}, fmt.Errorf("group by %q: want user, model, team or key", q.By)
	}
	where, arg := "r.org_id = $1", q.Org
	if q.Org == "" {
		if q.User == "" {
			return Report{}, errors.New("a report covers an organisation or a user")
		}
		where, arg = "r.user_id = $1", q.User
	}
	sums := `COUNT(*),
		CAST(SUM(CASE WHEN r.status >= 400 OR r.error <> '' THEN 1 ELSE 0 END) AS BIGINT),
		CAST(SUM(r.input_tokens) AS BIGINT), CAST(SUM(r.output_tokens) AS BIGINT),
		CAST(SUM(r.cached_tokens) AS BIGINT), CAST(SUM(r.cost_micros) AS BIGINT)`
	rep := Report{By: q.By, Since: q.Since.UnixMicro(), Org: q.Org, User: q.User, Rows: []Row{}}
	rows, err := d.QueryContext(ctx, `SELECT `+group+`, `+name+`, `+sums+` FROM `+from+`
		WHERE `+where+` AND r.at >= $2 GROUP BY `+group+`, `+name+`
		ORDER BY 8 DESC, 3 DESC, 1 LIMIT `+strconv.Itoa(maxRows), arg, rep.Since)
	if err != nil {
		return Report{}, fmt.Errorf("summing usage: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var r Row
		if err := rows.Scan(&r.Key, &r.Name, &r.Requests, &r.Errors, &r.InputTokens, &r.OutputTokens, &r.CachedTokens, &r.CostMicros); err != nil {
			return Report{}, err
		}
		if r.Name == "" {
			r.Name = r.Key
		}
		rep.Rows = append(rep.Rows, r)
	}
	if err := rows.Err(); err != nil {
		return Report{}, err
	}
	err = d.QueryRowContext(ctx, `SELECT `+sums+` FROM usage_records r WHERE `+where+` AND r.at >= $2`, arg, rep.Since).
		Scan(&rep.Total.Requests, nullInt{&rep.Total.Errors}, nullInt{&rep.Total.InputTokens}, nullInt{&rep.Total.OutputTokens},
			nullInt{&rep.Total.CachedTokens}, nullInt{&rep.Total.CostMicros})
	if err != nil {
		return Report{}, fmt.Errorf("summing usage: %w", err)
	}
	rep.Total.Key, rep.Total.Name = "total", "total"
	return rep, nil
}

// nullInt scans a SUM that is NULL over no rows as 0.
type nullInt struct{ p *int64 }

func (n nullInt) Scan(v any) error {
	switch x := v.(type) {
	case nil:
		*n.p = 0
	case int64:
		*n.p = x
	default:
		return fmt.Errorf("usage: a sum of type %T", v)
	}
	return nil
}

// ParseSince reads how far back a report goes: a duration ("7d", "24h",
// "90m") back from now, or a date ("2026-01-31") or time (RFC 3339).
func ParseSince(s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	if n, ok := strings.CutSuffix(s, "d"); ok {
		days, err := strconv.Atoi(n)
		if err != nil || days < 0 || days > 3660 {
			return time.Time{}, fmt.Errorf("since %q: want a number of days such as 7d", s)
		}
		return now.AddDate(0, 0, -days), nil
	}
	if d, err := time.ParseDuration(s); err == nil {
		if d < 0 {
			return time.Time{}, fmt.Errorf("since %q: a duration back from now is positive", s)
		}
		return now.Add(-d), nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("since %q: want 7d, 24h, a date (2026-01-31) or an RFC 3339 time", s)
}
