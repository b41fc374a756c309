package lsp

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"go.lsp.dev/protocol"
	"go.lsp.dev/uri"

	"github.com/loom-agent/loom/agent"
	"github.com/loom-agent/loom/session"
	"github.com/loom-agent/loom/workspace"
)

// serveClient runs a server over a pipe for a client with caps and returns
// the server (to look at its buffers), the dispatcher, the initialize
// result and the root.
func serveClient(t *testing.T, opts Options, client protocol.Client, caps protocol.ClientCapabilities) (*Server, protocol.Server, *protocol.InitializeResult, string) {
	t.Helper()
	dir := t.TempDir()
	a, b := net.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	s := New(opts)
	go func() { s.Serve(ctx, a); close(done) }()
	_, srv := NewClientConn(ctx, client, b)
	t.Cleanup(func() { cancel(); b.Close(); <-done })
	root := uri.File(dir)
	init, err := srv.Initialize(ctx, &protocol.InitializeParams{RootURI: &root, Capabilities: caps})
	if err != nil {
		t.Fatal(err)
	}
	return s, srv, init, dir
}

func offering(encs ...protocol.PositionEncodingKind) protocol.ClientCapabilities {
	if encs == nil {
		return protocol.ClientCapabilities{}
	}
	return protocol.ClientCapabilities{General: &protocol.GeneralClientCapabilities{PositionEncodings: encs}}
}

func rng(l1, c1, l2, c2 uint32) protocol.Range {
	return protocol.Range{Start: protocol.Position{Line: l1, Character: c1}, End: protocol.Position{Line: l2, Character: c2}}
}

// TestIncrementalChangeInNegotiatedEncoding sends didChange ranges that lie
// after non-ASCII characters, counted in the encoding the server chose, and
// checks the buffer the agent would read. The character counts are written
// out by hand: "héllo 😀 wörld" has "ö" at bytes 13-15, UTF-16 units 10-11,
// code points 9-10; "zweite 😀 Zeile" ends at byte 17, unit 15.
func TestIncrementalChangeInNegotiatedEncoding(t *testing.T) {
	const text = "héllo 😀 wörld\nzweite 😀 Zeile"
	const want = "héllo 😀 world\nzweite 😀 Zeile 🎉"
	tests := []struct {
		name    string
		offered []protocol.PositionEncodingKind
		want    protocol.PositionEncodingKind
		umlaut  protocol.Range // "ö" on line 0
		end     protocol.Range // the end of line 1, the end of the text
	}{
		{"nothing offered", nil, protocol.PositionEncodingKindUTF16, rng(0, 10, 0, 11), rng(1, 15, 1, 15)},
		{"utf-8", []protocol.PositionEncodingKind{protocol.PositionEncodingKindUTF8}, protocol.PositionEncodingKindUTF8, rng(0, 13, 0, 15), rng(1, 17, 1, 17)},
		{"utf-16 before utf-8", []protocol.PositionEncodingKind{protocol.PositionEncodingKindUTF16, protocol.PositionEncodingKindUTF8}, protocol.PositionEncodingKindUTF8, rng(0, 13, 0, 15), rng(1, 17, 1, 17)},
		// The server does not count in UTF-32; UTF-16 is every client's.
		{"utf-32 only", []protocol.PositionEncodingKind{protocol.PositionEncodingKindUTF32}, protocol.PositionEncodingKindUTF16, rng(0, 10, 0, 11), rng(1, 15, 1, 15)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, srv, init, dir := serveClient(t, Options{}, protocol.UnimplementedClient{}, offering(tt.offered...))
			if got := init.Capabilities.PositionEncoding; got != tt.want {
				t.Fatalf("positionEncoding = %q, want %q", got, tt.want)
			}
			ctx := context.Background()
			// Two documents: one the analysis parses (an incremental
			// reparse follows the splice), one it does not know.
			for _, name := range []string{"notes.txt", "notes.go"} {
				u := uri.File(filepath.Join(dir, name))
				if err := srv.DidOpen(ctx, &protocol.DidOpenTextDocumentParams{TextDocument: protocol.TextDocumentItem{URI: u, Version: 1, Text: text}}); err != nil {
					t.Fatal(err)
				}
				if err := srv.DidChange(ctx, &protocol.DidChangeTextDocumentParams{
					TextDocument: protocol.VersionedTextDocumentIdentifier{TextDocumentIdentifier: protocol.TextDocumentIdentifier{URI: u}, Version: 2},
					ContentChanges: []protocol.TextDocumentContentChangeEvent{
						&protocol.TextDocumentContentChangePartial{Range: tt.umlaut, Text: "o"},
						&protocol.TextDocumentContentChangePartial{Range: tt.end, Text: " 🎉"},
					},
				}); err != nil {
					t.Fatal(err)
				}
				// didChange is a notification: a request after it is
				// answered after it is handled.
				if _, err := srv.DocumentSymbol(ctx, &protocol.DocumentSymbolParams{TextDocument: protocol.TextDocumentIdentifier{URI: u}}); err != nil {
					t.Fatal(err)
				}
				d := s.doc(u)
				d.mu.Lock()
				got, version := d.text, d.version
				d.mu.Unlock()
				if got != want || version != 2 {
					t.Errorf("%s: buffer v%d = %q, want v2 %q", name, version, got, want)
				}
				// What the agent reads is the buffer.
				read, err := s.workspace().NewChangeset().ReadFile(name)
				if err != nil || string(read) != want {
					t.Errorf("%s: the workspace reads %q, %v; want %q", name, read, err, want)
				}
			}
		})
	}
}

