package mcp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"runtime/debug"
	"strings"
	"time"

	"github.com/loom-agent/loom/internal/jsonrpcline"
	"github.com/loom-agent/loom/internal/rpcdrain"

	mcpgo "github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/loom-agent/loom/llm"
	"github.com/loom-agent/loom/session"
	"github.com/loom-agent/loom/tools"
	"github.com/loom-agent/loom/workspace"
)

// AgentFactory builds the agent for a workspace. The command line passes
// one built from its flags, environment and config file; an error (such as
// no model configured) is reported to the client as the loom_agent call's
// failure, so the file tools work without a model.
type AgentFactory func(ws *workspace.Workspace) (session.Runner, error)

// Options configure a Server.
type Options struct {
	// Roots are the workspace folders (default: the current folder). A
	// client that declares the roots capability replaces them with its own.
	Roots []string
	// Tools are the tools offered besides apply_changes, loom_agent and
	// the thread tools (default: Loom's built-in tools). How each is
	// annotated, which of its arguments are checked against the roots and
	// whether it answers with a diff follow from its spec.
	Tools *tools.Registry
	// Approver is the server's policy for calls that need consent (the
	// shell's commands, which run in the root outside any changeset): an
	// MCP client has no user to ask, so it is tools.AlwaysApprove
	// (--allow-shell) or nil, which offers no tool that executes, neither
	// directly nor to loom_agent's runs, unless the client can ask its user:
	// then each command of a loom_agent run is put to the user with
	// elicitation/create (elicitation.go).
	Approver tools.Approver
	// NewAgent builds the agent for loom_agent; nil leaves loom_agent out
	// unless SampledAgent is set.
	NewAgent AgentFactory
	// SampledAgent builds the agent for a workspace on a given model: the
	// MCP client's, through sampling/createMessage. loom_agent uses it when
	// the client declared sampling and either PreferSampling is set, NewAgent
	// is nil, or NewAgent fails with llm.ErrNoModel (no model configured).
	SampledAgent func(ws *workspace.Workspace, model llm.Provider) (session.Runner, error)
	// PreferSampling runs loom_agent on the client's model even when a
	// model is configured (`loom mcp --sampling`).
	PreferSampling bool
	// Sessions runs loom_agent and records its runs as threads (thread_id
	// continues one), and serves threads_search and thread_show. Without
	// a thread store (nil, or the database could not be opened: its
	// StoreErr, told to a client that asks to continue a thread) those
	// tools are left out and runs go unrecorded.
	Sessions *session.Service
	// Model names the model in recorded threads.
	Model string
	// Version is reported in serverInfo.
	Version string
	// Logger receives the server's logs (default: slog.Default()). They go
	// to stderr: stdout belongs to the protocol.
	Logger *slog.Logger
	// PollInterval is how often subscribed files are looked at for
	// changes (default 2 s).
	PollInterval time.Duration
	// RootsTimeout bounds the wait for a client's answer to roots/list
	// (default 10 s), so a client that declares roots but never answers
	// gets an error instead of a hung call.
	RootsTimeout time.Duration
}

// Server is Loom's MCP server. It is safe for concurrent calls.
type Server struct {
	opts  Options
	roots []string // absolute folders, checked in New
	reg   *tools.Registry
	mcp   *server.MCPServer
	log   *slog.Logger
	// written records the progress notifications the transports wrote.
	written *writtenProgress
	runs    *session.Service
	watch   *subscriptions
	logs    clientLogs
	// loops are the Ralph loops started by loom_ralph_start (ralph.go).
	loops *loops
}

