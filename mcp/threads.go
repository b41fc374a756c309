package mcp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	mcpgo "github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/loom-agent/loom/session"
)

// Search result bounds: a client's context is precious, so the default is
// smaller than the CLI's.
const (
	defaultSearchLimit = 20
	maxSearchLimit     = 200
)

// threadsUnavailable says why this server keeps no threads, for a call
// that needs them.
func (s *Server) threadsUnavailable() string {
	if err := s.runs.StoreErr; err != nil {
		return "threads are unavailable on this server: " + err.Error()
	}
	return "threads are unavailable on this server: it was started without a thread database"
}

// threadScope returns the root folders whose threads this call may see:
// the server's workspace roots (the client's, when it offers them). Other
// projects' threads on the machine are not this client's business. When
// the client has to be asked for its roots first, it returns the result
// to answer the call with instead.
func (s *Server) threadScope(ctx context.Context, req mcpgo.CallToolRequest) ([]string, *mcpgo.CallToolResult, error) {
	roots, ask, err := s.currentRoots(ctx, req)
	if err != nil || ask != nil {
		return nil, ask, err
	}
	scope := make([]string, len(roots))
	for i, r := range roots {
		scope[i] = r.real // threads record the root with symlinks resolved
	}
	return scope, nil, nil
}

// resolveThread expands a thread ID or unique prefix to the ID of a thread
// in scope; the error is the message for the client. A thread of another
// workspace is unknown, exactly as one that does not exist. The store must
// be open.
func (s *Server) resolveThread(ctx context.Context, arg string, scope []string) (string, error) {
	id, err := s.runs.ResolveThreadIn(ctx, arg, scope)
	switch {
	case errors.Is(err, session.ErrNoThread):
		return "", fmt.Errorf("thread %q is unknown: no thread of this workspace has that ID or ID prefix (threads_search finds earlier threads)", arg)
	case err != nil:
		return "", fmt.Errorf("thread %q: %v", arg, err)
	}
	return id, nil
}

type searchArgs struct {
	Query     string `json:"query"`
	Workspace string `json:"workspace,omitempty"`
	Status    string `json:"status,omitempty"`
	Since     string `json:"since,omitempty"`
	Limit     int    `json:"limit,omitempty"`
}

// SearchHit is one threads_search result.
type SearchHit struct {
	ID        string `json:"id"`
	Title     string `json:"title"`
	Workspace string `json:"workspace"`
	Status    string `json:"status"`
	// Updated is RFC 3339, UTC.
	Updated string `json:"updated"`
	Turns   int    `json:"turns"`
	// Snippet is the best-matching passage, matched terms «marked».
	Snippet string `json:"snippet"`
}

func (s *Server) threadsSearchTool() server.ServerTool {
	statuses, _ := json.Marshal(session.ThreadStatuses())
	tool := mcpgo.Tool{
		Name: "threads_search",
		Description: "Search the threads (conversations) of earlier agent runs in this server's workspace roots, by " +
			"loom_agent and Loom's other front ends, by title, message text and tool names, best match first. " +
			"Threads of other folders are not visible here. Pass a hit's id to thread_show to read it, or to " +
			"loom_agent's thread_id to continue it.",
		RawInputSchema: json.RawMessage(`{"type":"object","properties":{
"query":{"type":"string","description":"words (all must match), \"exact phrases\", prefix*, OR, NOT; title:, body:, tools: restrict to a column"},
"workspace":{"type":"string","description":"only threads of this workspace root (one of the server's roots): absolute, or relative to the first root (\".\" for it)"},
"status":{"type":"string","enum":` + string(statuses) + `,"description":"only threads whose latest run ended so"},
"since":{"type":"string","description":"only threads updated since: a duration (36h, 7d), a date (2026-01-31) or an RFC 3339 time"},
"limit":{"type":"integer","minimum":1,"maximum":` + strconv.Itoa(maxSearchLimit) + `,"description":"at most this many threads (default ` + strconv.Itoa(defaultSearchLimit) + `)"}},
"required":["query"],"additionalProperties":false}`),
		RawOutputSchema: json.RawMessage(`{"type":"object","properties":{
"hits":{"type":"array","items":{"type":"object","properties":{
"id":{"type":"string"},"title":{"type":"string"},"workspace":{"type":"string"},"status":{"type":"string"},
"updated":{"type":"string","description":"RFC 3339"},"turns":{"type":"integer"},
"snippet":{"type":"string","description":"the best-matching passage, matched terms «marked»"}},
"required":["id","title","workspace","status","updated","turns","snippet"]}}},
"required":["hits"]}`),
		Annotations: readOnlyLocal(),
	}
	return server.ServerTool{Tool: tool, Handler: s.searchThreads}
}

// readOnlyLocal annotates a tool that only reads Loom's own data.
func readOnlyLocal() mcpgo.ToolAnnotation {
	return mcpgo.ToolAnnotation{
		ReadOnlyHint:    mcpgo.ToBoolPtr(true),
		DestructiveHint: mcpgo.ToBoolPtr(false),
		IdempotentHint:  mcpgo.ToBoolPtr(true),
		OpenWorldHint:   mcpgo.ToBoolPtr(false),
	}
}

