package acp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"

	"github.com/loom-agent/loom/internal/jsonrpcline"
	"github.com/loom-agent/loom/internal/rpcdrain"

	sdk "github.com/coder/acp-go-sdk"

	loomsession "github.com/loom-agent/loom/session"
	"github.com/loom-agent/loom/tools"
	"github.com/loom-agent/loom/workspace"
)

// AgentConfig is what a session asks Options.NewAgent for.
type AgentConfig struct {
	Workspace *workspace.Workspace
	// Tools are Loom's tools with those that touch files or run commands
	// wrapped to go through the client and its permission requests.
	Tools *tools.Registry
	// Model is the model chosen in the session's model option.
	Model string
}

// Options configure a Server.
type Options struct {
	// Name and Version describe Loom in the initialize answer.
	Name, Version string
	// NewAgent builds the agent a prompt runs on. An error (no model
	// configured, say) fails session/new with its message.
	NewAgent func(AgentConfig) (loomsession.Runner, error)
	// Models are the choices of the session's model option; the first is
	// the default. With none (no model configured) sessions have no model
	// option and NewAgent is asked for model "".
	Models []string
	// Tools are the agent's tools (default: Loom's built-in tools). How
	// each is shown, gated and read through the client follows from its
	// spec.
	Tools *tools.Registry
	// AllowShell lets the agent run commands with Loom's own shell tool
	// when the client has no terminal (always behind a permission request).
	AllowShell bool
	// Sessions runs the prompts and keeps each session as a thread, which
	// session/load reopens; without a thread store (nil, or one without
	// Store) sessions live in memory and session/load is not offered.
	Sessions *loomsession.Service
	// Logger receives diagnostics (default: discard); never stdout.
	Logger *slog.Logger
}

// Server is an ACP agent: it implements the SDK's Agent interface.
type Server struct {
	unsupported

	opts  Options
	log   *slog.Logger
	conn  client        // set once by Serve, before ready closes
	ready chan struct{} // closed when conn is set
	pace  *pacer        // set once by Serve, before the connection starts
	runs  *loomsession.Service

	mu       sync.Mutex
	caps     sdk.ClientCapabilities
	sessions map[sdk.SessionId]*session
	running  sync.WaitGroup // prompts in progress
}

// Compile-time checks that the SDK sees the methods it dispatches to.
var (
	_ sdk.Agent                  = (*Server)(nil)
	_ sdk.AgentLoader            = (*Server)(nil)
	_ sdk.ExtensionMethodHandler = (*Server)(nil)
)

