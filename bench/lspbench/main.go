// Command lspbench times two moments of a language server's life as an
// editor sees them: spawn → initialize answered, and the first
// textDocument/codeAction after didOpen. It runs each server RUNS times on
// the same module and prints the medians in milliseconds, one server per
// line: NAME INIT_MS CODEACTION_MS. bench/lsp.sh runs it for loom and gopls.
//
//	lspbench -dir MODULE -file main.go -runs 5 NAME=CMD [NAME=CMD ...]
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"go.lsp.dev/protocol"
	"go.lsp.dev/uri"

	"github.com/loom-agent/loom/lsp"
)

func main() {
	dir := flag.String("dir", ".", "the module to open")
	file := flag.String("file", "main.go", "the file to open and ask code actions for")
	runs := flag.Int("runs", 5, "runs per server")
	flag.Parse()
	if flag.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "usage: lspbench -dir DIR -file FILE -runs N NAME=COMMAND...")
		os.Exit(2)
	}
	abs, err := filepath.Abs(*dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	for _, spec := range flag.Args() {
		name, command, ok := strings.Cut(spec, "=")
		if !ok {
			fmt.Fprintf(os.Stderr, "lspbench: %q is not NAME=COMMAND\n", spec)
			os.Exit(2)
		}
		var inits, actions []time.Duration
		for i := 0; i < *runs; i++ {
			in, ca, err := once(strings.Fields(command), abs, *file)
			if err != nil {
				fmt.Fprintf(os.Stderr, "lspbench: %s: %v\n", name, err)
				os.Exit(1)
			}
			inits, actions = append(inits, in), append(actions, ca)
		}
		fmt.Printf("%s %.1f %.1f\n", name, median(inits), median(actions))
	}
}

// once starts the server, initializes it, opens file and asks for code
// actions on its first lines, then shuts it down.
func once(argv []string, dir, file string) (initTime, actionTime time.Duration, err error) {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = dir
	cmd.Stderr = io.Discard
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return 0, 0, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return 0, 0, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return 0, 0, err
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	_, server := lsp.NewClientConn(ctx, client{}, rwc{stdout, stdin})
	root := uri.File(dir)
	caps := protocol.ClientCapabilities{
		Workspace: &protocol.WorkspaceClientCapabilities{ApplyEdit: ptr(true), Configuration: ptr(true),
			WorkspaceEdit: &protocol.WorkspaceEditClientCapabilities{DocumentChanges: ptr(true)}},
		TextDocument: &protocol.TextDocumentClientCapabilities{CodeAction: &protocol.CodeActionClientCapabilities{
			CodeActionLiteralSupport: protocol.ClientCodeActionLiteralOptions{CodeActionKind: protocol.ClientCodeActionKindOptions{
				ValueSet: []protocol.CodeActionKind{"", "quickfix", "refactor", "refactor.rewrite", "source"}}}}},
	}
	folders := []protocol.WorkspaceFolder{{URI: root, Name: filepath.Base(dir)}}
	params := &protocol.InitializeParams{RootURI: &root, Capabilities: caps,
		WorkspaceFoldersInitializeParams: protocol.WorkspaceFoldersInitializeParams{WorkspaceFolders: protocol.NewNullable(folders)}}
	if _, err := server.Initialize(ctx, params); err != nil {
		return 0, 0, fmt.Errorf("initialize: %w", err)
	}
	initTime = time.Since(start)
	if err := server.Initialized(ctx, &protocol.InitializedParams{}); err != nil {
		return 0, 0, err
	}
	text, err := os.ReadFile(filepath.Join(dir, file))
	if err != nil {
		return 0, 0, err
	}
	u := uri.File(filepath.Join(dir, file))
	start = time.Now()
	if err := server.DidOpen(ctx, &protocol.DidOpenTextDocumentParams{TextDocument: protocol.TextDocumentItem{URI: u, LanguageID: "go", Version: 1, Text: string(text)}}); err != nil {
		return 0, 0, err
	}
	rng := protocol.Range{Start: protocol.Position{Line: 2}, End: protocol.Position{Line: 4}}
	if _, err := server.CodeAction(ctx, &protocol.CodeActionParams{TextDocument: protocol.TextDocumentIdentifier{URI: u}, Range: rng}); err != nil {
		return 0, 0, fmt.Errorf("codeAction: %w", err)
	}
	actionTime = time.Since(start)
	server.Shutdown(ctx)
	server.Exit(ctx)
	return initTime, actionTime, nil
}

// client answers the server-to-client requests gopls makes on startup.
type client struct{ protocol.UnimplementedClient }

func (client) Configuration(_ context.Context, p *protocol.ConfigurationParams) ([]protocol.LSPAny, error) {
	out := make([]protocol.LSPAny, len(p.Items))
	for i := range out {
		out[i] = protocol.LSPAny("null")
	}
	return out, nil
}

func (client) RegisterCapability(context.Context, *protocol.RegistrationParams) error { return nil }
func (client) WorkDoneProgressCreate(context.Context, *protocol.WorkDoneProgressCreateParams) error {
	return nil
}
func (client) WorkspaceFolders(context.Context) ([]protocol.WorkspaceFolder, error) { return nil, nil }

type rwc struct {
	io.ReadCloser
	io.WriteCloser
}

func (c rwc) Close() error { c.WriteCloser.Close(); return c.ReadCloser.Close() }

func ptr[T any](v T) *T { return &v }

func median(ds []time.Duration) float64 {
	s := slices.Clone(ds)
	slices.Sort(s)
	return float64(s[len(s)/2].Microseconds()) / 1000
}
