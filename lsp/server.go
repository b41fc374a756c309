// Package lsp serves Loom to editors over the Language Server Protocol.
//
// The server is a thin translation layer, one file per feature as in gopls:
// lifecycle.go (initialize, shutdown, exit), sync.go (open buffers kept in the
// workspace overlay), diagnostics.go (tree-sitter syntax errors),
// symbols.go (documentSymbol, workspace/symbol), definition.go
// (definition and references, resolved by scope and imports in resolve),
// codeaction.go
// (the "Loom: …" actions), command.go (workspace/executeCommand loom.run,
// which maps to a session run), threads.go (the loom.searchThreads and
// loom.showThread commands), progress.go (work-done progress), edits.go (a
// changeset as a WorkspaceEdit, sent with workspace/applyEdit) and
// answers.go (a text answer shown as a document). The language knowledge
// lives in analysis, the files in workspace; the agent and the threads are
// reached only through session.
//
// The server never writes the user's files: the agent stages its edits in a
// changeset and the server hands them to the editor with workspace/applyEdit,
// where the user sees, saves or undoes them.
//
// stdout carries the protocol; logs go to the Logger (stderr in loom lsp).
package lsp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime/debug"
	"sync"
	"time"

	"go.lsp.dev/jsonrpc2"
	"go.lsp.dev/protocol"

	"github.com/loom-agent/loom/resolve"
	"github.com/loom-agent/loom/session"
	"github.com/loom-agent/loom/workspace"
)

// Options configure a Server.
type Options struct {
	// NewAgent builds the agent for the workspace once initialize has named
	// the root. It is called at the first loom.run, so a missing model
	// configuration is reported when the user asks for the agent, not when
	// the editor starts the server.
	NewAgent func(ws *workspace.Workspace) (session.Runner, error)
	// Approver is the server's policy for calls of the agent that need
	// consent (commands): session.AlwaysApprove (--allow-shell) or nil,
	// which offers the agent no tool that executes.
	Approver session.Approver
	// Logger receives the server's logs (default: discard).
	Logger *slog.Logger
	// Version is reported in serverInfo.
	Version string
	// DefaultRoot is the workspace root when initialize names none (default
	// the current directory).
	DefaultRoot string
	// Sessions runs loom.run and records its runs as threads (threadId
	// continues one), and serves loom.searchThreads and loom.showThread.
	// Without a thread store (nil, or the database could not be opened:
	// its StoreErr) runs go unrecorded and the thread commands are left
	// out.
	Sessions *session.Service
	// Model names the model in recorded threads.
	Model string
}

// ErrExitWithoutShutdown is returned by Serve when the client sent exit (or
// hung up) without a shutdown request first; the LSP asks for exit code 1.
var ErrExitWithoutShutdown = errors.New("lsp: exit without shutdown")

// Server is one LSP session. Create it with New and run it with Serve.
type Server struct {
	protocol.UnimplementedServer

	opts   Options
	log    *slog.Logger
	conn   jsonrpc2.Conn
	client protocol.Client

	mu       sync.Mutex
	state    state
	ws       *workspace.Workspace
	caps     clientCaps
	docs     map[string]*document // by URI
	agent    session.Runner
	sessions *session.Service
	runs     map[string]context.CancelFunc // work-done token -> cancel
	answers  map[string]string             // loom: URI -> markdown of an answer
	exited   chan struct{}
	nextID   int
	exitOnce sync.Once
	parsed   *resolve.Cache  // parsed Go files, kept between definition requests
	life     context.Context // ends with Serve: for work the server starts itself
}

type state int

const (
	stateNew state = iota
	stateInitialized
	stateShutdown
)

// New returns a server ready to Serve.
func New(opts Options) *Server {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Sessions == nil {
		opts.Sessions = &session.Service{Log: opts.Logger}
	}
	return &Server{
		opts:     opts,
		log:      opts.Logger,
		sessions: opts.Sessions,
		docs:     map[string]*document{},
		runs:     map[string]context.CancelFunc{},
		answers:  map[string]string{},
		exited:   make(chan struct{}),
		parsed:   resolve.NewCache(resolveCacheBytes),
	}
}

// Serve speaks LSP (Content-Length framing) over rwc until the client sends
// exit, hangs up, or ctx ends. It returns nil after shutdown and exit, and
// ErrExitWithoutShutdown when the session ended any other way.
func (s *Server) Serve(ctx context.Context, rwc io.ReadWriteCloser) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	s.mu.Lock()
	s.life = ctx
	s.mu.Unlock()
	s.conn = jsonrpc2.NewConn(newGuardedStream(rwc, s.log), jsonrpc2.WithCodec(codec{}))
	s.client = protocol.ClientDispatcher(s.conn)
	s.conn.Go(ctx, detach(protocol.CancelHandler(s.guard(protocol.ServerHandler(s, jsonrpc2.MethodNotFoundHandler)))))
	select {
	case <-s.exited:
	case <-s.conn.Done():
	case <-ctx.Done():
	}
	// End every run still going, then close; a stuck peer must not keep the
	// process alive, so the close is bounded.
	cancel()
	closed := make(chan struct{})
	go func() { s.conn.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(time.Second):
	}
	s.closeDocs()
	s.mu.Lock()
	clean := s.state == stateShutdown
	s.mu.Unlock()
	if err := s.conn.Err(); err != nil && !clean {
		return fmt.Errorf("lsp: connection: %w", err)
	}
	if !clean {
		return ErrExitWithoutShutdown
	}
	return nil
}

