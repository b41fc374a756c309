package lsp

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"go.lsp.dev/jsonrpc2"
	"go.lsp.dev/protocol"

	"github.com/loom-agent/loom/workspace"
)

// CommandRun runs the agent; see also the thread commands in threads.go.
const CommandRun = "loom.run"

// answerScheme names the in-memory documents that hold the agent's text
// answers, served by workspace/textDocumentContent (nothing is written to
// disk for them).
const answerScheme = "loom"

// clientCaps are the client capabilities the server acts on.
type clientCaps struct {
	enc               workspace.Encoding // negotiated position encoding
	applyEdit         bool
	documentChanges   bool
	changeAnnotations bool // workspace.workspaceEdit.changeAnnotationSupport
	// review asks the client to confirm each edit before it changes a
	// buffer (initializationOptions.review, default true); it takes effect
	// only with changeAnnotations and documentChanges.
	review              bool
	resourceOps         []protocol.ResourceOperationKind
	workDoneProgress    bool
	showDocument        bool
	textDocumentContent bool
	codeActionLiterals  bool
	resolveCommand      bool // codeAction/resolve may fill in the command
}

func readCaps(c protocol.ClientCapabilities) clientCaps {
	cc := clientCaps{enc: workspace.UTF16}
	if g := c.General; g != nil && slices.Contains(g.PositionEncodings, protocol.PositionEncodingKindUTF8) {
		cc.enc = workspace.UTF8
	}
	if w := c.Workspace; w != nil {
		cc.applyEdit = isTrue(w.ApplyEdit)
		if we := w.WorkspaceEdit; we != nil {
			cc.documentChanges = isTrue(we.DocumentChanges)
			cc.resourceOps = we.ResourceOperations
			cc.changeAnnotations = we.ChangeAnnotationSupport != nil
		}
		cc.textDocumentContent = w.TextDocumentContent != nil
	}
	if win := c.Window; win != nil {
		cc.workDoneProgress = isTrue(win.WorkDoneProgress)
		cc.showDocument = win.ShowDocument != nil && win.ShowDocument.Support
	}
	if td := c.TextDocument; td != nil && td.CodeAction != nil {
		ca := td.CodeAction
		cc.codeActionLiterals = len(ca.CodeActionLiteralSupport.CodeActionKind.ValueSet) > 0
		cc.resolveCommand = isTrue(ca.DataSupport) && slices.Contains(ca.ResolveSupport.Properties, "command")
	}
	return cc
}

// initOptions are the client's settings sent in initialize's
// initializationOptions; unknown keys are ignored (clients send their own).
type initOptions struct {
	// Review: see clientCaps.review. Absent means true.
	Review *bool `json:"review"`
}

func (o initOptions) review() bool { return o.Review == nil || *o.Review }

func readInitOptions(raw []byte) (initOptions, error) {
	var o initOptions
	if len(bytes.TrimSpace(raw)) == 0 || string(bytes.TrimSpace(raw)) == "null" {
		return o, nil
	}
	if err := json.Unmarshal(raw, &o); err != nil {
		return initOptions{}, fmt.Errorf(`initializationOptions must be an object such as {"review": false}: %v`, err)
	}
	return o, nil
}

func isTrue(b *bool) bool { return b != nil && *b }

func ptr[T any](v T) *T { return &v }

