package agent

import (
	"fmt"
	"time"

	"github.com/loom-agent/loom/llm"
)

// State is where a run's state machine is.
type State string

// The states of a run. Done, Cancelled and Failed are terminal.
const (
	StateWaitingInput   State = "waiting_for_input"
	StateCallingModel   State = "calling_model"
	StateExecutingTools State = "executing_tools"
	StateWaitingRetry   State = "waiting_to_retry"
	StateDone           State = "done"
	StateCancelled      State = "cancelled"
	StateFailed         State = "failed"
)

// Terminal reports whether no transition leaves s.
func (s State) Terminal() bool {
	return s == StateDone || s == StateCancelled || s == StateFailed
}

// StopReason says why a run ended.
type StopReason string

// The reasons a run ends.
const (
	// StopDone: the model gave its final answer.
	StopDone StopReason = "done"
	// StopMaxTurns: Options.MaxTurns model calls were made.
	StopMaxTurns StopReason = "max_turns"
	// StopMaxTokens: the run used Options.MaxTokens tokens.
	StopMaxTokens StopReason = "max_tokens"
	// StopCancelled: the context was cancelled (or its deadline passed).
	StopCancelled StopReason = "cancelled"
	// StopFailed: the model call failed for good (bad key, server down, ...).
	StopFailed StopReason = "failed"
	// StopRefusal: the model declined to answer (its provider's content
	// filter stopped it).
	StopRefusal StopReason = "refusal"
)

// limits are the bounds a run checks before each model call.
type limits struct {
	maxTurns  int
	maxTokens int // 0 = unlimited
	// Retry of an answer that broke off after it started streaming (the
	// llm retry wrapper cannot retry those: it already handed events over).
	maxAttempts int
	baseDelay   time.Duration
	maxDelay    time.Duration
}

// runState is the whole state of a run. step treats it as a value and only
// appends to its slices, never changing their elements, so an earlier
// state's view stays valid (but two steps from the same earlier state would
// append into the same spare capacity: the loop never does that).
type runState struct {
	phase State
	lim   limits

	msgs  []llm.Message // the conversation, system prompt first
	turn  int           // model calls made (retries of one call count once)
	usage llm.Usage     // summed over the run

	// The model call in progress.
	text    []string // text pieces streamed so far
	calls   []llm.ToolCall
	attempt int // 1 for the first try of this call

	final string
	stop  StopReason
	err   error
}

func (s runState) tokens() int { return s.usage.PromptTokens + s.usage.CompletionTokens }

// LogValue keeps debug logs short: the phase and counters, not the messages.
func (s runState) String() string {
	return fmt.Sprintf("%s(turn=%d msgs=%d tokens=%d)", s.phase, s.turn, len(s.msgs), s.tokens())
}

// The events step consumes. Each is a small value type; the loop creates
// them from what the provider and the tools report.
type (
	evStart struct {
		msgs []llm.Message // system prompt, history, the task
		lim  limits
	}
	evTextDelta struct{ text string }
	evToolCall  struct{ call llm.ToolCall }
	// evModelFinished: the stream ended cleanly.
	evModelFinished struct {
		reason llm.FinishReason
		usage  llm.Usage
	}
	// evModelError: the model call failed. retryable is set by the loop
	// only for failures the retry wrapper could not retry itself.
	evModelError struct {
		err       error
		retryable bool
	}
	// evRetryScheduled: the retry wrapper is waiting before another try.
	evRetryScheduled struct {
		attempt int
		delay   time.Duration
		err     error
	}
	evToolsFinished struct{ results []toolResult }
	evCancelled     struct{ err error }
	evLimitReached  struct{ reason StopReason }
)

type event interface{ eventName() string }

func (evStart) eventName() string          { return "start" }
func (evTextDelta) eventName() string      { return "text_delta" }
func (evToolCall) eventName() string       { return "tool_call" }
func (evModelFinished) eventName() string  { return "model_finished" }
func (evModelError) eventName() string     { return "model_error" }
func (evRetryScheduled) eventName() string { return "retry_scheduled" }
func (evToolsFinished) eventName() string  { return "tools_finished" }
func (evCancelled) eventName() string      { return "cancelled" }
func (evLimitReached) eventName() string   { return "limit_reached" }

// toolResult is one answered tool call, in the model's call order.
type toolResult struct {
	call    llm.ToolCall
	text    string // what the model reads (never empty)
	err     error
	changed []string
}

// The actions step asks the loop to perform.
type (
	// actCallModel: send the conversation to the model, after delay.
	actCallModel struct{ delay time.Duration }
	actRunTools  struct{ calls []llm.ToolCall }
	actEmit      struct{ ev Event }
	// actFinish: the run is over; the state holds the result.
	actFinish struct{}
)

type action interface{ actionName() string }

func (actCallModel) actionName() string { return "call_model" }
func (actRunTools) actionName() string  { return "run_tools" }
func (actEmit) actionName() string      { return "emit" }
func (actFinish) actionName() string    { return "finish" }
