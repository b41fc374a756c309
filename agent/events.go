package agent

import (
	"fmt"
	"time"

	"github.com/loom-agent/loom/llm"
)

// Event is one item of a run's progress, passed to the onEvent callback of
// Agent.Run. It is an interface implemented by the types below (a closed
// set: front ends type-switch on the concrete type and ignore kinds they do
// not render). onEvent is never called concurrently, even while read-only
// tools run in parallel, and it should return quickly.
type Event interface {
	// Kind names the event for logs and wire formats ("text_delta", ...).
	Kind() string
}

// TextDelta is a piece of the model's answer as it streams in. When a
// Retrying event follows deltas of the same turn, those deltas were of an
// answer that broke off and is being asked for again: discard them.
type TextDelta struct {
	Text string
}

// ToolStarted reports a tool call about to run.
type ToolStarted struct {
	ID   string
	Name string
	// Args is the JSON text of the arguments as the model wrote it.
	Args string
}

// ToolFinished reports a tool call's outcome.
type ToolFinished struct {
	ID   string
	Name string
	// Result is the start of the text sent back to the model (at most
	// resultPreviewLen bytes), for display.
	Result string
	// Err is the tool's failure, also sent to the model; nil on success.
	Err error
	// Changed lists the files the call staged edits for.
	Changed  []string
	Duration time.Duration
}

// ToolProgress reports how far a running call has got (another MCP
// server's progress notifications), between its ToolStarted and its
// ToolFinished.
type ToolProgress struct {
	ID   string
	Name string
	// Progress of Total (0 when unknown); Message says what it is doing.
	Progress float64
	Total    float64
	Message  string
}

// TurnFinished reports the end of one model call.
type TurnFinished struct {
	Turn int
	// Usage is this turn's token count; Total is the run's so far.
	Usage llm.Usage
	Total llm.Usage
}

// Retrying reports that a failed model call will be tried again after
// Delay. Attempt is the number of the attempt about to be made (2 for the
// first retry), of MaxAttempts in all (0 when unknown).
type Retrying struct {
	Attempt     int
	MaxAttempts int
	Delay       time.Duration
	Err         error
}

// Message is the one line every front end shows for a retry, such as
// "model request failed (503 Service Unavailable); retrying in 2s
// (attempt 2 of 3)": the cause in a few words (llm.Brief), without the
// error's advice, which is for when Loom gives up.
func (r Retrying) Message() string {
	of := ""
	if r.MaxAttempts > 0 {
		of = fmt.Sprintf(" of %d", r.MaxAttempts)
	}
	return fmt.Sprintf("model request failed (%s); retrying in %s (attempt %d%s)", llm.Brief(r.Err), roundDelay(r.Delay), r.Attempt, of)
}

// roundDelay keeps a wait readable: milliseconds under a second, else
// tenths of seconds.
func roundDelay(d time.Duration) time.Duration {
	if d < time.Second {
		return d.Round(time.Millisecond)
	}
	return d.Round(100 * time.Millisecond)
}

// StateChanged reports a move of the state machine from one state to
// another (not emitted for transitions that stay in the same state).
type StateChanged struct {
	From, To State
}

func (TextDelta) Kind() string    { return "text_delta" }
func (ToolStarted) Kind() string  { return "tool_started" }
func (ToolFinished) Kind() string { return "tool_finished" }
func (ToolProgress) Kind() string { return "tool_progress" }
func (TurnFinished) Kind() string { return "turn_finished" }
func (Retrying) Kind() string     { return "retrying" }
func (StateChanged) Kind() string { return "state_changed" }

// resultPreviewLen bounds ToolFinished.Result, which is for display only.
const resultPreviewLen = 200

// preview returns the start of s, cut at a rune boundary, for display.
func preview(s string) string {
	if len(s) <= resultPreviewLen {
		return s
	}
	return s[:runeStart(s, resultPreviewLen)] + "…"
}
