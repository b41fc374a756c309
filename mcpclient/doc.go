// Package mcpclient lets Loom's agent use other MCP servers' tools. It
// reads the servers from the mcpServers lists desktop assistants use (in
// Loom's config file, and per repository in .loom/mcp.json, started only
// once the user trusted that file), connects to each with mcp-go's client
// on the first use of its tools (stdio or streamable HTTP), and offers
// their tools as tools.Tool values through a tools.Source:
//
//   - names: server__tool, cut to 64 characters with a hash suffix when
//     too long or when two would collide (names.go);
//   - effects: from the tool's annotations (effect.go): read-only and
//     closed world is a read, run in parallel without asking; anything
//     else takes effect outside the changeset, so it is an execute the
//     approver is asked about;
//   - calls: time out when the server falls silent for too long (progress
//     notifications reset the clock), report progress through tools.Env,
//     and are cancelled on the server (notifications/cancelled, sent by
//     mcp-go when the call's context ends) when the run is;
//   - a server that stopped fails the calls in flight with a tool error
//     and is started again, after a growing delay, at the next call;
//   - notifications/tools/list_changed makes the server's list be read
//     again, which the next run sees.
//   - an HTTP server that asks for OAuth is signed in to once (Login, on
//     mcp-go's handler), its tokens kept in a 0600 file bound to its URL
//     and refreshed by mcp-go (oauth.go);
//   - an ACP session's own servers are a Set of their own (NewSet);
//   - other assistants' lists (Claude Desktop, Claude Code, Codex) are
//     read by ReadAssistant and merged into Loom's config file by Import.
//
// It sits beside tools, below the agent: it imports no session, agent or
// front end.
package mcpclient
