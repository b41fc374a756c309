package acp

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"

	sdk "github.com/coder/acp-go-sdk"

	"github.com/loom-agent/loom/mcpclient"
	loomsession "github.com/loom-agent/loom/session"
	"github.com/loom-agent/loom/tools"
	"github.com/loom-agent/loom/workspace"
)

// session is one ACP session: a workspace, the model chosen for it, its
// conversation (a thread, or in memory without a store) and the
// permissions the user granted for the rest of the session.
type session struct {
	id  sdk.SessionId
	srv *Server
	// cwd is the root as the client named it: paths sent to the client are
	// built on it, so they match the client's own (ws.Root() has symlinks
	// resolved).
	cwd string
	ws  *workspace.Workspace

	conv *loomsession.Conversation // set before the session is listed
	// mcp are the MCP servers the client gave for this session (nil for
	// none), ended with it; tools describes calls, theirs included.
	mcp   *mcpclient.Set
	tools *tools.Registry

	turn sync.Mutex // held by the prompt in progress: one at a time

	mu      sync.Mutex
	model   string
	cancel  context.CancelFunc
	always  map[permission]bool // "allow always" answers
	current toolCall            // the call a gated tool belongs to
	tr      *translator         // the turn's
	sendMu  sync.Mutex          // keeps a session's updates in order
}

// NewSession opens the workspace at cwd and starts the session's
// conversation, whose ID (its thread's, with a store) becomes the
// session's.
func (s *Server) NewSession(ctx context.Context, p sdk.NewSessionRequest) (sdk.NewSessionResponse, error) {
	sess, err := s.openSession(p.Cwd, s.defaultModel(), p.McpServers)
	if err != nil {
		return sdk.NewSessionResponse{}, requestError(err)
	}
	ok := false
	defer func() {
		if !ok {
			sess.close()
		}
	}()
	// Build an agent once now, so a missing model configuration fails here
	// with its instructions rather than at the first prompt.
	if _, err := s.opts.NewAgent(AgentConfig{Workspace: sess.ws, Model: sess.model}); err != nil {
		return sdk.NewSessionResponse{}, requestError(err)
	}
	conv, err := s.runs.StartConversation(ctx, sess.ws.Root(), sess.model)
	if err != nil {
		return sdk.NewSessionResponse{}, requestError(err)
	}
	sess.conv, sess.id = conv, sdk.SessionId(conv.ID())
	s.mu.Lock()
	s.sessions[sess.id] = sess
	s.mu.Unlock()
	ok = true
	return sdk.NewSessionResponse{SessionId: sess.id, ConfigOptions: sess.configOptions()}, nil
}

// openSession checks cwd (absolute, an existing folder) and the MCP
// servers the client gave, and opens it.
func (s *Server) openSession(cwd, model string, servers []sdk.McpServer) (*session, error) {
	if !filepath.IsAbs(cwd) {
		return nil, sdk.NewInvalidParams(map[string]any{"error": fmt.Sprintf("cwd %q is not an absolute path", cwd)})
	}
	ws, err := workspace.New(cwd)
	if err != nil {
		return nil, sdk.NewInvalidParams(map[string]any{"error": err.Error()})
	}
	set, err := s.sessionServers(ws.Root(), servers)
	if err != nil {
		return nil, err
	}
	reg, err := sessionTools(s.opts.Tools, set)
	if err != nil {
		return nil, err
	}
	return &session{srv: s, cwd: filepath.Clean(cwd), ws: ws, model: model, always: map[permission]bool{},
		mcp: set, tools: reg}, nil
}

// close ends the session's own MCP servers.
func (sess *session) close() {
	if sess.mcp != nil {
		sess.mcp.Close()
	}
}

// abs is the absolute path of a workspace-relative path, as the client
// names it.
func (sess *session) abs(rel string) string { return absUnder(sess.cwd)(rel) }

// send delivers one update. It ignores the turn's cancellation: the
// updates that close a cancelled turn (failed tool calls) must still go
// out before its answer.
func (sess *session) send(ctx context.Context, u sdk.SessionUpdate) {
	sess.sendMu.Lock()
	defer sess.sendMu.Unlock()
	err := sess.srv.peer().SessionUpdate(context.WithoutCancel(ctx), sdk.SessionNotification{SessionId: sess.id, Update: u})
	if err != nil {
		sess.srv.log.Warn("acp: session/update failed", "session", sess.id, "err", err)
	}
}

// cancelTurn cancels the prompt in progress, if any.
func (sess *session) cancelTurn() {
	sess.mu.Lock()
	defer sess.mu.Unlock()
	if sess.cancel != nil {
		sess.cancel()
	}
}

// beginTurn registers the prompt's cancel, for session/cancel, and
// returns the model the turn runs on and the function that ends the turn.
func (sess *session) beginTurn(cancel context.CancelFunc) (model string, end func()) {
	sess.mu.Lock()
	defer sess.mu.Unlock()
	sess.cancel = cancel
	return sess.model, func() {
		sess.mu.Lock()
		sess.cancel = nil
		sess.mu.Unlock()
	}
}
