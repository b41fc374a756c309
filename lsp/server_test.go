package lsp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"go.lsp.dev/jsonrpc2"
	"go.lsp.dev/protocol"
	"go.lsp.dev/uri"

	"github.com/loom-agent/loom/agent"
	"github.com/loom-agent/loom/analysis"
	"github.com/loom-agent/loom/codeindex"
	"github.com/loom-agent/loom/session"
	"github.com/loom-agent/loom/workspace"
)

// serveInProcess runs a server on one end of a pipe and returns a client
// dispatcher on the other.
func serveInProcess(tb testing.TB, opts Options) (protocol.Server, string) {
	srv, dir, _ := serveConn(tb, opts)
	return srv, dir
}

func serveConn(tb testing.TB, opts Options) (protocol.Server, string, jsonrpc2.Conn) {
	tb.Helper()
	return serveConnAt(tb, opts, tb.TempDir())
}

// serveConnAt serves the workspace dir.
func serveConnAt(tb testing.TB, opts Options, dir string) (protocol.Server, string, jsonrpc2.Conn) {
	tb.Helper()
	a, b := net.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { New(opts).Serve(ctx, a); close(done) }()
	conn, srv := NewClientConn(ctx, protocol.UnimplementedClient{}, b)
	tb.Cleanup(func() { cancel(); b.Close(); <-done })
	root := uri.File(dir)
	if _, err := srv.Initialize(ctx, &protocol.InitializeParams{RootURI: &root}); err != nil {
		tb.Fatal(err)
	}
	return srv, dir, conn
}

type panicky struct{}

func (panicky) Run(context.Context, agent.Task, func(agent.Event)) (agent.Result, error) {
	panic("boom")
}

