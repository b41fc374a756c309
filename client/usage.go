package client

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
)

// UsageReport is the server's answer to GET /api/v1/usage: calls of the
// LLM proxy summed by a grouping; costs in micro-dollars.
type UsageReport struct {
	By    string     `json:"by"`
	Since int64      `json:"since"` // Unix microseconds
	Org   string     `json:"org"`
	Rows  []UsageRow `json:"rows"`
	Total UsageRow   `json:"total"`
}

// UsageRow is one group of a report.
type UsageRow struct {
	Key          string `json:"key"`
	Name         string `json:"name"`
	Requests     int64  `json:"requests"`
	Errors       int64  `json:"errors"`
	InputTokens  int64  `json:"input_tokens"`
	OutputTokens int64  `json:"output_tokens"`
	CachedTokens int64  `json:"cached_tokens"`
	CostMicros   int64  `json:"cost_micros"`
}

// UsageQuery says what a report covers.
type UsageQuery struct {
	// By is "model", "user", "team" or "key".
	By string
	// Since is how far back: "7d", "24h", a date or an RFC 3339 time.
	Since string
	// Org is an organisation's slug, for its admins; "" is your own calls.
	Org string
}

// Usage asks the server signed in to for a usage report.
func Usage(ctx context.Context, o Options, q UsageQuery) (*UsageReport, error) {
	server, token, err := load(o)
	if err != nil {
		return nil, err
	}
	v := url.Values{}
	for k, s := range map[string]string{"by": q.By, "since": q.Since, "org": q.Org} {
		if s != "" {
			v.Set(k, s)
		}
	}
	path := "/api/v1/usage"
	if len(v) > 0 {
		path += "?" + v.Encode()
	}
	body, err := call(ctx, o, http.MethodGet, server, token, path)
	if err != nil {
		return nil, err
	}
	var rep UsageReport
	if err := json.Unmarshal(body, &rep); err != nil {
		return nil, fmt.Errorf("reading %s/api/v1/usage: %w", server, err)
	}
	return &rep, nil
}
