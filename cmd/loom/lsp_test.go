package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf16"

	"go.lsp.dev/jsonrpc2"
	"go.lsp.dev/protocol"
	"go.lsp.dev/uri"

	"github.com/loom-agent/loom/llm/llmtest"
	"github.com/loom-agent/loom/lsp"
)

// lspClient drives `loom lsp` (the built binary) as an editor would, with
// the protocol package's client side, and records what the server sends.
type lspClient struct {
	protocol.UnimplementedClient
	t      *testing.T
	server protocol.Server
	conn   jsonrpc2.Conn
	cmd    *exec.Cmd
	dir    string
	exited chan struct{} // closed when the process has been reaped

	rejectEdits bool

	mu       sync.Mutex
	edits    []protocol.WorkspaceEdit
	messages []string
	progress []string // "begin: title", "report: msg", "end: msg"
	tokens   []protocol.ProgressToken
	diags    map[uri.URI][]protocol.Diagnostic
	changed  chan struct{} // pinged on every recorded event
}

// startLSP starts the binary in dir with the model at srv (nil: none).
func startLSP(t *testing.T, dir string, srv *llmtest.Server) *lspClient {
	t.Helper()
	env := privateEnv(t, "LOOM_DB="+filepath.Join(t.TempDir(), "threads.db"))
	if srv != nil {
		env = modelEnv(t, srv)
	}
	cmd := loomCommand(t, env, "lsp")
	cmd.Dir = dir
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &lspClient{t: t, cmd: cmd, dir: dir, diags: map[uri.URI][]protocol.Diagnostic{}, changed: make(chan struct{}, 1), exited: make(chan struct{})}
	c.conn, c.server = lsp.NewClientConn(context.Background(), c, pipe{stdout, stdin})
	go func() { cmd.Wait(); close(c.exited) }()
	t.Cleanup(func() {
		stdin.Close()
		select {
		case <-c.exited:
		case <-time.After(hangGuard):
			cmd.Process.Kill()
			<-c.exited
		}
		if t.Failed() {
			t.Logf("loom lsp stderr:\n%s", stderr.String())
		}
	})
	return c
}

type pipe struct {
	io.ReadCloser
	io.WriteCloser
}

func (p pipe) Close() error { p.WriteCloser.Close(); return p.ReadCloser.Close() }

// clientCaps builds the capabilities of a client like Neovim 0.7 (plain
// changes) or VS Code (versioned documentChanges with file operations).
func clientCaps(documentChanges bool, encodings ...protocol.PositionEncodingKind) protocol.ClientCapabilities {
	caps := protocol.ClientCapabilities{
		Workspace: &protocol.WorkspaceClientCapabilities{
			ApplyEdit:     ptrTo(true),
			WorkspaceEdit: &protocol.WorkspaceEditClientCapabilities{DocumentChanges: ptrTo(documentChanges)},
		},
		Window: &protocol.WindowClientCapabilities{WorkDoneProgress: ptrTo(true)},
		TextDocument: &protocol.TextDocumentClientCapabilities{CodeAction: &protocol.CodeActionClientCapabilities{
			CodeActionLiteralSupport: protocol.ClientCodeActionLiteralOptions{CodeActionKind: protocol.ClientCodeActionKindOptions{
				ValueSet: []protocol.CodeActionKind{protocol.CodeActionKindQuickFix, protocol.CodeActionKindRefactor},
			}},
		}},
	}
	if documentChanges {
		caps.Workspace.WorkspaceEdit.ResourceOperations = []protocol.ResourceOperationKind{
			protocol.ResourceOperationKindCreate, protocol.ResourceOperationKindRename, protocol.ResourceOperationKindDelete}
	}
	if len(encodings) > 0 {
		caps.General = &protocol.GeneralClientCapabilities{PositionEncodings: encodings}
	}
	return caps
}

func ptrTo[T any](v T) *T { return &v }

