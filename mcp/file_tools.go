package mcp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	mcpgo "github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/loom-agent/loom/tools"
	"github.com/loom-agent/loom/workspace"
)

// editOutputSchema describes tools.EditData, the result of every tool that
// stages an edit.
var editOutputSchema = json.RawMessage(`{"type":"object","properties":{
"changed":{"type":"array","items":{"type":"string"},"description":"files the edit touches, relative to the root"},
"diff":{"type":"string","description":"unified diff of the edit (git style); nothing was written"}},
"required":["changed","diff"]}`)

// registryTool exposes one registry tool. Each call gets a fresh changeset
// that is dropped afterwards, so an editing tool writes nothing and answers
// with the diff of its edit.
func (s *Server) registryTool(t tools.Tool) server.ServerTool {
	sp := t.Spec()
	tool := mcpgo.Tool{
		Name:           sp.Name,
		Description:    sp.Description,
		RawInputSchema: sp.Schema,
		Annotations:    annotations(sp),
	}
	if sp.Effect.Stages() { // into a changeset this server never applies
		tool.Description += " Over MCP nothing is written: the result is the diff of the edit against the disk " +
			"(each call starts from the disk, not from earlier calls). Apply it with apply_changes."
		tool.RawOutputSchema = editOutputSchema
	}
	return server.ServerTool{Tool: tool, Handler: func(ctx context.Context, req mcpgo.CallToolRequest) (*mcpgo.CallToolResult, error) {
		raw, err := rawArgs(req)
		if err != nil {
			return mcpgo.NewToolResultError(err.Error()), nil
		}
		ws, ask, err := s.workspaceFor(ctx, req, tools.Paths(t, raw))
		if ask != nil || err != nil {
			return ask, err
		}
		env := &tools.Env{Changes: ws.NewChangeset(), Approver: s.opts.Approver}
		res, err := s.reg.Run(ctx, env, sp.Name, raw)
		if err != nil {
			return mcpgo.NewToolResultError(err.Error()), nil
		}
		return toolResult(res), nil
	}}
}

// annotations derives MCP's hints from a tool's effect, as a call works
// over MCP. The specification's readOnlyHint means "does not modify its
// environment", and destructiveHint and idempotentHint mean something only
// when readOnlyHint is false. Over MCP a staging tool (an edit, move or
// delete) stages into a changeset that is thrown away and answers with a
// diff: it modifies nothing, so it is read-only, and not destructive (the
// hint would be meaningless, and claiming both contradicts itself). What
// writes is apply_changes (and loom_agent with apply), annotated
// destructive. A tool that executes commands modifies the machine
// directly: not read-only, destructive and idempotent as its spec says,
// and open world (a command can reach anything the user can).
func annotations(sp tools.Spec) mcpgo.ToolAnnotation {
	modifies := !sp.Effect.ReadOnly() && !sp.Effect.Stages()
	return mcpgo.ToolAnnotation{
		ReadOnlyHint:    mcpgo.ToBoolPtr(!modifies),
		DestructiveHint: mcpgo.ToBoolPtr(modifies && sp.Destructive),
		IdempotentHint:  mcpgo.ToBoolPtr(!modifies || sp.Idempotent),
		OpenWorldHint:   mcpgo.ToBoolPtr(sp.Effect.OpenWorld()),
	}
}

// rawArgs returns a call's arguments as JSON text ("{}" when absent).
func rawArgs(req mcpgo.CallToolRequest) (json.RawMessage, error) {
	if raw := bytes.TrimSpace(req.Params.RawArguments); len(raw) > 0 && !bytes.Equal(raw, []byte("null")) {
		return raw, nil
	}
	if req.Params.Arguments == nil {
		return json.RawMessage("{}"), nil
	}
	raw, err := json.Marshal(req.Params.Arguments)
	if err != nil {
		return nil, fmt.Errorf("arguments: %v", err)
	}
	return raw, nil
}

// toolResult answers with the tool's text and, when its data is a JSON
// object, that object as structured content.
func toolResult(res tools.Result) *mcpgo.CallToolResult {
	out := mcpgo.NewToolResultText(res.Text)
	if res.Data == nil {
		return out
	}
	b, err := json.Marshal(res.Data)
	if err != nil || !bytes.HasPrefix(b, []byte("{")) {
		return out
	}
	out.StructuredContent = json.RawMessage(b)
	return out
}

