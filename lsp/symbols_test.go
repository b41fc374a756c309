package lsp

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.lsp.dev/protocol"
	"go.lsp.dev/uri"

	"github.com/loom-agent/loom/codeindex"
	"github.com/loom-agent/loom/tools"
	"github.com/loom-agent/loom/workspace"
)

// TestIndexSharedWithTools: workspace/symbol and the agent's find_symbol
// tool, on workspaces opened apart, answer from one index: one walk for
// both, and a save or a watched-file event the server is told of reaches
// the tool too. Each change keeps the file's size and time, which the
// index's own stat check cannot see: only the notification tells it.
func TestIndexSharedWithTools(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	srv, dir, _ := serveConn(t, Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	path := filepath.Join(dir, "a.go")
	if err := os.WriteFile(path, []byte("package a\n\nfunc Alpha() {}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ws, err := workspace.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	reg, err := tools.NewBuiltinRegistry()
	if err != nil {
		t.Fatal(err)
	}
	lspFinds := func(name string) bool {
		t.Helper()
		res, err := srv.Symbols(ctx, &protocol.WorkspaceSymbolParams{Query: name})
		if err != nil {
			t.Fatal(err)
		}
		syms, _ := res.(protocol.SymbolInformationSlice)
		return len(syms) == 1 && syms[0].Name == name
	}
	toolFinds := func(name string) bool {
		t.Helper()
		args, _ := json.Marshal(map[string]string{"name": name})
		res, err := reg.Run(ctx, &tools.Env{Changes: ws.NewChangeset()}, "find_symbol", args)
		if err != nil {
			t.Fatal(err)
		}
		return strings.HasPrefix(res.Text, "a.go:3: function "+name)
	}
	// rename rewrites a.go with another name of the same length and puts
	// its time back.
	rename := func(name string) {
		t.Helper()
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte("package a\n\nfunc "+name+"() {}\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(path, fi.ModTime(), fi.ModTime()); err != nil {
			t.Fatal(err)
		}
	}
	index := codeindex.For(ws)

	if !lspFinds("Alpha") || !toolFinds("Alpha") {
		t.Fatal("Alpha not found by workspace/symbol and find_symbol")
	}
	if st := index.Stats(); st.Walks != 1 {
		t.Fatalf("stats %+v: want the one walk both share", st)
	}

	rename("Omega")
	if toolFinds("Omega") {
		t.Fatal("the stat check saw the change; the test proves nothing")
	}
	if err := srv.DidSave(ctx, &protocol.DidSaveTextDocumentParams{TextDocument: protocol.TextDocumentIdentifier{URI: uri.File(path)}}); err != nil {
		t.Fatal(err)
	}
	// Notifications are handled in order before the next request.
	if !lspFinds("Omega") || !toolFinds("Omega") || toolFinds("Alpha") {
		t.Fatal("after didSave, Omega is not what both find")
	}

	rename("Sigma")
	if err := srv.DidChangeWatchedFiles(ctx, &protocol.DidChangeWatchedFilesParams{Changes: []protocol.FileEvent{
		{URI: uri.File(path), Type: protocol.FileChangeTypeChanged},
		{URI: uri.File("/elsewhere/x.go"), Type: protocol.FileChangeTypeDeleted},
	}}); err != nil {
		t.Fatal(err)
	}
	if !lspFinds("Sigma") || !toolFinds("Sigma") {
		t.Fatal("after didChangeWatchedFiles, Sigma is not what both find")
	}
	if st := index.Stats(); st.Walks != 1 || st.Updates != 2 {
		t.Fatalf("stats %+v: want 1 walk and an update per notification", st)
	}
}
