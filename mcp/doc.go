// Package mcp serves Loom over the Model Context Protocol, so that other
// agents and assistants can use it as a sub-agent and as a set of code tools.
//
// It translates and holds no logic of its own: tools/call of a file or
// analysis tool runs the same tools.Registry the agent uses, against a fresh
// changeset, and answers with the tool's text, its data as structured
// content and, for edits, the unified diff; nothing reaches the disk except
// through apply_changes or loom_agent with apply=true, which go through
// workspace.Changeset.Apply (atomic, refused on conflict). loom_agent runs
// the agent through package session, which records the run as a thread
// when the server has a thread store, and turns its events into progress
// notifications; thread_id continues a thread, threads_search and
// thread_show read them through the session too.
//
// Besides tools it serves, one file each: prompts (prompts.go: Loom's
// actions fix, explain, document, write_tests and edit, with the file
// argument completed from the workspace), resources (resources.go: files
// as file:// URIs read through the workspace's confinement, the repo map
// as loom://repomap, threads as loom://threads/ID within the server's
// workspaces; subscriptions.go polls subscribed files and sends
// notifications/resources/updated), logging (logging.go: records at or
// above a client's logging/setLevel sent as notifications/message, secrets
// redacted) and sampling (sampling.go: an llm.Provider over
// sampling/createMessage, so loom_agent runs on the client's model when
// Loom has none or is told to) and elicitation (elicitation.go: without
// --allow-shell, a loom_agent run's commands are put to the client's user,
// and the edit prompt's instruction is asked when not given).
//
// ralph.go hands long jobs to Ralph loops (package ralph): loom_ralph_start,
// once consented to, starts a loop under the server's own context, not the
// request's, and answers with its ID at once; loom_ralph_status reads the
// loop's record and loom_ralph_stop writes its stop request, as `loom ralph
// status|stop` do. Close cancels the loops still running.
//
// The workspace is the set of root folders given to New or, when the client
// declares the roots capability, the client's roots, asked for on every call
// (so a change of roots needs no notification handling). Paths are resolved
// against the root that contains them when absolute, else against the first
// root; nothing outside the roots is reachable.
//
// The transports are mcp-go's: stdio (one JSON-RPC message per line; stdout
// carries nothing else; requests before initialize are refused) and
// streamable HTTP behind an Origin allow-list and a bearer token (unless
// explicitly turned off on loopback), with sessions issued by initialize
// and bound to the token that opened them.
package mcp
