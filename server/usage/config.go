package usage

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Money is an amount in micro-dollars (millionths of a dollar): an integer,
// so that sums and comparisons are exact. The configuration writes it in
// dollars, as a string or a number: "12.50", 12.5, "0.000150".
type Money int64

// maxMoney bounds a configured amount (a billion dollars), so that sums of
// costs cannot overflow.
const maxMoney = Money(1e15)

// ParseMoney reads dollars written in decimal, at most six digits after
// the point.
func ParseMoney(s string) (Money, error) {
	s = strings.TrimPrefix(strings.TrimSpace(s), "$")
	whole, frac, _ := strings.Cut(s, ".")
	if whole == "" && frac == "" || strings.HasPrefix(whole, "-") || strings.HasPrefix(whole, "+") {
		return 0, fmt.Errorf("amount %q: want dollars such as \"12.50\"", s)
	}
	if len(frac) > 6 {
		return 0, fmt.Errorf("amount %q: at most six digits after the point (micro-dollars)", s)
	}
	if whole == "" {
		whole = "0"
	}
	w, err := strconv.ParseInt(whole, 10, 64)
	if err != nil || w > int64(maxMoney/1e6) {
		return 0, fmt.Errorf("amount %q: want dollars such as \"12.50\", at most %d", s, maxMoney/1e6)
	}
	var f int64
	if frac != "" {
		if f, err = strconv.ParseInt(frac+strings.Repeat("0", 6-len(frac)), 10, 64); err != nil || f < 0 {
			return 0, fmt.Errorf("amount %q: want dollars such as \"12.50\"", s)
		}
	}
	return Money(w*1e6 + f), nil
}

// UnmarshalJSON reads "12.50" or 12.5 without going through a float.
func (m *Money) UnmarshalJSON(b []byte) error {
	s := string(bytes.TrimSpace(b))
	if strings.HasPrefix(s, `"`) {
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
	}
	v, err := ParseMoney(s)
	if err != nil {
		return err
	}
	*m = v
	return nil
}

// MarshalJSON writes dollars as a string, exactly.
func (m Money) MarshalJSON() ([]byte, error) { return json.Marshal(m.Dollars()) }

// Dollars is m in dollars with all six decimals trimmed to at least two:
// "12.50", "0.000150".
func (m Money) Dollars() string {
	sign := ""
	if m < 0 {
		sign, m = "-", -m
	}
	frac := strings.TrimRight(fmt.Sprintf("%06d", int64(m%1e6)), "0")
	for len(frac) < 2 {
		frac += "0"
	}
	return fmt.Sprintf("%s%d.%s", sign, int64(m/1e6), frac)
}

func (m Money) String() string { return "$" + m.Dollars() }

// Price is what a model costs per million tokens of each kind.
type Price struct {
	Input  Money `json:"input"`
	Output Money `json:"output"`
	// Cached is the price of input tokens read from the provider's prompt
	// cache; it is usually a tenth of Input.
	Cached Money `json:"cached"`
}

// Prices is the price table: a model's name, as the proxy names it after
// resolving aliases, to its price. "*" prices every model not named.
type Prices map[string]Price

// Check refuses a table with a nameless model.
func (p Prices) Check() error {
	for name, pr := range p {
		if strings.TrimSpace(name) == "" {
			return errors.New("prices: a model without a name")
		}
		for _, m := range []Money{pr.Input, pr.Output, pr.Cached} {
			if m < 0 || m > maxMoney {
				return fmt.Errorf("prices: %s: a price out of range", name)
			}
		}
	}
	return nil
}

// lookup returns model's price, or the "*" price.
func (p Prices) lookup(model string) (Price, bool) {
	if pr, ok := p[model]; ok {
		return pr, true
	}
	pr, ok := p["*"]
	return pr, ok
}

// maxTokens bounds each count a call reports, so that a cost cannot
// overflow whatever an upstream claims.
const maxTokens = 1e10

// Cost is what u costs at price pr, rounded up to the micro-dollar.
func (pr Price) Cost(u Usage) Money {
	return perMillion(u.InputTokens, pr.Input) + perMillion(u.OutputTokens, pr.Output) + perMillion(u.CachedTokens, pr.Cached)
}

func perMillion(tokens int64, price Money) Money {
	tokens = clampTokens(tokens)
	whole, rest := tokens/1e6, tokens%1e6
	// rest*price < 1e6*1e15: no overflow.
	return Money(whole)*price + (Money(rest)*price+1e6-1)/1e6
}

func clampTokens(n int64) int64 { return max(0, min(n, maxTokens)) }

// Limit is what one API key, user or team may use. A field left out takes
// the default's value; 0 is no limit.
type Limit struct {
	RequestsPerMinute *int64 `json:"requests_per_minute,omitempty"`
	// TokensPerMinute counts input, output and cached tokens; a call is
	// refused once the minute's calls have used as many.
	TokensPerMinute *int64 `json:"tokens_per_minute,omitempty"`
	// ConcurrentStreams is the number of streamed calls at once.
	ConcurrentStreams *int64 `json:"concurrent_streams,omitempty"`
	// DailyBudget and MonthlyBudget are money per UTC day and calendar
	// month; a call is refused once they are spent.
	DailyBudget   *Money `json:"daily_budget,omitempty"`
	MonthlyBudget *Money `json:"monthly_budget,omitempty"`
}

