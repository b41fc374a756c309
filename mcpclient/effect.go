package mcpclient

import (
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/loom-agent/loom/tools"
)

// effectOf maps a tool's annotations to what Loom's front ends derive
// everything from. MCP's hints default to the worst case (a tool that
// says nothing may modify, destroy and reach the outside world), and an
// MCP tool's change never goes into Loom's changeset, so:
//
//   - readOnlyHint true, openWorldHint not true: EffectRead (the agent
//     runs it beside other reads, without asking);
//   - anything else: EffectExecute, so the approver asks first. That
//     includes a read-only tool that declares an open world: what it
//     sends out (a URL it fetches, a query) can carry the workspace's
//     secrets away, so the user sees the call first.
//
// Destructive follows destructiveHint (default true) for tools that are
// not read-only; Idempotent follows idempotentHint.
func effectOf(a mcp.ToolAnnotation) (effect tools.Effect, destructive, idempotent bool) {
	readOnly := a.ReadOnlyHint != nil && *a.ReadOnlyHint
	openWorld := a.OpenWorldHint != nil && *a.OpenWorldHint
	idempotent = a.IdempotentHint != nil && *a.IdempotentHint
	if readOnly && !openWorld {
		return tools.EffectRead, false, idempotent
	}
	destructive = !readOnly && (a.DestructiveHint == nil || *a.DestructiveHint)
	return tools.EffectExecute, destructive, idempotent
}