func (c *lspClient) initialize(caps protocol.ClientCapabilities) *protocol.InitializeResult {
	c.t.Helper()
	root := uri.File(c.dir)
	res, err := c.server.Initialize(c.ctx(), &protocol.InitializeParams{RootURI: &root, Capabilities: caps})
	if err != nil {
		c.t.Fatalf("initialize: %v", err)
	}
	if err := c.server.Initialized(c.ctx(), &protocol.InitializedParams{}); err != nil {
		c.t.Fatal(err)
	}
	return res
}

func (c *lspClient) ctx() context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
	c.t.Cleanup(cancel)
	return ctx
}

func (c *lspClient) open(name, text string) uri.URI {
	c.t.Helper()
	u := uri.File(filepath.Join(c.dir, name))
	err := c.server.DidOpen(c.ctx(), &protocol.DidOpenTextDocumentParams{TextDocument: protocol.TextDocumentItem{URI: u, LanguageID: "go", Version: 1, Text: text}})
	if err != nil {
		c.t.Fatal(err)
	}
	return u
}

func (c *lspClient) record(f func()) {
	c.mu.Lock()
	f()
	c.mu.Unlock()
	select {
	case c.changed <- struct{}{}:
	default:
	}
}

// waitFor polls cond (under the lock) until it holds, or fails after
// hangGuard.
func (c *lspClient) waitFor(what string, cond func() bool) {
	c.t.Helper()
	deadline := time.After(hangGuard)
	for {
		c.mu.Lock()
		ok := cond()
		c.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-c.changed:
		case <-time.After(50 * time.Millisecond):
		case <-deadline:
			c.t.Fatalf("timed out waiting for %s", what)
		}
	}
}

func (c *lspClient) ApplyEdit(ctx context.Context, p *protocol.ApplyWorkspaceEditParams) (*protocol.ApplyWorkspaceEditResult, error) {
	c.record(func() { c.edits = append(c.edits, p.Edit) })
	if c.rejectEdits {
		return &protocol.ApplyWorkspaceEditResult{Applied: false, FailureReason: ptrTo("the user said no")}, nil
	}
	return &protocol.ApplyWorkspaceEditResult{Applied: true}, nil
}

func (c *lspClient) ShowMessage(ctx context.Context, p *protocol.ShowMessageParams) error {
	c.record(func() { c.messages = append(c.messages, p.Message) })
	return nil
}

func (c *lspClient) WorkDoneProgressCreate(ctx context.Context, p *protocol.WorkDoneProgressCreateParams) error {
	c.record(func() { c.tokens = append(c.tokens, p.Token) })
	return nil
}

func (c *lspClient) Progress(ctx context.Context, p *protocol.ProgressParams) error {
	var v struct{ Kind, Title, Message string }
	if err := json.Unmarshal(p.Value, &v); err != nil {
		return err
	}
	c.record(func() { c.progress = append(c.progress, v.Kind+": "+v.Title+v.Message) })
	return nil
}

func (c *lspClient) PublishDiagnostics(ctx context.Context, p *protocol.PublishDiagnosticsParams) error {
	c.record(func() { c.diags[p.URI] = p.Diagnostics })
	return nil
}

// applyUTF16 applies LSP text edits whose positions count UTF-16 code units
// (utf8 == false) or bytes, independently of the server's own conversion.
func applyEdits(t *testing.T, text string, edits []protocol.TextEdit, utf8 bool) string {
	t.Helper()
	offset := func(p protocol.Position) int {
		lines := strings.SplitAfter(text, "\n")
		off := 0
		for i := 0; i < int(p.Line); i++ {
			off += len(lines[i])
		}
		if int(p.Line) >= len(lines) {
			return off
		}
		line := strings.TrimSuffix(lines[p.Line], "\n")
		if utf8 {
			return off + min(int(p.Character), len(line))
		}
		units := 0
		for i, r := range line {
			if units >= int(p.Character) {
				return off + i
			}
			units += len(utf16.Encode([]rune{r}))
		}
		return off + len(line)
	}
	// Apply from the end so earlier offsets stay valid.
	sorted := slices.Clone(edits)
	slices.SortFunc(sorted, func(a, b protocol.TextEdit) int { return offset(b.Range.Start) - offset(a.Range.Start) })
	for _, e := range sorted {
		start, end := offset(e.Range.Start), offset(e.Range.End)
		text = text[:start] + e.NewText + text[end:]
	}
	return text
}