// TestPanicIsContained: a handler that panics answers its request with an
// internal error; the session goes on.
func TestPanicIsContained(t *testing.T) {
	srv, dir := serveInProcess(t, Options{NewAgent: func(*workspace.Workspace) (session.Runner, error) { return panicky{}, nil }})
	args, _ := json.Marshal(RunArgs{Instruction: "explode"})
	_, err := srv.ExecuteCommand(context.Background(), &protocol.ExecuteCommandParams{Command: CommandRun, Arguments: []protocol.LSPAny{args}})
	var rpcErr *jsonrpc2.Error
	if !errors.As(err, &rpcErr) || rpcErr.Code != jsonrpc2.InternalError || !strings.Contains(rpcErr.Message, "boom") {
		t.Fatalf("executeCommand error = %v, want an internal error", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "a.go"), []byte("package a\n\nfunc A() {}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := srv.DocumentSymbol(context.Background(), &protocol.DocumentSymbolParams{TextDocument: protocol.TextDocumentIdentifier{URI: uri.File(filepath.Join(dir, "a.go"))}})
	if syms, _ := res.(protocol.DocumentSymbolSlice); err != nil || len(syms) != 1 || syms[0].Name != "A" {
		t.Errorf("after the panic, documentSymbol = %v, %v", res, err)
	}
}

// TestWorkspaceEdit checks the two wire forms of a changeset, what each
// client can be sent, and every edit's range and text in each encoding.
// The edited lines end the files without a newline, so the edits end after
// their non-ASCII characters: "b 😀 é" is 9 bytes, 6 UTF-16 units, 5 code
// points; "ö 😀 😀 o" is 14, 9, 7.
func TestWorkspaceEdit(t *testing.T) {
	dir := t.TempDir()
	for name, text := range map[string]string{"mod.go": "a\nb 😀 é", "gone.go": "x\n", "old.go": "ö 😀 😀 o"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ws, err := workspace.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	modifyOnly := ws.NewChangeset()
	modifyOnly.WriteFile("mod.go", []byte("a\nB 😀 é!"))
	modifyOnly.WriteFile("new.go", []byte("n\n"))
	all := ws.NewChangeset()
	all.WriteFile("mod.go", []byte("a\nB 😀 é!"))
	all.WriteFile("new.go", []byte("n\n"))
	all.Remove("gone.go")
	all.Move("old.go", "renamed.go")
	all.WriteFile("renamed.go", []byte("ö 😀 😀 O"))
	allOps := []protocol.ResourceOperationKind{"create", "rename", "delete"}
	// allChanges is what a client with file operations is sent, with the
	// two edited lines ending at mod and ren.
	allChanges := func(mod, ren int) []string {
		return []string{
			"delete gone.go",
			fmt.Sprintf(`edit mod.go v7 1:0-1:%d "B 😀 é!"`, mod),
			"create new.go",
			`edit new.go v- 0:0-0:0 "n\n"`,
			"rename old.go renamed.go",
			fmt.Sprintf(`edit renamed.go v- 0:0-0:%d "ö 😀 😀 O"`, ren),
		}
	}

	tests := []struct {
		name    string
		cs      *workspace.Changeset
		caps    clientCaps
		want    []string // describeEdit's lines
		wantErr string
	}{
		{"changes: modify and create, utf-16", modifyOnly, clientCaps{enc: workspace.UTF16},
			[]string{`changes mod.go 1:0-1:6 "B 😀 é!"`, `changes new.go 0:0-0:0 "n\n"`}, ""},
		{"changes: modify and create, utf-8", modifyOnly, clientCaps{enc: workspace.UTF8},
			[]string{`changes mod.go 1:0-1:9 "B 😀 é!"`, `changes new.go 0:0-0:0 "n\n"`}, ""},
		{"changes cannot delete or rename", all, clientCaps{enc: workspace.UTF16},
			nil, "delete gone.go, rename old.go"},
		{"documentChanges with file operations, utf-8", all, clientCaps{enc: workspace.UTF8, documentChanges: true, resourceOps: allOps},
			allChanges(9, 14), ""},
		{"documentChanges with file operations, utf-16", all, clientCaps{enc: workspace.UTF16, documentChanges: true, resourceOps: allOps},
			allChanges(6, 9), ""},
		{"documentChanges with file operations, utf-32", all, clientCaps{enc: workspace.UTF32, documentChanges: true, resourceOps: allOps},
			allChanges(5, 7), ""},
		{"documentChanges without file operations", all, clientCaps{enc: workspace.UTF16, documentChanges: true},
			nil, "resourceOperations"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			we, err := workspaceEdit(tt.cs, editTarget{caps: tt.caps, ws: ws, version: func(rel string) (int32, bool) {
				return 7, rel == "mod.go"
			}})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want it to mention %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := describeEdit(we); !slices.Equal(got, tt.want) {
				t.Errorf("got  %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestHelpers(t *testing.T) {
	fuzzy := []struct {
		q, name string
		want    bool
	}{{"gr", "greeting", true}, {"GRT", "greeting", true}, {"gz", "greeting", false}, {"", "x", true}}
	for _, f := range fuzzy {
		if got := fuzzyMatch(f.q, f.name); got != f.want {
			t.Errorf("fuzzyMatch(%q, %q) = %v", f.q, f.name, got)
		}
	}
	only := []struct {
		kind protocol.CodeActionKind
		only []protocol.CodeActionKind
		want bool
	}{
		{protocol.CodeActionKindRefactorRewrite, []protocol.CodeActionKind{protocol.CodeActionKindRefactor}, true},
		{protocol.CodeActionKindQuickFix, []protocol.CodeActionKind{protocol.CodeActionKindRefactor}, false},
		{kindExplain, nil, true},
		{"refactorx", []protocol.CodeActionKind{protocol.CodeActionKindRefactor}, false},
	}
	for _, o := range only {
		if got := wanted(o.kind, o.only); got != o.want {
			t.Errorf("wanted(%q, %q) = %v", o.kind, o.only, got)
		}
	}
	if got := clip("a 😀😀", 4); got != "a …" {
		t.Errorf("clip cut inside a rune: %q", got)
	}
}

// TestDocumentSymbolAfterRandomEdits checks, over seeded random edits sent
// as didChange, that documentSymbol (which reuses the symbols of items that
// only moved) answers what converting a fresh parse gives, with non-ASCII
// text and line breaks of every kind so UTF-16 characters and '\r' count.
func TestDocumentSymbolAfterRandomEdits(t *testing.T) {
	srv, dir := serveInProcess(t, Options{})
	ctx := context.Background()
	u := uri.File(filepath.Join(dir, "r.go"))
	var b strings.Builder
	b.WriteString("package r\n\n")
	for i := range 40 {
		fmt.Fprintf(&b, "// F%d é😀\nfunc F%d(s string) string { return \"😀\" + s }\n\ntype T%d struct{ A, Bé int }\n\n", i, i, i)
	}
	text := b.String()
	if err := srv.DidOpen(ctx, &protocol.DidOpenTextDocumentParams{TextDocument: protocol.TextDocumentItem{URI: u, Version: 1, Text: text}}); err != nil {
		t.Fatal(err)
	}
	// Carriage returns come in the second half: until then LSP and
	// analysis agree on lines.
	pool := []string{"// x\n", "\n", "func G() {}\n", "type U struct{ V int }\n", "/*", "*/", "}", "😀é", "x := 1\n", "", "\r\n", "\r"}
	r := rand.New(rand.NewPCG(1, 2))
	for step := range 300 {
		lines := workspace.NewLines(text)
		start := r.IntN(len(text) + 1)
		end := min(len(text), start+r.IntN(40))
		if r.IntN(2) == 0 {
			end = start
		}
		// Keep the ends on rune boundaries, as an editor's positions are.
		for start > 0 && !utf8.RuneStart(text[start]) {
			start--
		}
		for end < len(text) && !utf8.RuneStart(text[end]) {
			end++
		}
		ps, _ := lines.Position(start, workspace.UTF16)
		pe, _ := lines.Position(end, workspace.UTF16)
		// Offsets between "\r" and "\n" have no position of their own.
		if o, _ := lines.Offset(ps, workspace.UTF16); o != start {
			continue
		}
		if o, _ := lines.Offset(pe, workspace.UTF16); o != end {
			continue
		}
		ins := pool[r.IntN(len(pool)-2)]
		if step >= 150 {
			ins = pool[r.IntN(len(pool))]
		}
		err := srv.DidChange(ctx, &protocol.DidChangeTextDocumentParams{
			TextDocument: protocol.VersionedTextDocumentIdentifier{TextDocumentIdentifier: protocol.TextDocumentIdentifier{URI: u}, Version: int32(step + 2)},
			ContentChanges: []protocol.TextDocumentContentChangeEvent{&protocol.TextDocumentContentChangePartial{
				Range: protocol.Range{Start: toProto(ps), End: toProto(pe)}, Text: ins}},
		})
		if err != nil {
			t.Fatal(err)
		}
		text = text[:start] + ins + text[end:]
		res, err := srv.DocumentSymbol(ctx, &protocol.DocumentSymbolParams{TextDocument: protocol.TextDocumentIdentifier{URI: u}})
		if err != nil {
			t.Fatal(err)
		}
		// A fresh document parses from scratch with its own parser (the
		// shared pool's can be left cancelled by an earlier request).
		fresh, err := analysis.NewDocument(ctx, "r.go", []byte(text))
		if err != nil {
			t.Fatal(err)
		}
		items, err := fresh.Outline()
		fresh.Close()
		if err != nil {
			t.Fatal(err)
		}
		want := protocol.DocumentSymbolSlice{}
		for _, it := range items {
			want = append(want, documentSymbol(it, workspace.NewLines(text), workspace.UTF16))
		}
		gotJSON, _ := protocol.Marshal(res)
		wantJSON, _ := protocol.Marshal(want)
		if string(gotJSON) != string(wantJSON) {
			t.Fatalf("step %d: after replacing [%d,%d) with %q\ngot  %s\nwant %s", step, start, end, ins, gotJSON, wantJSON)
		}
	}
}

// TestIndexBuiltAfterInitialized: once the client says initialized, the
// server builds the symbol index by itself, so the first workspace/symbol
// finds it ready and builds nothing more.
func TestIndexBuiltAfterInitialized(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	srv, dir, _ := serveConn(t, Options{})
	if err := os.WriteFile(filepath.Join(dir, "a.go"), []byte("package a\n\nfunc Alpha() {}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ws, err := workspace.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	index := codeindex.For(ws) // the server's: one per root
	if st := index.Stats(); st.Walks != 0 {
		t.Fatalf("an index before initialized: %+v", st)
	}
	if err := srv.Initialized(context.Background(), &protocol.InitializedParams{}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for index.Stats().Walks == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no index was built after initialized")
		}
		time.Sleep(10 * time.Millisecond)
	}
	res, err := srv.Symbols(context.Background(), &protocol.WorkspaceSymbolParams{Query: "Alpha"})
	if err != nil {
		t.Fatal(err)
	}
	if syms, _ := res.(protocol.SymbolInformationSlice); len(syms) != 1 || syms[0].Name != "Alpha" {
		t.Fatalf("workspace/symbol Alpha = %v", res)
	}
	if st := index.Stats(); st.Walks != 1 {
		t.Fatalf("workspace/symbol built the index again: %+v", st)
	}
}

func TestBroadRoot(t *testing.T) {
	home, err := os.UserHomeDir()
	if err != nil {
		t.Skip(err)
	}
	for root, want := range map[string]bool{"/": true, home: true, t.TempDir(): false, filepath.Join(home, "project"): false} {
		if got := broadRoot(root); got != want {
			t.Errorf("broadRoot(%q) = %v, want %v", root, got, want)
		}
	}
}