type applyChangesArgs struct {
	Diff string `json:"diff"`
}

// applyChangesTool applies a unified diff to disk: parsed and staged in a
// changeset, then written all or nothing, refused if any file it touches
// changed since the diff was made.
func (s *Server) applyChangesTool() server.ServerTool {
	tool := mcpgo.Tool{
		Name: "apply_changes",
		Description: "Apply a unified diff (as returned by loom_agent and the editing tools, or git diff) to the files on disk, " +
			"atomically: every file is written or none is. Refused, with nothing written, if a file the diff touches no longer " +
			"matches the diff's context (it changed on disk since the diff was made). Paths are relative to the first root.",
		RawInputSchema: json.RawMessage(`{"type":"object","properties":{
"diff":{"type":"string","description":"the unified diff to apply"}},
"required":["diff"],"additionalProperties":false}`),
		RawOutputSchema: json.RawMessage(`{"type":"object","properties":{
"applied":{"type":"boolean"},
"files":{"type":"array","items":{"type":"string"},"description":"files written, relative to the root"}},
"required":["applied","files"]}`),
		Annotations: mcpgo.ToolAnnotation{
			ReadOnlyHint:    mcpgo.ToBoolPtr(false),
			DestructiveHint: mcpgo.ToBoolPtr(true),
			IdempotentHint:  mcpgo.ToBoolPtr(false),
			OpenWorldHint:   mcpgo.ToBoolPtr(false),
		},
	}
	return server.ServerTool{Tool: tool, Handler: func(ctx context.Context, req mcpgo.CallToolRequest) (*mcpgo.CallToolResult, error) {
		raw, err := rawArgs(req)
		if err != nil {
			return mcpgo.NewToolResultError(err.Error()), nil
		}
		var a applyChangesArgs
		if err := decodeStrict(raw, &a); err != nil {
			return mcpgo.NewToolResultError("invalid arguments for apply_changes: " + err.Error()), nil
		}
		if strings.TrimSpace(a.Diff) == "" {
			return mcpgo.NewToolResultError(`invalid arguments for apply_changes: "diff" is required`), nil
		}
		ws, ask, err := s.workspaceFor(ctx, req, nil)
		if ask != nil || err != nil {
			return ask, err
		}
		files, err := applyDiff(ws, a.Diff)
		if err != nil {
			return mcpgo.NewToolResultError(err.Error()), nil
		}
		s.log.Info("mcp: applied changes", "files", files)
		return mcpgo.NewToolResultStructured(
			map[string]any{"applied": true, "files": files},
			fmt.Sprintf("Applied to disk: %s.", strings.Join(files, ", ")),
		), nil
	}}
}

// applyDiff stages a diff against the disk and applies it, returning the
// files written. A diff that does not fit the files, or a file that changed
// on disk after staging, writes nothing.
func applyDiff(ws *workspace.Workspace, diff string) ([]string, error) {
	cs := ws.NewChangeset()
	if _, err := cs.ApplyPatch(diff); err != nil {
		return nil, fmt.Errorf("the diff does not apply, nothing was written: %w", err)
	}
	applied, err := cs.Apply()
	if err != nil {
		var conflict *workspace.ConflictError
		if errors.As(err, &conflict) {
			return nil, err // its message already says nothing was written
		}
		return nil, fmt.Errorf("applying the diff: %w", err)
	}
	return changedPaths(applied), nil
}

// changedPaths lists the files of a set of changes (both names of a move).
func changedPaths(changes []workspace.FileChange) []string {
	out := []string{}
	for _, ch := range changes {
		out = append(out, ch.Path)
		if ch.NewPath != "" && ch.NewPath != ch.Path {
			out = append(out, ch.NewPath)
		}
	}
	return out
}

// decodeStrict decodes a JSON object, refusing unknown fields so a
// misspelt argument is reported rather than ignored.
func decodeStrict(raw json.RawMessage, v any) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("trailing data after the JSON object")
	}
	return nil
}