// editor is a client that accepts every workspace/applyEdit and keeps it.
type editor struct {
	protocol.UnimplementedClient
	edits chan protocol.WorkspaceEdit
}

func (e *editor) ApplyEdit(ctx context.Context, params *protocol.ApplyWorkspaceEditParams) (*protocol.ApplyWorkspaceEditResult, error) {
	e.edits <- params.Edit
	return &protocol.ApplyWorkspaceEditResult{Applied: true}, nil
}

// stager is an agent that writes files into its changeset.
type stager map[string]string

func (st stager) Run(ctx context.Context, task agent.Task, onEvent func(agent.Event)) (agent.Result, error) {
	cs := task.Workspace.NewChangeset()
	for path, text := range st {
		if _, err := cs.WriteFile(path, []byte(text)); err != nil {
			return agent.Result{}, err
		}
	}
	return agent.Result{Final: "done", Changes: cs, StopReason: agent.StopDone}, nil
}

// TestRunEditInNegotiatedEncoding: loom.run's workspace/applyEdit counts
// characters as the client negotiated. The edited line has no newline
// after it, so the edit ends after its non-ASCII characters: at byte 24,
// UTF-16 unit 20 of `var s = "é 😀 wörld"`.
func TestRunEditInNegotiatedEncoding(t *testing.T) {
	const old = "package p\n\nvar s = \"é 😀 wörld\""
	tests := []struct {
		name    string
		offered []protocol.PositionEncodingKind
		end     uint32
	}{
		{"utf-8", []protocol.PositionEncodingKind{protocol.PositionEncodingKindUTF8}, 24},
		{"utf-16", []protocol.PositionEncodingKind{protocol.PositionEncodingKindUTF16}, 20},
		// The server does not count in UTF-32; UTF-16 is every client's.
		{"utf-32 only", []protocol.PositionEncodingKind{protocol.PositionEncodingKindUTF32}, 20},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			caps := offering(tt.offered...)
			caps.Workspace = &protocol.WorkspaceClientCapabilities{ApplyEdit: ptr(true),
				WorkspaceEdit: &protocol.WorkspaceEditClientCapabilities{DocumentChanges: ptr(true)}}
			ed := &editor{edits: make(chan protocol.WorkspaceEdit, 1)}
			_, srv, _, dir := serveClient(t, Options{NewAgent: func(*workspace.Workspace) (session.Runner, error) {
				return stager{"p.go": "package p\n\nvar s = \"é 😀 world\""}, nil
			}}, ed, caps)
			path := filepath.Join(dir, "p.go")
			if err := os.WriteFile(path, []byte("stale on disk\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			u := uri.File(path)
			if err := srv.DidOpen(context.Background(), &protocol.DidOpenTextDocumentParams{TextDocument: protocol.TextDocumentItem{URI: u, Version: 4, Text: old}}); err != nil {
				t.Fatal(err)
			}
			res, err := execute(srv, CommandRun, map[string]any{"instruction": "fix the umlaut"})
			var out RunResult
			if err != nil || json.Unmarshal(res, &out) != nil || !out.Applied {
				t.Fatalf("loom.run = %s, %v", res, err)
			}
			var we protocol.WorkspaceEdit
			select {
			case we = <-ed.edits:
			case <-time.After(10 * time.Second): // a hang guard; execute has returned
				t.Fatal("no workspace/applyEdit")
			}
			got := describeEdit(we)
			want := []string{fmt.Sprintf(`edit p.go v4 2:0-2:%d "var s = \"é 😀 world\""`, tt.end)}
			if !slices.Equal(got, want) {
				t.Errorf("applyEdit = %q\nwant %q", got, want)
			}
		})
	}
}

// describeEdit renders a WorkspaceEdit for comparison: its plain changes
// by file name, then its documentChanges in order, each text edit as
// "L:C-L:C" and its quoted new text.
func describeEdit(we protocol.WorkspaceEdit) []string {
	name := func(u uri.URI) string { return filepath.Base(u.FsPath()) }
	edits := func(es []protocol.TextEdit) string {
		var b strings.Builder
		for _, e := range es {
			r := e.Range
			fmt.Fprintf(&b, " %d:%d-%d:%d %q", r.Start.Line, r.Start.Character, r.End.Line, r.End.Character, e.NewText)
		}
		return b.String()
	}
	var out []string
	for u, es := range we.Changes {
		out = append(out, "changes "+name(u)+edits(es))
	}
	slices.Sort(out)
	for _, dc := range we.DocumentChanges {
		switch c := dc.(type) {
		case *protocol.TextDocumentEdit:
			v := "-"
			if c.TextDocument.Version != nil {
				v = fmt.Sprint(*c.TextDocument.Version)
			}
			var es []protocol.TextEdit
			for _, e := range c.Edits {
				te, ok := e.(*protocol.TextEdit)
				if !ok {
					return append(out, fmt.Sprintf("edit %s: an edit of type %T", name(c.TextDocument.URI), e))
				}
				es = append(es, *te)
			}
			out = append(out, fmt.Sprintf("edit %s v%s%s", name(c.TextDocument.URI), v, edits(es)))
		case *protocol.CreateFile:
			out = append(out, "create "+name(c.URI))
		case *protocol.DeleteFile:
			out = append(out, "delete "+name(c.URI))
		case *protocol.RenameFile:
			out = append(out, "rename "+name(c.OldURI)+" "+name(c.NewURI))
		default:
			out = append(out, fmt.Sprintf("%T", dc))
		}
	}
	return out
}
