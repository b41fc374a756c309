// Package agent runs Loom's coding loop: ask the model (llm.Provider,
// streaming), run the tool calls it makes (tools.Registry), feed the results
// back, and repeat until the model answers without tool calls, a limit is
// hit, or the context is cancelled.
//
// The loop is an explicit state machine. A pure transition function,
// step(state, event) (state, []action), decides everything; loop.go only
// performs the actions it returns (call the model, run tools, emit an
// event, finish) and feeds what happened back in as events. Every
// transition is logged at debug level.
//
// Edits made by tools are staged in the run's workspace.Changeset and come
// back in Result.Changes; the agent never writes to disk. Applying is a
// separate, explicit step for the caller.
//
// Progress streams out through the onEvent callback of Agent.Run as values
// of the Event interface (TextDelta, ToolStarted, ToolFinished,
// TurnFinished, Retrying, StateChanged); front ends type-switch on them.
//
// The package depends only on llm, tools and workspace: front ends pass
// anything else (a repository map, for instance) in through Options.
package agent