// editsFor returns the text edits for u from either form of WorkspaceEdit,
// and the document version named (nil in the plain form).
func editsFor(t *testing.T, we protocol.WorkspaceEdit, u uri.URI) ([]protocol.TextEdit, *int32) {
	t.Helper()
	if we.Changes != nil {
		return we.Changes[u], nil
	}
	for _, dc := range we.DocumentChanges {
		if tde, ok := dc.(*protocol.TextDocumentEdit); ok && tde.TextDocument.URI == u {
			var out []protocol.TextEdit
			for _, e := range tde.Edits {
				out = append(out, *e.(*protocol.TextEdit))
			}
			return out, tde.TextDocument.Version
		}
	}
	t.Fatalf("no edits for %s in %+v", u, we)
	return nil, nil
}

func editScript(path, old, new string) llmtest.Script {
	args, _ := json.Marshal(map[string]string{"path": path, "old_text": old, "new_text": new})
	return llmtest.Script{Turns: []llmtest.Turn{
		{ToolCalls: []llmtest.ToolCall{{Name: "edit_file", Arguments: args}}},
		{Text: "Fixed it."},
	}}
}

// pick returns the code action titled title.
func pick(t *testing.T, actions []protocol.CommandOrCodeAction, title string) *protocol.CodeAction {
	t.Helper()
	var titles []string
	for _, a := range actions {
		if ca, ok := a.(*protocol.CodeAction); ok {
			if ca.Title == title {
				return ca
			}
			titles = append(titles, ca.Title)
		}
	}
	t.Fatalf("no code action %q among %q", title, titles)
	return nil
}

