package mcpclient

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/loom-agent/loom/tools"
)

// maxResultText bounds the text of one result the model reads: a server's
// answer is not Loom's to trust with the context window.
const maxResultText = 256 << 10

// remoteTool is one tool of an MCP server, offered under its own name.
type remoteTool struct {
	srv    *Server
	remote string // the server's name for it
	spec   tools.Spec
}

// newTool describes t, of server srv, as the tool named name.
func newTool(srv *Server, t mcp.Tool, name string) *remoteTool {
	effect, destructive, idempotent := effectOf(t.Annotations)
	schema, err := json.Marshal(t.InputSchema)
	if t.RawInputSchema != nil {
		schema, err = t.RawInputSchema, nil
	}
	if err != nil || t.InputSchema.Type == "" && t.RawInputSchema == nil {
		schema = json.RawMessage(`{"type":"object"}`)
	}
	desc := strings.TrimSpace(t.Description)
	if desc == "" {
		desc = t.Title
	}
	return &remoteTool{srv: srv, remote: t.Name, spec: tools.Spec{
		Name:        name,
		Description: fmt.Sprintf("[MCP server %s, tool %s] %s", srv.Name, t.Name, desc),
		Schema:      schema,
		Effect:      effect,
		Destructive: destructive,
		Idempotent:  idempotent,
		OwnTimeout:  true,
	}}
}

func (t *remoteTool) Spec() tools.Spec { return t.spec }

// Title names the call as the server and its tool.
func (t *remoteTool) Title(json.RawMessage) string {
	return "MCP " + t.srv.Name + ": " + t.remote
}

// Run calls the tool on its server. A result the server marks as an error
// is the call's error, with its text.
func (t *remoteTool) Run(ctx context.Context, env *tools.Env, args json.RawMessage) (tools.Result, error) {
	var m map[string]any
	if len(strings.TrimSpace(string(args))) > 0 {
		if err := json.Unmarshal(args, &m); err != nil {
			return tools.Result{}, fmt.Errorf("invalid arguments for %s: %v", t.spec.Name, err)
		}
	}
	var progress func(mcp.ProgressNotificationParams)
	if env != nil && env.Progress != nil {
		progress = func(p mcp.ProgressNotificationParams) {
			env.Progress(tools.Progress{Progress: p.Progress, Total: p.Total, Message: p.Message})
		}
	}
	res, err := t.srv.Call(ctx, t.remote, m, progress)
	if err != nil {
		return tools.Result{}, err
	}
	out := tools.Result{Text: resultText(res)}
	if res.StructuredContent != nil {
		out.Data = res.StructuredContent
	}
	if res.IsError {
		return out, errors.New(strings.TrimSpace("the tool failed: " + out.Text))
	}
	return out, nil
}

// resultText is what the model reads of a result: its text, and a line
// for each part it cannot read (an image, a link).
func resultText(res *mcp.CallToolResult) string {
	var parts []string
	for _, c := range res.Content {
		switch c := c.(type) {
		case mcp.TextContent:
			parts = append(parts, c.Text)
		case mcp.ImageContent:
			parts = append(parts, fmt.Sprintf("[an image, %s, %d bytes of base64]", c.MIMEType, len(c.Data)))
		case mcp.AudioContent:
			parts = append(parts, fmt.Sprintf("[audio, %s, %d bytes of base64]", c.MIMEType, len(c.Data)))
		case mcp.ResourceLink:
			parts = append(parts, fmt.Sprintf("[resource %s: %s]", c.Name, c.URI))
		case mcp.EmbeddedResource:
			if r, ok := mcp.AsTextResourceContents(c.Resource); ok {
				parts = append(parts, r.Text)
			} else {
				parts = append(parts, "[an embedded binary resource]")
			}
		default:
			parts = append(parts, fmt.Sprintf("[content of type %T]", c))
		}
	}
	if len(parts) == 0 && res.StructuredContent != nil {
		if b, err := json.Marshal(res.StructuredContent); err == nil {
			parts = append(parts, string(b))
		}
	}
	text := strings.Join(parts, "\n")
	if len(text) > maxResultText {
		text = fmt.Sprintf("%s\n… (%d more bytes left out)", text[:maxResultText], len(text)-maxResultText)
	}
	return text
}