// detach is the outermost middleware. Requests are released to run
// concurrently, which they must be to call back into the client (applyEdit,
// progress); notifications (document sync above all) run in order on the
// read loop. It also keeps contexts safe: jsonrpc2 recycles the context of
// a request handled in line, while a context.WithCancel derived from it may
// still consult it from its own goroutine (a crash in jsonrpc2 v1.0.1). A
// released request is never recycled, and a notification gets the
// connection's context, which it may keep.
func detach(next jsonrpc2.Handler) jsonrpc2.Handler {
	return func(ctx context.Context, req *jsonrpc2.Request) (any, error) {
		if req.IsCall() {
			jsonrpc2.Async(ctx)
		} else {
			ctx = jsonrpc2.DetachContext(ctx)
		}
		return next(ctx, req)
	}
}

// guard applies the lifecycle gate and recovers from panics, so a bug in
// one handler answers that request with an internal error and the session
// goes on.
func (s *Server) guard(next jsonrpc2.Handler) jsonrpc2.Handler {
	return func(ctx context.Context, req *jsonrpc2.Request) (result any, err error) {
		method := req.Method()
		call := req.IsCall()
		if err := s.admit(method, call); err != nil {
			if !call {
				return nil, nil // a notification has no one to tell
			}
			return nil, err
		}
		defer func() {
			if p := recover(); p != nil {
				s.log.Error("lsp: handler panicked", "method", method, "panic", p, "stack", string(debug.Stack()))
				result, err = nil, jsonrpc2.Errorf(jsonrpc2.InternalError, "%s: internal error: %v", method, p)
			}
			if !call {
				// An error from a notification would tear the connection down.
				if err != nil {
					s.log.Warn("lsp: notification failed", "method", method, "err", err)
				}
				result, err = nil, nil
			}
			err = withCode(err)
		}()
		return next(ctx, req)
	}
}

// withCode gives an error a JSON-RPC code (jsonrpc2 writes code 0 for an
// error that carries none): parameters that did not decode are
// InvalidParams, a cancelled request RequestCancelled, any other failure
// RequestFailed.
func withCode(err error) error {
	var coded *jsonrpc2.Error
	switch {
	case err == nil:
		return nil
	case errors.Is(err, jsonrpc2.ErrParse):
		// The body parsed (the stream answers those that do not): what
		// protocol could not decode are the parameters.
		return jsonrpc2.NewError(jsonrpc2.InvalidParams, err.Error())
	case errors.As(err, &coded) && coded.Code != 0:
		return err
	case errors.Is(err, context.Canceled):
		return jsonrpc2.NewError(protocol.CodeRequestCancelled, err.Error())
	}
	return jsonrpc2.NewError(codeRequestFailed, err.Error())
}

// admit applies the lifecycle rules: only initialize (and exit) before
// initialization, nothing but exit after shutdown.
func (s *Server) admit(method string, call bool) error {
	s.mu.Lock()
	st := s.state
	s.mu.Unlock()
	switch {
	case method == protocol.MethodExit, method == protocol.MethodCancelRequest:
		return nil
	case st == stateNew && method != protocol.MethodInitialize:
		return jsonrpc2.Errorf(jsonrpc2.ServerNotInitialized, "%s: the server is not initialized", method)
	case st == stateShutdown:
		return jsonrpc2.Errorf(jsonrpc2.InvalidRequest, "%s: the server is shutting down", method)
	case st == stateInitialized && method == protocol.MethodInitialize:
		return jsonrpc2.Errorf(jsonrpc2.InvalidRequest, "initialize: the server is already initialized")
	}
	return nil
}

// Request answers the methods the protocol package does not know.
func (s *Server) Request(ctx context.Context, method string, params any) (any, error) {
	return nil, jsonrpc2.Errorf(jsonrpc2.MethodNotFound, "%s: method not found", method)
}

// workspace returns the session's workspace (nil before initialize).
func (s *Server) workspace() *workspace.Workspace {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ws
}

// GCPercent is the collector target `loom lsp` runs with unless GOGC is
// set. An editor sends a change and asks for the outline on every
// keystroke, and on a large file each answer allocates a megabyte or more
// while the live heap stays small: at the default (100) the collector runs
// every couple of keystrokes. At 200 it collects half as often, for a
// peak heap at most half again as large.
const GCPercent = 200

// NewClientConn connects an LSP client implementation to a server over rwc,
// with the same context-safe concurrency as the server (protocol.NewClient
// would expose the jsonrpc2 v1.0.1 crash detach avoids). It returns the
// connection and a dispatcher for requests to the server. Tests and the
// benchmark driver use it.
func NewClientConn(ctx context.Context, client protocol.Client, rwc io.ReadWriteCloser) (jsonrpc2.Conn, protocol.Server) {
	conn := jsonrpc2.NewConn(jsonrpc2.NewHeaderStream(rwc), jsonrpc2.WithCodec(codec{}))
	conn.Go(ctx, detach(protocol.CancelHandler(protocol.ClientHandler(client, jsonrpc2.MethodNotFoundHandler))))
	return conn, protocol.ServerDispatcher(conn)
}

// runner returns the agent, building it at first use.
func (s *Server) runner(ws *workspace.Workspace) (session.Runner, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.agent != nil {
		return s.agent, nil
	}
	if s.opts.NewAgent == nil {
		return nil, errors.New("no agent is configured")
	}
	r, err := s.opts.NewAgent(ws)
	if err != nil {
		return nil, err
	}
	s.agent = r
	return r, nil
}