// Initialize opens the workspace named by the client (the first workspace
// folder, else rootUri, else rootPath, else the default root) and states
// what the server does.
func (s *Server) Initialize(ctx context.Context, params *protocol.InitializeParams) (*protocol.InitializeResult, error) {
	root := rootOf(params)
	if root == "" {
		root = s.opts.DefaultRoot
	}
	if root == "" {
		wd, err := os.Getwd()
		if err != nil {
			return nil, fmt.Errorf("initialize: no workspace root given and no current directory: %w", err)
		}
		root = wd
	}
	ws, err := workspace.New(root)
	if err != nil {
		return nil, jsonrpc2.Errorf(jsonrpc2.InvalidParams, "initialize: %v", err)
	}
	caps := readCaps(params.Capabilities)
	opts, err := readInitOptions(params.InitializationOptions)
	if err != nil {
		return nil, jsonrpc2.Errorf(jsonrpc2.InvalidParams, "initialize: %v", err)
	}
	caps.review = opts.review()
	s.mu.Lock()
	s.ws, s.caps, s.state = ws, caps, stateInitialized
	s.mu.Unlock()
	s.log.Info("lsp: initialized", "root", ws.Root(), "client", params.ClientInfo.Name, "encoding", caps.enc)

	enc := protocol.PositionEncodingKindUTF16
	if caps.enc == workspace.UTF8 {
		enc = protocol.PositionEncodingKindUTF8
	}
	sc := protocol.ServerCapabilities{
		PositionEncoding: enc,
		TextDocumentSync: &protocol.TextDocumentSyncOptions{
			OpenClose: ptr(true),
			Change:    ptr(protocol.TextDocumentSyncKindIncremental),
			Save:      &protocol.SaveOptions{IncludeText: ptr(false)},
		},
		CodeActionProvider: &protocol.CodeActionOptions{
			CodeActionKinds: []protocol.CodeActionKind{protocol.CodeActionKindQuickFix, protocol.CodeActionKindRefactorRewrite, kindExplain},
			ResolveProvider: ptr(true),
		},
		DocumentSymbolProvider:  protocol.Boolean(true),
		WorkspaceSymbolProvider: protocol.Boolean(true),
		DefinitionProvider:      protocol.Boolean(true),
		ReferencesProvider:      protocol.Boolean(true),
		ExecuteCommandProvider: protocol.ExecuteCommandOptions{
			Commands:                s.commands(),
			WorkDoneProgressOptions: protocol.WorkDoneProgressOptions{WorkDoneProgress: ptr(true)},
		},
	}
	if caps.textDocumentContent {
		sc.Workspace = &protocol.WorkspaceOptions{
			TextDocumentContent: &protocol.TextDocumentContentOptions{Schemes: []string{answerScheme}},
		}
	}
	info := protocol.ServerInfo{Name: "loom"}
	if s.opts.Version != "" {
		info.Version = protocol.NewOptional(s.opts.Version)
	}
	return &protocol.InitializeResult{Capabilities: sc, ServerInfo: info}, nil
}

// rootOf returns the folder the client opened, "" if it named none.
func rootOf(p *protocol.InitializeParams) string {
	if folders, ok := p.WorkspaceFolders.Get(); ok && len(folders) > 0 && folders[0].URI.IsFile() {
		return folders[0].URI.FsPath()
	}
	if p.RootURI != nil && p.RootURI.IsFile() {
		return p.RootURI.FsPath()
	}
	if path, ok := p.RootPath.Get(); ok {
		return path
	}
	return ""
}

// Initialized starts the symbol index; the server registers nothing
// dynamically.
func (s *Server) Initialized(ctx context.Context, params *protocol.InitializedParams) error {
	// Load or build the symbol index now, while the user reads the code,
	// so the first workspace/symbol or definition does not wait for it (a
	// large repository seen for the first time takes seconds). A request
	// that comes first waits for this build rather than starting another.
	s.mu.Lock()
	life, ws := s.life, s.ws
	s.mu.Unlock()
	if ws != nil && life != nil && !broadRoot(ws.Root()) {
		go func() {
			if _, err := s.symbolIndex(life); err != nil && life.Err() == nil {
				s.log.Warn("lsp: cannot build the symbol index", "err", err)
			}
		}()
	}
	return nil
}

// broadRoot reports a root too broad to index unasked: the file system's
// root or the home folder, which an editor opened without a project.
func broadRoot(root string) bool {
	if filepath.Dir(root) == root {
		return true
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return false
	}
	real, err := filepath.EvalSymlinks(home)
	return filepath.Clean(home) == root || (err == nil && real == root)
}

// Shutdown cancels the runs still going; from now on only exit is
// accepted.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.state = stateShutdown
	for _, cancel := range s.runs {
		cancel()
	}
	s.mu.Unlock()
	return nil
}

// Exit ends Serve.
func (s *Server) Exit(ctx context.Context) error {
	s.exitOnce.Do(func() { close(s.exited) })
	return nil
}