// Limits are the configuration's "limits": defaults for every API key,
// user and team, and overrides for some of them.
//
//	"limits": {
//	  "user": {"requests_per_minute": 60, "concurrent_streams": 4, "monthly_budget": "200"},
//	  "key":  {"requests_per_minute": 600},
//	  "team": {"monthly_budget": "2000"},
//	  "users": {"lead@example.com": {"monthly_budget": "1000"}},
//	  "teams": {"acme/research": {"monthly_budget": "10000", "requests_per_minute": 0}},
//	  "keys":  {"KEY_ID": {"concurrent_streams": 50}}
//	}
type Limits struct {
	Key  Limit `json:"key"`
	User Limit `json:"user"`
	Team Limit `json:"team"`
	// Keys are overrides by API key ID; Users by email; Teams by
	// "org-slug/team-slug".
	Keys  map[string]Limit `json:"keys,omitempty"`
	Users map[string]Limit `json:"users,omitempty"`
	Teams map[string]Limit `json:"teams,omitempty"`
}

// Check refuses negative limits and overrides that cannot name anything,
// and lower-cases the emails of Users.
func (l *Limits) Check() error {
	check := func(where string, x Limit) error {
		for name, v := range map[string]*int64{"requests_per_minute": x.RequestsPerMinute, "tokens_per_minute": x.TokensPerMinute, "concurrent_streams": x.ConcurrentStreams} {
			if v != nil && *v < 0 {
				return fmt.Errorf("limits: %s: %s is negative (0 is no limit)", where, name)
			}
		}
		for name, v := range map[string]*Money{"daily_budget": x.DailyBudget, "monthly_budget": x.MonthlyBudget} {
			if v != nil && (*v < 0 || *v > maxMoney) {
				return fmt.Errorf("limits: %s: %s out of range", where, name)
			}
		}
		return nil
	}
	for where, x := range map[string]Limit{"key": l.Key, "user": l.User, "team": l.Team} {
		if err := check(where, x); err != nil {
			return err
		}
	}
	for _, id := range sortedKeys(l.Keys) {
		if strings.TrimSpace(id) == "" || strings.HasPrefix(id, "loom_") {
			return fmt.Errorf("limits: keys: %q: name a key by its ID (from the key list), never by the key itself", id)
		}
		if err := check("keys."+id, l.Keys[id]); err != nil {
			return err
		}
	}
	users := make(map[string]Limit, len(l.Users))
	for _, email := range sortedKeys(l.Users) {
		e := strings.ToLower(strings.TrimSpace(email))
		if !strings.Contains(e, "@") {
			return fmt.Errorf("limits: users: %q is not an email address", email)
		}
		if _, dup := users[e]; dup {
			return fmt.Errorf("limits: users: %s given twice", e)
		}
		if err := check("users."+e, l.Users[email]); err != nil {
			return err
		}
		users[e] = l.Users[email]
	}
	if l.Users != nil {
		l.Users = users
	}
	for _, ref := range sortedKeys(l.Teams) {
		org, team, ok := strings.Cut(ref, "/")
		if !ok || org == "" || team == "" || strings.Contains(team, "/") {
			return fmt.Errorf("limits: teams: %q: name a team as org-slug/team-slug", ref)
		}
		if err := check("teams."+ref, l.Teams[ref]); err != nil {
			return err
		}
	}
	return nil
}

func sortedKeys(m map[string]Limit) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// limit is a Limit with its default filled in: what Admit enforces.
type limit struct {
	rpm, tpm, streams int64
	daily, monthly    Money
}

func (x limit) any() bool {
	return x.rpm > 0 || x.tpm > 0 || x.streams > 0 || x.daily > 0 || x.monthly > 0
}

// counted reports whether x needs the call counted (all but streams).
func (x limit) counted() bool {
	return x.rpm > 0 || x.tpm > 0 || x.daily > 0 || x.monthly > 0
}

// resolve applies override over def.
func resolve(def Limit, override Limit, ok bool) limit {
	pick := func(d, o *int64) int64 {
		if ok && o != nil {
			return *o
		}
		if d != nil {
			return *d
		}
		return 0
	}
	money := func(d, o *Money) Money {
		if ok && o != nil {
			return *o
		}
		if d != nil {
			return *d
		}
		return 0
	}
	return limit{
		rpm:     pick(def.RequestsPerMinute, override.RequestsPerMinute),
		tpm:     pick(def.TokensPerMinute, override.TokensPerMinute),
		streams: pick(def.ConcurrentStreams, override.ConcurrentStreams),
		daily:   money(def.DailyBudget, override.DailyBudget),
		monthly: money(def.MonthlyBudget, override.MonthlyBudget),
	}
}
