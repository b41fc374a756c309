// Package usage meters the LLM proxy: before a model call it admits or
// refuses the request by the limits and budgets of its API key, user and
// team; after it, it records what the call used (tokens, cost, latency,
// status). The proxy (server/proxy) calls a Meter and knows nothing of how
// limits are kept.
package usage

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/loom-agent/loom/server/auth"
)

// Request is a model call the proxy is about to make.
type Request struct {
	Principal *auth.Principal
	// Model is the name the client asked for (an alias resolved to the
	// proxy's model name); Upstream names the upstream that serves it.
	Model    string
	Upstream string
	// Endpoint is the client's format: "openai" or "anthropic".
	Endpoint string
	Stream   bool
	// Org is the organisation the call is made for (the one the proxy
	// authorized use_model in). Empty: an API key's own organisation, or a
	// person's only one.
	Org string
}

// Usage is what a call used and how it ended. InputTokens are the prompt
// tokens not read from the provider's cache and CachedTokens those that
// were (OpenAI's prompt_tokens minus cached_tokens, and cached_tokens;
// Anthropic's input_tokens, and cache_read_input_tokens), each priced at
// its own rate.
type Usage struct {
	InputTokens, OutputTokens, CachedTokens int64
	// Status is the HTTP status the client got; Err, for a failed call,
	// says why (never the upstream's key or body).
	Status  int
	Err     string
	Latency time.Duration
}

// Meter admits calls and records their use.
type Meter interface {
	// Admit checks the limits and budgets that apply to r before the
	// upstream is called. A refusal is a *LimitError (answered 429 with
	// Retry-After) or wraps ErrBudgetSpent.
	Admit(ctx context.Context, r Request) (Ticket, error)
}

// Ticket is an admitted call: Done records its use and frees what it held
// (a concurrent-stream slot, say). Done is called exactly once.
type Ticket interface {
	Done(u Usage)
}

// LimitError is a rate or concurrency limit hit.
type LimitError struct {
	// Limit says which, for the client: "requests per minute for API key
	// loom_abc…", say.
	Limit      string
	RetryAfter time.Duration
}

func (e *LimitError) Error() string {
	return fmt.Sprintf("limit reached: %s; retry in %s", e.Limit, e.RetryAfter.Round(time.Second))
}

// ErrBudgetSpent refuses a call whose key, user or team has spent its
// budget for the period.
var ErrBudgetSpent = errors.New("budget spent")

// BudgetError is a spent budget: errors.Is(err, ErrBudgetSpent) holds.
type BudgetError struct {
	// Budget says which: "monthly budget of $200.00 for user
	// alice@example.com", say.
	Budget string
	// Renews is when the period ends (zero when it never will, as for a
	// model without a price under a budget).
	Renews time.Time
}

func (e *BudgetError) Error() string {
	if e.Renews.IsZero() {
		return fmt.Sprintf("budget spent: %s", e.Budget)
	}
	return fmt.Sprintf("budget spent: %s; it renews %s", e.Budget, e.Renews.UTC().Format("2006-01-02 15:04 UTC"))
}

func (e *BudgetError) Unwrap() error { return ErrBudgetSpent }

// Unmetered admits every call and records nothing.
type Unmetered struct{}

func (Unmetered) Admit(context.Context, Request) (Ticket, error) { return noTicket{}, nil }

type noTicket struct{}

func (noTicket) Done(Usage) {}