func (s *Server) searchThreads(ctx context.Context, req mcpgo.CallToolRequest) (*mcpgo.CallToolResult, error) {
	raw, err := rawArgs(req)
	if err != nil {
		return mcpgo.NewToolResultError(err.Error()), nil
	}
	var a searchArgs
	if err := decodeStrict(raw, &a); err != nil {
		return mcpgo.NewToolResultError("invalid arguments for threads_search: " + err.Error()), nil
	}
	q := session.ThreadSearch{Query: a.Query, Status: a.Status, Since: a.Since, Limit: defaultSearchLimit}
	switch {
	case strings.TrimSpace(a.Query) == "":
		return mcpgo.NewToolResultError(`invalid arguments for threads_search: "query" is required`), nil
	case a.Limit < 0 || a.Limit > maxSearchLimit:
		return mcpgo.NewToolResultError(fmt.Sprintf("invalid arguments for threads_search: limit %d: want 1 to %d", a.Limit, maxSearchLimit)), nil
	case a.Limit > 0:
		q.Limit = a.Limit
	}
	scope, ask, err := s.threadScope(ctx, req)
	if ask != nil || err != nil {
		return ask, err
	}
	q.Workspaces = scope
	if a.Workspace != "" {
		dir := a.Workspace
		if !filepath.IsAbs(dir) {
			dir = filepath.Join(scope[0], dir)
		}
		// Threads record the root with symlinks resolved.
		dir = filepath.Clean(dir)
		if real, err := filepath.EvalSymlinks(dir); err == nil {
			dir = real
		}
		if !slices.Contains(scope, dir) {
			return mcpgo.NewToolResultError(fmt.Sprintf("invalid arguments for threads_search: workspace %q is not one of this server's roots (%s); "+
				"only their threads are visible here", a.Workspace, strings.Join(scope, ", "))), nil
		}
		q.Workspaces = []string{dir}
	}
	found, err := s.runs.SearchThreads(ctx, q)
	switch {
	case errors.Is(err, session.ErrBadSearch):
		return mcpgo.NewToolResultError("invalid arguments for threads_search: " + err.Error()), nil
	case err != nil:
		return mcpgo.NewToolResultError(err.Error()), nil
	}
	hits := make([]SearchHit, len(found))
	var b strings.Builder
	for i, h := range found {
		hits[i] = SearchHit{ID: h.ID, Title: h.Title, Workspace: h.Workspace, Status: h.Status,
			Updated: h.Updated.UTC().Format(time.RFC3339), Turns: h.Turns, Snippet: h.Snippet}
		fmt.Fprintf(&b, "%s  %s  %s  %s\n    %s\n", h.ID, hits[i].Updated, h.Status, h.Title, h.Snippet)
	}
	if len(hits) == 0 {
		b.WriteString("No threads match.")
	}
	return mcpgo.NewToolResultStructured(map[string]any{"hits": hits}, strings.TrimRight(b.String(), "\n")), nil
}

func (s *Server) threadShowTool() server.ServerTool {
	tool := mcpgo.Tool{
		Name: "thread_show",
		Description: "Read a thread of earlier agent runs in this server's workspace roots as Markdown: its facts " +
			"(workspace, model, status, tokens), every instruction, answer, tool call and result, and the diff of its latest run.",
		RawInputSchema: json.RawMessage(`{"type":"object","properties":{
"id":{"type":"string","description":"the thread's ID or a unique prefix of it, as loom_agent or threads_search returned"}},
"required":["id"],"additionalProperties":false}`),
		Annotations: readOnlyLocal(),
	}
	return server.ServerTool{Tool: tool, Handler: s.showThread}
}

func (s *Server) showThread(ctx context.Context, req mcpgo.CallToolRequest) (*mcpgo.CallToolResult, error) {
	raw, err := rawArgs(req)
	if err != nil {
		return mcpgo.NewToolResultError(err.Error()), nil
	}
	var a struct {
		ID string `json:"id"`
	}
	if err := decodeStrict(raw, &a); err != nil {
		return mcpgo.NewToolResultError("invalid arguments for thread_show: " + err.Error()), nil
	}
	if strings.TrimSpace(a.ID) == "" {
		return mcpgo.NewToolResultError(`invalid arguments for thread_show: "id" is required`), nil
	}
	scope, ask, err := s.threadScope(ctx, req)
	if ask != nil || err != nil {
		return ask, err
	}
	id, err := s.resolveThread(ctx, strings.TrimSpace(a.ID), scope)
	if err != nil {
		return mcpgo.NewToolResultError(err.Error()), nil
	}
	md, err := s.runs.ThreadMarkdown(ctx, id)
	if err != nil {
		return mcpgo.NewToolResultError(fmt.Sprintf("reading thread %s: %v", id, err)), nil
	}
	return mcpgo.NewToolResultText(md), nil
}
