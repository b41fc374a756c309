package lsp

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"go.lsp.dev/jsonrpc2"
	"go.lsp.dev/protocol"

	"github.com/loom-agent/loom/session"
)

// The thread commands, for the editor plugins' thread pickers.
const (
	// CommandSearchThreads takes {"query"} and answers with the matching
	// threads, best first: [{id, title, updated, snippet}].
	CommandSearchThreads = "loom.searchThreads"
	// CommandShowThread takes {"id"} (an ID or unique prefix) and answers
	// with the thread as Markdown (a JSON string).
	CommandShowThread = "loom.showThread"
)

// ThreadHit is one result of loom.searchThreads.
type ThreadHit struct {
	ID    string `json:"id"`
	Title string `json:"title"`
	// Updated is RFC 3339, UTC.
	Updated string `json:"updated"`
	// Snippet is the best-matching passage, matched terms «marked».
	Snippet string `json:"snippet"`
}

// commands lists the commands the server executes: the thread commands
// only when it has a thread database.
func (s *Server) commands() []string {
	if !s.sessions.KeepsThreads() {
		return []string{CommandRun}
	}
	return []string{CommandRun, CommandSearchThreads, CommandShowThread}
}

// errThreads explains to a client why the server has no threads.
func (s *Server) errThreads(command string) error {
	why := "the server was started without a thread database"
	if s.sessions.StoreErr != nil {
		why = s.sessions.StoreErr.Error()
	}
	return jsonrpc2.Errorf(codeRequestFailed, "%s: threads are unavailable: %s", command, why)
}

// resolveThread expands a thread ID or unique prefix for command. An ID
// that names no thread, or several, is the client's mistake:
// InvalidParams.
func (s *Server) resolveThread(ctx context.Context, command, arg string) (string, error) {
	if !s.sessions.KeepsThreads() {
		return "", s.errThreads(command)
	}
	id, err := s.sessions.ResolveThread(ctx, arg)
	if err != nil {
		return "", jsonrpc2.Errorf(jsonrpc2.InvalidParams, "%s: %v", command, err)
	}
	return id, nil
}

// decodeArg decodes a command's single argument object.
func decodeArg(params *protocol.ExecuteCommandParams, v any, shape string) error {
	if len(params.Arguments) == 0 {
		return jsonrpc2.Errorf(jsonrpc2.InvalidParams, "%s: the argument %s is missing", params.Command, shape)
	}
	if err := json.Unmarshal(params.Arguments[0], v); err != nil {
		return jsonrpc2.Errorf(jsonrpc2.InvalidParams, "%s: the argument must be %s: %v", params.Command, shape, err)
	}
	return nil
}

// searchThreads runs loom.searchThreads over every workspace's threads,
// best match first.
func (s *Server) searchThreads(ctx context.Context, params *protocol.ExecuteCommandParams) (protocol.LSPAny, error) {
	if !s.sessions.KeepsThreads() {
		return nil, s.errThreads(params.Command)
	}
	var a struct {
		Query string `json:"query"`
	}
	if err := decodeArg(params, &a, `{"query": "..."}`); err != nil {
		return nil, err
	}
	found, err := s.sessions.SearchThreads(ctx, session.ThreadSearch{Query: a.Query})
	switch {
	case errors.Is(err, session.ErrBadSearch):
		return nil, jsonrpc2.Errorf(jsonrpc2.InvalidParams, "%s: %v", params.Command, err)
	case err != nil:
		return nil, jsonrpc2.Errorf(codeRequestFailed, "%s: %v", params.Command, err)
	}
	hits := make([]ThreadHit, len(found)) // [] rather than null when none match
	for i, h := range found {
		hits[i] = ThreadHit{ID: h.ID, Title: h.Title, Updated: h.Updated.UTC().Format(time.RFC3339), Snippet: h.Snippet}
	}
	return json.Marshal(hits)
}

// showThread runs loom.showThread: the thread as Markdown.
func (s *Server) showThread(ctx context.Context, params *protocol.ExecuteCommandParams) (protocol.LSPAny, error) {
	var a struct {
		ID string `json:"id"`
	}
	if err := decodeArg(params, &a, `{"id": "..."}`); err != nil {
		return nil, err
	}
	id, err := s.resolveThread(ctx, params.Command, a.ID)
	if err != nil {
		return nil, err
	}
	md, err := s.sessions.ThreadMarkdown(ctx, id)
	if err != nil {
		return nil, jsonrpc2.Errorf(codeRequestFailed, "%s: %v", params.Command, err)
	}
	return json.Marshal(md)
}