// New checks the roots and builds the server with its tools.
func New(opts Options) (*Server, error) {
	if len(opts.Roots) == 0 {
		opts.Roots = []string{"."}
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.RootsTimeout <= 0 {
		opts.RootsTimeout = 10 * time.Second
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = 2 * time.Second
	}
	if opts.Version == "" {
		opts.Version = "dev"
	}
	if opts.Sessions == nil {
		opts.Sessions = &session.Service{Log: opts.Logger}
	}
	s := &Server{opts: opts, written: newWrittenProgress(), runs: opts.Sessions, loops: newLoops()}
	// The server's own records reach the clients that asked for them.
	s.log = slog.New(s.LogHandler(opts.Logger.Handler()))
	s.watch = &subscriptions{interval: opts.PollInterval, notify: s.notifyUpdated}
	for _, r := range opts.Roots {
		ws, err := workspace.New(r)
		if err != nil {
			return nil, err
		}
		s.roots = append(s.roots, ws.Root())
	}
	reg := opts.Tools
	if reg == nil {
		var err error
		if reg, err = tools.NewBuiltinRegistry(); err != nil {
			return nil, err
		}
	}
	s.reg = reg
	hooks := &server.Hooks{}
	s.subscriptionHooks(hooks)
	s.loggingHooks(hooks)
	s.mcp = server.NewMCPServer("loom", opts.Version,
		server.WithToolCapabilities(false),
		server.WithPromptCapabilities(false),
		server.WithResourceCapabilities(true, false),
		server.WithLogging(),
		server.WithCompletions(),
		server.WithPromptCompletionProvider(s),
		server.WithHooks(hooks),
		server.WithTitle("Loom"),
		server.WithInstructions(instructionsFor(opts, reg)),
	)
	if opts.SampledAgent != nil {
		s.mcp.EnableSampling()
	}
	s.mcp.AddPrompts(s.promptList()...)
	res, tmpl := s.resources()
	s.mcp.AddResources(res...)
	s.mcp.AddResourceTemplates(tmpl...)
	var all []server.ServerTool
	for _, t := range reg.List() {
		if tools.NeedsApproval(t.Spec()) && opts.Approver == nil {
			continue // it would only refuse; better not to offer it
		}
		all = append(all, s.registryTool(t))
	}
	all = append(all, s.applyChangesTool())
	if s.offersAgent() {
		all = append(all, s.agentTool())
	}
	if opts.Sessions.KeepsThreads() {
		all = append(all, s.threadsSearchTool(), s.threadShowTool())
	}
	all = append(all, s.ralphTools()...)
	for i := range all {
		all[i].Handler = s.guard(all[i].Tool.Name, all[i].Handler)
	}
	s.mcp.AddTools(all...)
	return s, nil
}

const instructions = `Loom is a coding agent and a set of code tools over one workspace.
loom_agent runs the agent on a task and returns its summary and the unified diff of its edits.
The file tools read the workspace; the editing tools (%s) write nothing and return the diff of
the edit; apply_changes applies a diff to disk atomically and refuses it if a file changed
meanwhile. Paths are relative to the first root, or absolute inside any root.`

const threadInstructions = `
Every agent run is recorded as a thread: loom_agent returns its thread_id, which continues the
conversation when passed back; threads_search finds earlier threads and thread_show reads one.`

func instructionsFor(opts Options, reg *tools.Registry) string {
	var editing []string
	for _, t := range reg.List() {
		if t.Spec().Effect.Stages() {
			editing = append(editing, t.Spec().Name)
		}
	}
	out := fmt.Sprintf(instructions, strings.Join(editing, ", "))
	if opts.Sessions.KeepsThreads() {
		out += threadInstructions
	}
	return out
}

// offersAgent reports whether loom_agent is served: with a model of
// Loom's, or the client's through sampling.
func (s *Server) offersAgent() bool { return s.opts.NewAgent != nil || s.opts.SampledAgent != nil }

// MCPServer returns the underlying mcp-go server (for in-process clients).
func (s *Server) MCPServer() *server.MCPServer { return s.mcp }

// Roots returns the configured root folders, absolute.
func (s *Server) Roots() []string { return append([]string(nil), s.roots...) }

// MaxMessageBytes is the longest message (one line, its newline left out)
// the stdio server takes; a longer one is answered with an error and
// skipped, and the connection goes on.
const MaxMessageBytes = jsonrpcline.DefaultMaxLine

// ServeStdio serves one client on in and out until in closes or ctx ends.
// Nothing but protocol messages is written to out.
func (s *Server) ServeStdio(ctx context.Context, in io.Reader, out io.Writer) error {
	std := server.NewStdioServer(s.mcp)
	// The transport's complaints are about writing to the client: they
	// go to the plain logger, never to the client, where they could loop.
	std.SetErrorLogger(log.New(slogWriter{l: s.opts.Logger, level: slog.LevelWarn, prefix: "mcp transport: "}, "", 0))
	// mcp-go cancels what still runs when its input ends: hold the end back
	// until every request read is answered.
	answers := rpcdrain.New("notifications/cancelled")
	// mcp-go reads a line of any length whole: the input is guarded, so a
	// line over MaxMessageBytes is answered and skipped as it streams past,
	// and a malformed message is answered without reaching mcp-go.
	raw := jsonrpcline.Locked(out)
	in = answers.Reader(ctx, jsonrpcline.NewReader(in, raw, jsonrpcline.Options{MaxLine: MaxMessageBytes, Logger: s.log}))
	// The init gate's refusals and mcp-go's messages are written whole.
	out = jsonrpcline.Locked(answers.Writer(observingWriter{w: raw, written: s.written}))
	err := std.Listen(ctx, newInitGate(in, out), out)
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

// guard turns a panic in a handler into a tool error, so bad input can
// never take the server down, and logs the stack for a bug report.
func (s *Server) guard(name string, next server.ToolHandlerFunc) server.ToolHandlerFunc {
	return func(ctx context.Context, req mcpgo.CallToolRequest) (res *mcpgo.CallToolResult, err error) {
		defer func() {
			if p := recover(); p != nil {
				s.log.Error("mcp: tool handler panicked", "tool", name, "panic", p, "stack", string(debug.Stack()))
				res, err = mcpgo.NewToolResultError(fmt.Sprintf("internal error in %s: %v", name, p)), nil
			}
		}()
		return next(ctx, req)
	}
}

// slogWriter forwards lines written to it (the transport's complaints, a
// Ralph loop's progress) to the logger, each a record at level with prefix.
type slogWriter struct {
	l      *slog.Logger
	level  slog.Level
	prefix string
}

func (w slogWriter) Write(p []byte) (int, error) {
	w.l.Log(context.Background(), w.level, w.prefix+string(trimNewline(p)))
	return len(p), nil
}

func trimNewline(p []byte) []byte {
	for len(p) > 0 && (p[len(p)-1] == '\n' || p[len(p)-1] == '\r') {
		p = p[:len(p)-1]
	}
	return p
}
