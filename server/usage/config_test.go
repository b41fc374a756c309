package usage

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestParseMoney(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Money
		bad  bool
	}{
		{in: `"12.50"`, want: 12_500000},
		{in: `12.5`, want: 12_500000},
		{in: `"0.000150"`, want: 150},
		{in: `3`, want: 3_000000},
		{in: `".5"`, want: 500000},
		{in: `"$2"`, want: 2_000000},
		{in: `"0.0000001"`, bad: true}, // below a micro-dollar
		{in: `"-1"`, bad: true},
		{in: `"1e3"`, bad: true},
		{in: `"abc"`, bad: true},
		{in: `""`, bad: true},
		{in: `"2000000000"`, bad: true}, // over a billion
	} {
		var m Money
		err := json.Unmarshal([]byte(tc.in), &m)
		if tc.bad != (err != nil) || (!tc.bad && m != tc.want) {
			t.Errorf("%s: %d, %v; want %d (bad %v)", tc.in, m, err, tc.want, tc.bad)
		}
	}
	if s := Money(12_500000).Dollars(); s != "12.50" {
		t.Errorf("Dollars: %s", s)
	}
	if s := Money(150).Dollars(); s != "0.00015" {
		t.Errorf("Dollars: %s", s)
	}
}

// Costs are exact and rounded up to the micro-dollar; absurd token counts
// do not overflow.
func TestCost(t *testing.T) {
	pr := Price{Input: 3_000000, Output: 15_000000, Cached: 300000}
	for _, tc := range []struct {
		u    Usage
		want Money
	}{
		{Usage{InputTokens: 1_000_000}, 3_000000},
		{Usage{OutputTokens: 1}, 15},                                                 // $0.000015
		{Usage{CachedTokens: 1}, 1},                                                  // $0.0000003 rounds up
		{Usage{InputTokens: 1000, OutputTokens: 2000, CachedTokens: 10_000}, 36_000}, // $0.036
		{Usage{InputTokens: -5}, 0},
		{Usage{OutputTokens: 1 << 62}, 15_000000 * 10_000}, // clamped to 1e10 tokens
	} {
		if got := pr.Cost(tc.u); got != tc.want {
			t.Errorf("%+v: %d, want %d", tc.u, got, tc.want)
		}
	}
}

// The limits section as a team writes it: defaults, overrides that take
// the default's fields they leave out, 0 for no limit; mistakes refused.
func TestLimitsConfig(t *testing.T) {
	var l Limits
	err := json.Unmarshal([]byte(`{
		"user": {"requests_per_minute": 60, "concurrent_streams": 4, "monthly_budget": "200"},
		"users": {"Lead@Example.com": {"monthly_budget": "1000", "requests_per_minute": 0}},
		"teams": {"acme/research": {"daily_budget": 50}}
	}`), &l)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Check(); err != nil {
		t.Fatal(err)
	}
	lead := resolve(l.User, l.Users["lead@example.com"], true)
	if lead != (limit{rpm: 0, streams: 4, monthly: 1000_000000}) {
		t.Errorf("the lead's limits: %+v", lead)
	}
	if other := resolve(l.User, Limit{}, false); other != (limit{rpm: 60, streams: 4, monthly: 200_000000}) {
		t.Errorf("others' limits: %+v", other)
	}
	if team := resolve(l.Team, l.Teams["acme/research"], true); team != (limit{daily: 50_000000}) {
		t.Errorf("the team's limits: %+v", team)
	}
	for name, bad := range map[string]string{
		"negative":         `{"user": {"requests_per_minute": -1}}`,
		"team without org": `{"teams": {"research": {"daily_budget": "1"}}}`,
		"user not email":   `{"users": {"alice": {"daily_budget": "1"}}}`,
		"a key itself":     `{"keys": {"loom_abcdefghijkl_secret": {"daily_budget": "1"}}}`,
		"user twice":       `{"users": {"a@x.test": {}, "A@x.test": {}}}`,
	} {
		var l Limits
		err := json.Unmarshal([]byte(bad), &l)
		if err == nil {
			err = l.Check()
		}
		if err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	var unknown Limits
	dec := json.NewDecoder(strings.NewReader(`{"user": {"requests_per_hour": 5}}`))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&unknown); err == nil {
		t.Error("an unknown field accepted")
	}
}