// TestLSPCodeActionRoundTrip runs "Loom: Fix" at a diagnostic end to end:
// code action → executeCommand → the agent (scripted model) → applyEdit, in
// the form the client's capabilities ask for, with work-done progress. The
// file on disk is untouched: applying is the editor's business.
func TestLSPCodeActionRoundTrip(t *testing.T) {
	const text = "package main\n\n// 😀 你好, greeting greets.\nfunc greeting() string { return \"hi 😀\" }\n"
	tests := []struct {
		name            string
		documentChanges bool
		encodings       []protocol.PositionEncodingKind
		wantEncoding    protocol.PositionEncodingKind
	}{
		{"Neovim-like: changes, UTF-16", false, nil, protocol.PositionEncodingKindUTF16},
		{"VS Code-like: documentChanges, UTF-16", true, []protocol.PositionEncodingKind{protocol.PositionEncodingKindUTF16}, protocol.PositionEncodingKindUTF16},
		{"UTF-8 offered", false, []protocol.PositionEncodingKind{protocol.PositionEncodingKindUTF8, protocol.PositionEncodingKindUTF16}, protocol.PositionEncodingKindUTF8},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := project(t)
			if err := os.WriteFile(filepath.Join(dir, "greet.go"), []byte(text), 0o644); err != nil {
				t.Fatal(err)
			}
			srv := llmtest.NewServer(t, editScript("greet.go", `"hi 😀"`, `"héllo 😀 世界"`))
			c := startLSP(t, dir, srv)
			init := c.initialize(clientCaps(tt.documentChanges, tt.encodings...))
			if init.Capabilities.PositionEncoding != tt.wantEncoding {
				t.Fatalf("positionEncoding = %q, want %q", init.Capabilities.PositionEncoding, tt.wantEncoding)
			}
			u := c.open("greet.go", text)

			diag := protocol.Diagnostic{Range: protocol.Range{Start: protocol.Position{Line: 3}, End: protocol.Position{Line: 3, Character: 10}},
				Message: protocol.String("greeting is too terse")}
			actions, err := c.server.CodeAction(c.ctx(), &protocol.CodeActionParams{TextDocument: protocol.TextDocumentIdentifier{URI: u},
				Range: diag.Range, Context: protocol.CodeActionContext{Diagnostics: []protocol.Diagnostic{diag}}})
			if err != nil {
				t.Fatal(err)
			}
			for _, title := range []string{"Loom: Explain", "Loom: Add documentation", "Loom: Write tests", "Loom: Edit with instruction…"} {
				pick(t, actions, title)
			}
			fix := pick(t, actions, "Loom: Fix")
			if len(fix.Diagnostics) != 1 || fix.Command.Command != "loom.run" {
				t.Fatalf("Fix action = %+v", fix)
			}
			res, err := c.server.ExecuteCommand(c.ctx(), &protocol.ExecuteCommandParams{Command: fix.Command.Command, Arguments: fix.Command.Arguments})
			if err != nil {
				t.Fatalf("executeCommand: %v", err)
			}
			var out struct {
				Final   string
				Files   []string
				Applied bool
			}
			if err := json.Unmarshal(res, &out); err != nil || !out.Applied || out.Final != "Fixed it." || !slices.Equal(out.Files, []string{"greet.go"}) {
				t.Errorf("result %s (%v)", res, err)
			}

			if len(c.edits) != 1 {
				t.Fatalf("got %d applyEdit requests, want 1", len(c.edits))
			}
			we := c.edits[0]
			if got := we.Changes != nil; got == tt.documentChanges {
				t.Errorf("changes form used = %v with documentChanges capability %v", got, tt.documentChanges)
			}
			edits, version := editsFor(t, we, u)
			if tt.documentChanges && (version == nil || *version != 1) {
				t.Errorf("documentChanges version = %v, want 1 (the open buffer's)", version)
			}
			want := strings.Replace(text, `"hi 😀"`, `"héllo 😀 世界"`, 1)
			if got := applyEdits(t, text, edits, tt.wantEncoding == protocol.PositionEncodingKindUTF8); got != want {
				t.Errorf("edits %+v applied give\n%s\nwant\n%s", edits, got, want)
			}
			if b, _ := os.ReadFile(filepath.Join(dir, "greet.go")); string(b) != text {
				t.Error("the server wrote the file; applying is the editor's job")
			}
			// The instruction names the file and the diagnostic.
			reqs := srv.ChatRequests()
			if len(reqs) == 0 {
				t.Fatal("the model was never asked")
			}
			prompt := reqs[0].Messages[len(reqs[0].Messages)-1].Content
			for _, want := range []string{"greet.go", "line 4", "greeting is too terse"} {
				if !strings.Contains(prompt, want) {
					t.Errorf("instruction %q does not mention %q", prompt, want)
				}
			}
			c.mu.Lock()
			defer c.mu.Unlock()
			if len(c.tokens) != 1 || len(c.progress) < 3 || !strings.HasPrefix(c.progress[0], "begin: Loom: Fix") ||
				!strings.HasPrefix(c.progress[len(c.progress)-1], "end: Done") {
				t.Errorf("progress on tokens %v: %q", c.tokens, c.progress)
			}
		})
	}
}

// TestLSPRejectedEdit: when the client refuses the edit, the user is told.
func TestLSPRejectedEdit(t *testing.T) {
	dir := project(t)
	srv := llmtest.NewServer(t, editScript("greet.go", `"hi"`, `"hello"`))
	c := startLSP(t, dir, srv)
	c.rejectEdits = true
	c.initialize(clientCaps(true))
	args, _ := json.Marshal(map[string]string{"instruction": "say hello"})
	res, err := c.server.ExecuteCommand(c.ctx(), &protocol.ExecuteCommandParams{Command: "loom.run", Arguments: []protocol.LSPAny{args}})
	if err != nil || !strings.Contains(string(res), `"applied":false`) {
		t.Fatalf("result %s, %v", res, err)
	}
	c.waitFor("a message about the rejection", func() bool {
		return slices.ContainsFunc(c.messages, func(m string) bool { return strings.Contains(m, "rejected the edit: the user said no") })
	})
}