// New checks opts and returns a server not yet connected.
func New(opts Options) (*Server, error) {
	if opts.NewAgent == nil {
		return nil, errors.New("acp: Options.NewAgent is required")
	}
	if slices.Contains(opts.Models, "") {
		return nil, errors.New("acp: Options.Models has an empty name")
	}
	if opts.Name == "" {
		opts.Name = "loom"
	}
	if opts.Tools == nil {
		reg, err := tools.NewBuiltinRegistry()
		if err != nil {
			return nil, fmt.Errorf("acp: %w", err)
		}
		opts.Tools = reg
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Sessions == nil {
		opts.Sessions = &loomsession.Service{Log: opts.Logger}
	}
	return &Server{opts: opts, log: opts.Logger, ready: make(chan struct{}), sessions: map[sdk.SessionId]*session{},
		runs: opts.Sessions}, nil
}

// Serve speaks ACP on in and out (one JSON message per line) until the
// client closes in and every request read is answered, or ctx ends; then it
// cancels the turns in progress and waits for them to be recorded.
func (s *Server) Serve(ctx context.Context, in io.Reader, out io.Writer) error {
	// The SDK cancels every request still running when its input ends:
	// hold the end back until every request read is answered, so a client
	// that writes its requests and closes its end gets every answer.
	//
	// Before the SDK, the input is guarded: a line it cannot parse, or too
	// long for it, is answered and skipped, and notifications are paced,
	// where the SDK would end the connection (and log the raw line).
	answers := rpcdrain.New("$/cancel_request")
	out = jsonrpcline.Locked(out)
	stop := make(chan struct{})
	s.pace = newPacer(stop)
	conn := sdk.NewAgentSideConnection(s, answers.Writer(out), answers.Reader(ctx, s.guardInput(in, out)))
	conn.SetLogger(s.log)
	s.attach(conn)
	select {
	case <-conn.Done():
	case <-ctx.Done():
	}
	close(stop)
	s.mu.Lock()
	for _, sess := range s.sessions {
		sess.cancelTurn()
	}
	s.mu.Unlock()
	s.running.Wait()
	s.mu.Lock()
	for _, sess := range s.sessions {
		sess.close()
	}
	s.mu.Unlock()
	return nil
}

// Initialize answers with Loom's identity and capabilities and keeps the
// client's, which decide whether files and commands go through it.
func (s *Server) Initialize(ctx context.Context, p sdk.InitializeRequest) (sdk.InitializeResponse, error) {
	s.mu.Lock()
	s.caps = p.ClientCapabilities
	s.mu.Unlock()
	if p.ClientInfo != nil {
		s.log.Info("acp: client connected", "client", p.ClientInfo.Name, "version", p.ClientInfo.Version,
			"fs_read", p.ClientCapabilities.Fs.ReadTextFile, "fs_write", p.ClientCapabilities.Fs.WriteTextFile,
			"terminal", p.ClientCapabilities.Terminal)
	}
	return sdk.InitializeResponse{
		ProtocolVersion: sdk.ProtocolVersionNumber,
		AgentInfo:       &sdk.Implementation{Name: s.opts.Name, Title: sdk.Ptr("Loom"), Version: s.opts.Version},
		AuthMethods:     []sdk.AuthMethod{}, // the model's key comes from Loom's configuration
		AgentCapabilities: sdk.AgentCapabilities{
			LoadSession:        s.runs.KeepsThreads(),
			PromptCapabilities: sdk.PromptCapabilities{EmbeddedContext: true},
			// session/new's MCP servers: stdio (always) and streamable HTTP.
			McpCapabilities: sdk.McpCapabilities{Http: true},
		},
	}, nil
}

// Authenticate is never needed: no auth methods are offered.
func (s *Server) Authenticate(ctx context.Context, p sdk.AuthenticateRequest) (sdk.AuthenticateResponse, error) {
	return sdk.AuthenticateResponse{}, nil
}

// Cancel needs nothing more: the SDK has already cancelled the prompt's
// context, which ends the agent's run with StopCancelled.
func (s *Server) Cancel(ctx context.Context, p sdk.CancelNotification) error {
	if sess, err := s.session(p.SessionId); err == nil {
		sess.cancelTurn()
	}
	return nil
}

// client is the part of the SDK's connection a session calls; an
// interface so tests can stand in for an editor.
type client interface {
	SessionUpdate(context.Context, sdk.SessionNotification) error
	RequestPermission(context.Context, sdk.RequestPermissionRequest) (sdk.RequestPermissionResponse, error)
	ReadTextFile(context.Context, sdk.ReadTextFileRequest) (sdk.ReadTextFileResponse, error)
	WriteTextFile(context.Context, sdk.WriteTextFileRequest) (sdk.WriteTextFileResponse, error)
	CreateTerminal(context.Context, sdk.CreateTerminalRequest) (sdk.CreateTerminalResponse, error)
	TerminalOutput(context.Context, sdk.TerminalOutputRequest) (sdk.TerminalOutputResponse, error)
	WaitForTerminalExit(context.Context, sdk.WaitForTerminalExitRequest) (sdk.WaitForTerminalExitResponse, error)
	KillTerminal(context.Context, sdk.KillTerminalRequest) (sdk.KillTerminalResponse, error)
	ReleaseTerminal(context.Context, sdk.ReleaseTerminalRequest) (sdk.ReleaseTerminalResponse, error)
}

// attach sets the connection sessions talk to; called once.
func (s *Server) attach(c client) {
	s.conn = c
	close(s.ready)
}

// peer returns the connection, waiting for Serve to have set it: the SDK
// starts reading requests before NewAgentSideConnection returns.
func (s *Server) peer() client {
	<-s.ready
	return s.conn
}

// defaultModel is the model a new session starts with.
func (s *Server) defaultModel() string {
	if len(s.opts.Models) == 0 {
		return ""
	}
	return s.opts.Models[0]
}

func (s *Server) clientCaps() sdk.ClientCapabilities {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.caps
}

func (s *Server) session(id sdk.SessionId) (*session, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sess, ok := s.sessions[id]
	if !ok {
		return nil, sdk.NewInvalidParams(map[string]any{"error": fmt.Sprintf("unknown session %q", id)})
	}
	return sess, nil
}

// unsupported holds the Agent methods Loom does not implement, in one place
// because the SDK's interface grows between patch releases: a new method
// gets its refusal here.
type unsupported struct{}

func (unsupported) Logout(context.Context, sdk.LogoutRequest) (sdk.LogoutResponse, error) {
	return sdk.LogoutResponse{}, sdk.NewMethodNotFound(sdk.AgentMethodLogout)
}

func (unsupported) CloseSession(context.Context, sdk.CloseSessionRequest) (sdk.CloseSessionResponse, error) {
	return sdk.CloseSessionResponse{}, sdk.NewMethodNotFound(sdk.AgentMethodSessionClose)
}

func (unsupported) ListSessions(context.Context, sdk.ListSessionsRequest) (sdk.ListSessionsResponse, error) {
	return sdk.ListSessionsResponse{}, sdk.NewMethodNotFound(sdk.AgentMethodSessionList)
}

func (unsupported) ResumeSession(context.Context, sdk.ResumeSessionRequest) (sdk.ResumeSessionResponse, error) {
	return sdk.ResumeSessionResponse{}, sdk.NewMethodNotFound(sdk.AgentMethodSessionResume)
}

func (unsupported) SetSessionMode(context.Context, sdk.SetSessionModeRequest) (sdk.SetSessionModeResponse, error) {
	return sdk.SetSessionModeResponse{}, sdk.NewMethodNotFound(sdk.AgentMethodSessionSetMode)
}

// requestError turns err into a JSON-RPC error whose message is err's text,
// which clients show, rather than a generic "Internal error".
func requestError(err error) error {
	var re *sdk.RequestError
	if err == nil || errors.As(err, &re) {
		return err
	}
	return &sdk.RequestError{Code: -32603, Message: err.Error()}
}
