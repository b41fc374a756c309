package session

import "github.com/loom-agent/loom/agent"

// The events of a run, as Request.Observe receives them, and the reasons a
// run stops. They are the agent's own types under the session's names, so
// that a front end observes a run through the session alone (the import
// rule of internal/layers). Aliases rather than copies: the session adds
// nothing to an event and hides nothing from it, so a translated copy
// would be code that only has to follow the agent's; with aliases a field
// the agent adds reaches every front end, and a type switch over them
// stays exhaustive against the agent's own set.
type (
	// Event is one item of a run's progress (agent.Event): one of the
	// types below, or a state change front ends do not show.
	Event = agent.Event
	// TextDelta is a piece of the model's answer as it streams in.
	TextDelta = agent.TextDelta
	// ToolStarted reports a tool call about to run.
	ToolStarted = agent.ToolStarted
	// ToolFinished reports a tool call's outcome.
	ToolFinished = agent.ToolFinished
	// ToolProgress reports how far a running call has got.
	ToolProgress = agent.ToolProgress
	// TurnFinished reports the end of one model call, with its usage.
	TurnFinished = agent.TurnFinished
	// Retrying reports a failed model call about to be tried again; the
	// text streamed since the turn began belonged to the answer that
	// broke off.
	Retrying = agent.Retrying
	// StopReason says why a run stopped (Outcome.StopReason).
	StopReason = agent.StopReason
)

// The reasons a run stops.
const (
	// StopDone: the model answered without tool calls (Outcome.Finished).
	StopDone = agent.StopDone
	// StopMaxTurns and StopMaxTokens: the run hit a limit first.
	StopMaxTurns  = agent.StopMaxTurns
	StopMaxTokens = agent.StopMaxTokens
	// StopCancelled: the run's context ended it.
	StopCancelled = agent.StopCancelled
	// StopFailed: a model call failed for good (Outcome.Err says why).
	StopFailed = agent.StopFailed
	// StopRefusal: the model refused the task.
	StopRefusal = agent.StopRefusal
)