// TestLSPCancel cancels a run whose model is slow, by each of the two ways
// a client can: $/cancelRequest for the executeCommand request, and
// window/workDoneProgress/cancel for its progress token. The run ends at
// once, reports the cancellation, and no edit is sent.
func TestLSPCancel(t *testing.T) {
	tests := []struct {
		name   string
		cancel func(c *lspClient, cancelRequest context.CancelFunc)
	}{
		{"$/cancelRequest", func(c *lspClient, cancelRequest context.CancelFunc) { cancelRequest() }},
		{"window/workDoneProgress/cancel", func(c *lspClient, _ context.CancelFunc) {
			c.mu.Lock()
			tok := c.tokens[0]
			c.mu.Unlock()
			if err := c.server.WorkDoneProgressCancel(c.ctx(), &protocol.WorkDoneProgressCancelParams{Token: tok}); err != nil {
				c.t.Fatal(err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := project(t)
			srv := llmtest.NewServer(t, llmtest.Script{Turns: []llmtest.Turn{{Text: "too late", Fault: &llmtest.Fault{DelayMS: 600_000}}}})
			c := startLSP(t, dir, srv)
			c.initialize(clientCaps(true))
			args, _ := json.Marshal(map[string]string{"instruction": "take your time"})
			ctx, cancel := context.WithCancel(c.ctx())
			errc := make(chan error, 1)
			go func() {
				_, err := c.server.ExecuteCommand(ctx, &protocol.ExecuteCommandParams{Command: "loom.run", Arguments: []protocol.LSPAny{args}})
				errc <- err
			}()
			c.waitFor("the run to begin", func() bool { return len(c.progress) > 0 })
			// The model would answer in ten minutes, long after the hang
			// guard of waitFor: the progress ends because of the cancel.
			tt.cancel(c, cancel)
			c.waitFor("the progress to end", func() bool {
				return len(c.progress) > 0 && strings.HasPrefix(c.progress[len(c.progress)-1], "end:")
			})
			err := <-errc
			var rpcErr *jsonrpc2.Error
			switch {
			case tt.name == "$/cancelRequest" && !errors.Is(err, context.Canceled):
				t.Errorf("executeCommand error = %v, want the client's cancellation", err)
			case tt.name != "$/cancelRequest" && (!errors.As(err, &rpcErr) || rpcErr.Code != protocol.CodeRequestCancelled):
				t.Errorf("executeCommand error = %v, want RequestCancelled", err)
			}
			c.mu.Lock()
			defer c.mu.Unlock()
			if last := c.progress[len(c.progress)-1]; last != "end: Cancelled" {
				t.Errorf("progress ended with %q", last)
			}
			if len(c.edits) != 0 {
				t.Errorf("a cancelled run sent edits: %+v", c.edits)
			}
		})
	}
}

// TestLSPNoInstruction: the instruction-less command of "Edit with
// instruction…" fails with a message telling the client what to pass.
func TestLSPNoInstruction(t *testing.T) {
	dir := project(t)
	c := startLSP(t, dir, nil)
	c.initialize(clientCaps(false))
	u := c.open("greet.go", "package main\n\nfunc greeting() string { return \"hi\" }\n")
	actions, err := c.server.CodeAction(c.ctx(), &protocol.CodeActionParams{TextDocument: protocol.TextDocumentIdentifier{URI: u},
		Range: protocol.Range{End: protocol.Position{Line: 2}}})
	if err != nil {
		t.Fatal(err)
	}
	edit := pick(t, actions, "Loom: Edit with instruction…")
	_, err = c.server.ExecuteCommand(c.ctx(), &protocol.ExecuteCommandParams{Command: edit.Command.Command, Arguments: edit.Command.Arguments})
	var rpcErr *jsonrpc2.Error
	if !errors.As(err, &rpcErr) || rpcErr.Code != jsonrpc2.InvalidParams || !strings.Contains(rpcErr.Message, `{"instruction"`) {
		t.Errorf("error = %v, want InvalidParams explaining the instruction argument", err)
	}
}

// TestLSPLifecycle checks the rules around initialize and shutdown, and
// the exit codes.
func TestLSPLifecycle(t *testing.T) {
	dir := project(t)
	c := startLSP(t, dir, nil)
	var rpcErr *jsonrpc2.Error
	_, err := c.server.DocumentSymbol(c.ctx(), &protocol.DocumentSymbolParams{TextDocument: protocol.TextDocumentIdentifier{URI: uri.File(filepath.Join(dir, "main.go"))}})
	if !errors.As(err, &rpcErr) || rpcErr.Code != jsonrpc2.ServerNotInitialized {
		t.Errorf("before initialize: %v, want ServerNotInitialized (-32002)", err)
	}
	c.initialize(clientCaps(false))
	_, err = c.server.Request(c.ctx(), "loom/nonsense", map[string]int{"a": 1})
	if !errors.As(err, &rpcErr) || rpcErr.Code != jsonrpc2.MethodNotFound {
		t.Errorf("unknown method: %v, want MethodNotFound", err)
	}
	if err := c.server.Shutdown(c.ctx()); err != nil {
		t.Fatal(err)
	}
	_, err = c.server.DocumentSymbol(c.ctx(), &protocol.DocumentSymbolParams{TextDocument: protocol.TextDocumentIdentifier{URI: uri.File(filepath.Join(dir, "main.go"))}})
	if !errors.As(err, &rpcErr) || rpcErr.Code != jsonrpc2.InvalidRequest {
		t.Errorf("after shutdown: %v, want InvalidRequest", err)
	}
	c.server.Exit(c.ctx())
	if code := c.exitCode(); code != 0 {
		t.Errorf("exit after shutdown: code %d, want 0", code)
	}

	c = startLSP(t, dir, nil)
	c.initialize(clientCaps(false))
	c.server.Exit(c.ctx())
	if code := c.exitCode(); code != 1 {
		t.Errorf("exit without shutdown: code %d, want 1", code)
	}
}

// exitCode waits for the server process to end.
func (c *lspClient) exitCode() int {
	c.t.Helper()
	select {
	case <-c.exited:
	case <-time.After(hangGuard):
		c.t.Fatal("the server did not exit")
	}
	return c.cmd.ProcessState.ExitCode()
}

// TestLSPAnalysis covers the tree-sitter features over the wire, with
// positions in UTF-16 on lines holding emoji and CJK text: symbols of an
// edited buffer, diagnostics as keystrokes break and mend it, workspace
// symbols and definitions.
func TestLSPAnalysis(t *testing.T) {
	dir := project(t)
	c := startLSP(t, dir, nil)
	c.initialize(clientCaps(false))
	// "/* 😀你好 */ func " is 16 UTF-16 units (😀 takes two), 20 bytes.
	text := "package main\n\n/* 😀你好 */ func greeting() string { return \"hi\" }\n"
	u := c.open("greet.go", text)
	c.waitFor("diagnostics on open", func() bool { _, ok := c.diags[u]; return ok })

	symbols := func() map[string]protocol.DocumentSymbol {
		t.Helper()
		res, err := c.server.DocumentSymbol(c.ctx(), &protocol.DocumentSymbolParams{TextDocument: protocol.TextDocumentIdentifier{URI: u}})
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]protocol.DocumentSymbol{}
		for _, s := range res.(protocol.DocumentSymbolSlice) {
			out[s.Name] = s
		}
		return out
	}
	if g, ok := symbols()["greeting"]; !ok || g.SelectionRange.Start != (protocol.Position{Line: 2, Character: 16}) || g.Kind != protocol.SymbolKindFunction {
		t.Errorf("greeting symbol = %+v, want its name at 2:16 (UTF-16)", g)
	}

	// main.go calls greeting(), defined in the open buffer of greet.go
	// (its name at 2:16 in UTF-16): definition answers from the buffer,
	// not from the disk.
	mainURI := uri.File(filepath.Join(dir, "main.go"))
	definition := func() protocol.LocationSlice {
		t.Helper()
		def, err := c.server.Definition(c.ctx(), &protocol.DefinitionParams{TextDocumentPositionParams: protocol.TextDocumentPositionParams{
			TextDocument: protocol.TextDocumentIdentifier{URI: mainURI}, Position: protocol.Position{Line: 3, Character: 11}}})
		if err != nil {
			t.Fatal(err)
		}
		locs, _ := def.(protocol.LocationSlice)
		return locs
	}
	if locs := definition(); len(locs) != 1 || locs[0].URI != u || locs[0].Range.Start != (protocol.Position{Line: 2, Character: 16}) {
		t.Errorf("definition of greeting = %+v, want greet.go's buffer at 2:16", locs)
	}

	change := func(version int32, rng protocol.Range, newText string) {
		t.Helper()
		err := c.server.DidChange(c.ctx(), &protocol.DidChangeTextDocumentParams{
			TextDocument:   protocol.VersionedTextDocumentIdentifier{TextDocumentIdentifier: protocol.TextDocumentIdentifier{URI: u}, Version: version},
			ContentChanges: []protocol.TextDocumentContentChangeEvent{&protocol.TextDocumentContentChangePartial{Range: rng, Text: newText}},
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	at := func(line, char uint32) protocol.Position { return protocol.Position{Line: line, Character: char} }
	// Rename greeting to hello: UTF-16 columns 16..24.
	change(2, protocol.Range{Start: at(2, 16), End: at(2, 24)}, "hello")
	if _, ok := symbols()["hello"]; !ok {
		t.Errorf("after the rename the symbols are %v", symbols())
	}
	// The buffer no longer defines greeting: Loom answers nothing rather
	// than the stale definition on disk.
	if locs := definition(); len(locs) != 0 {
		t.Errorf("definition of greeting after the rename = %+v, want none", locs)
	}
	// Break the file: drop the closing brace, then put it back.
	change(3, protocol.Range{Start: at(2, 45), End: at(2, 46)}, "")
	c.waitFor("a syntax error", func() bool { return len(c.diags[u]) > 0 })
	change(4, protocol.Range{Start: at(2, 45), End: at(2, 45)}, "}")
	c.waitFor("the syntax error to clear", func() bool { return len(c.diags[u]) == 0 })

	ws, err := c.server.Symbols(c.ctx(), &protocol.WorkspaceSymbolParams{Query: "main"})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, s := range ws.(protocol.SymbolInformationSlice) {
		found = found || s.Name == "main" && s.Location.URI == uri.File(filepath.Join(dir, "main.go"))
	}
	if !found {
		t.Errorf("workspace/symbol main = %+v", ws)
	}

}

// TestLSPThreads: loom.run records its run and names the thread,
// loom.searchThreads finds it, loom.showThread prints it, and loom.run with
// threadId continues it: the model sees the first conversation.
func TestLSPThreads(t *testing.T) {
	dir := project(t)
	script := editScript("greet.go", `"hi"`, `"hello"`)
	script.Turns = append(script.Turns, llmtest.Turn{Text: "Yes, it says hello now."})
	srv := llmtest.NewServer(t, script)
	c := startLSP(t, dir, srv)
	init := c.initialize(clientCaps(true))
	if got, want := init.Capabilities.ExecuteCommandProvider.Commands, []string{"loom.run", "loom.searchThreads", "loom.showThread"}; !slices.Equal(got, want) {
		t.Errorf("commands = %q, want %q", got, want)
	}
	execute := func(command string, arg any) json.RawMessage {
		t.Helper()
		raw, _ := json.Marshal(arg)
		res, err := c.server.ExecuteCommand(c.ctx(), &protocol.ExecuteCommandParams{Command: command, Arguments: []protocol.LSPAny{raw}})
		if err != nil {
			t.Fatalf("%s: %v", command, err)
		}
		return json.RawMessage(res)
	}

	var first struct{ ThreadID string }
	if res := execute("loom.run", map[string]string{"instruction": "say hello"}); json.Unmarshal(res, &first) != nil || first.ThreadID == "" {
		t.Fatalf("loom.run = %s, want a threadId", res)
	}

	var hits []struct{ ID, Title, Updated, Snippet string }
	res := execute("loom.searchThreads", map[string]string{"query": "hello"})
	if err := json.Unmarshal(res, &hits); err != nil || len(hits) != 1 || hits[0].ID != first.ThreadID || hits[0].Title != "say hello" {
		t.Fatalf("loom.searchThreads = %s (%v)", res, err)
	}
	if _, err := time.Parse(time.RFC3339, hits[0].Updated); err != nil || !strings.Contains(hits[0].Snippet, "«hello»") {
		t.Errorf("hit %+v: want an RFC 3339 time and a marked snippet", hits[0])
	}
	if res := execute("loom.searchThreads", map[string]string{"query": "absentword"}); string(res) != "[]" {
		t.Errorf("no match = %s, want []", res)
	}

	var md string
	if err := json.Unmarshal(execute("loom.showThread", map[string]string{"id": first.ThreadID}), &md); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"# say hello\n", "Tool call `edit_file`", "Fixed it.", "+func greeting() string { return \"hello\" }"} {
		if !strings.Contains(md, want) {
			t.Errorf("loom.showThread lacks %q:\n%s", want, md)
		}
	}

	var second struct{ ThreadID, Final string }
	res = execute("loom.run", map[string]any{"instruction": "does it say hello?", "threadId": first.ThreadID[:7], "answer": true})
	if json.Unmarshal(res, &second) != nil || second.ThreadID != first.ThreadID || second.Final != "Yes, it says hello now." {
		t.Fatalf("continuing: %s", res)
	}
	reqs := srv.ChatRequests()
	var said []string
	for _, m := range reqs[len(reqs)-1].Messages {
		if m.Role == "user" || m.Role == "assistant" {
			said = append(said, m.Role+": "+m.Content)
		}
	}
	if len(said) < 4 || said[0] != "user: say hello" || !slices.Contains(said, "assistant: Fixed it.") || said[len(said)-1] != "user: does it say hello?" {
		t.Errorf("the continued run's request said %q, want the first conversation then the new instruction", said)
	}

	_, err := c.server.ExecuteCommand(c.ctx(), &protocol.ExecuteCommandParams{Command: "loom.showThread",
		Arguments: []protocol.LSPAny{protocol.LSPAny(`{"id":"zzzzzzzz"}`)}})
	var rpcErr *jsonrpc2.Error
	if !errors.As(err, &rpcErr) || rpcErr.Code != jsonrpc2.InvalidParams || !strings.Contains(rpcErr.Message, "no such thread") {
		t.Errorf("unknown thread: %v, want InvalidParams", err)
	}
}

// TestLSPSyntaxDiagnosticsOnlyForEditsThatBreak: valid code the grammar
// cannot parse (a C++ definition with spdlog's SPDLOG_NOEXCEPT macro) shows
// no syntax errors, opened or edited; a file that parsed cleanly shows the
// errors an edit brings, also when the client sends whole texts.
func TestLSPSyntaxDiagnosticsOnlyForEditsThatBreak(t *testing.T) {
	dir := project(t)
	c := startLSP(t, dir, nil)
	c.initialize(clientCaps(false))
	replace := func(u uri.URI, version int32, text string) {
		t.Helper()
		err := c.server.DidChange(c.ctx(), &protocol.DidChangeTextDocumentParams{
			TextDocument:   protocol.VersionedTextDocumentIdentifier{TextDocumentIdentifier: protocol.TextDocumentIdentifier{URI: u}, Version: version},
			ContentChanges: []protocol.TextDocumentContentChangeEvent{&protocol.TextDocumentContentChangeWholeDocument{Text: text}},
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	const macro = "void logger::flush() SPDLOG_NOEXCEPT\n{\n    sinks_.clear();\n}\n"
	m := c.open("logger-inl.h", macro)
	replace(m, 2, macro+"void broken(\n")
	const clean = "class sink {\npublic:\n    void flush();\n};\n"
	s := c.open("sink.h", clean)
	c.waitFor("diagnostics of the clean file", func() bool { _, ok := c.diags[s]; return ok })
	replace(s, 2, "class sink {\npublic:\n    void flush();\n")
	c.waitFor("the error the edit brought", func() bool { return len(c.diags[s]) > 0 })
	// Notifications are handled in order: the macro file's are in.
	c.mu.Lock()
	defer c.mu.Unlock()
	if d, ok := c.diags[m]; !ok || len(d) != 0 {
		t.Errorf("valid code behind a macro has diagnostics %v (published: %v)", d, ok)
	}
}
