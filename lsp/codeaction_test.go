package lsp

import (
	"context"
	"encoding/json"
	"path/filepath"
	"reflect"
	"testing"

	"go.lsp.dev/protocol"
	"go.lsp.dev/uri"
)

// TestCodeActionResolve: an action that already carries its command comes
// back as it is (Neovim 0.7 resolves every action without an edit); one
// with only data gets its command, whose argument says what to do, where,
// and how to answer; anything else is refused. The selected text is found
// in the negotiated encoding ("wörld" is at bytes 12-18, UTF-16 units 9-14).
func TestCodeActionResolve(t *testing.T) {
	const text = "héllo 😀 wörld\nline two\nline three\n"
	utf8Only := []protocol.PositionEncodingKind{protocol.PositionEncodingKindUTF8}
	given, _ := json.Marshal(RunArgs{Instruction: "do it", URI: "file:///elsewhere/b.go"})
	tests := []struct {
		name    string
		offered []protocol.PositionEncodingKind
		ca      func(u uri.URI) protocol.CodeAction
		want    func(u uri.URI) protocol.Command // its one argument is compared decoded
		wantErr bool
	}{
		{name: "a command already there",
			ca: func(uri.URI) protocol.CodeAction {
				return protocol.CodeAction{Title: "Loom: Fix", Command: protocol.Command{Title: "Loom: Fix", Command: CommandRun, Arguments: []protocol.LSPAny{given}}}
			},
			want: func(uri.URI) protocol.Command {
				return protocol.Command{Title: "Loom: Fix", Command: CommandRun, Arguments: []protocol.LSPAny{given}}
			}},
		{name: "explain whole lines", ca: withData("explain", rng(1, 0, 3, 0), nil),
			want: func(u uri.URI) protocol.Command {
				return runCommand("Loom: Explain", RunArgs{
					Instruction: "Explain what the code in a.txt, lines 2-3 (the selection:\n```\nline two\nline three\n```\n) does and why, in Markdown. Do not edit any file.",
					URI:         string(u), Range: ptr(rng(1, 0, 3, 0)), Answer: true, Described: true})
			}},
		{name: "fix with diagnostics", ca: withData("fix", rng(1, 0, 1, 4), []protocol.Diagnostic{{Range: rng(2, 1, 2, 3),
			Source: protocol.NewOptional("loom"), Message: protocol.String("missing }")}}),
			want: func(u uri.URI) protocol.Command {
				return runCommand("Loom: Fix", RunArgs{
					Instruction: "Fix these problems in a.txt, line 2 (the selection:\n```\nline\n```\n):\n- line 3: loom: missing }",
					URI:         string(u), Range: ptr(rng(1, 0, 1, 4)), Described: true})
			}},
		{name: "selection after non-ASCII, utf-16", ca: withData("document", rng(0, 9, 0, 14), nil),
			want: func(u uri.URI) protocol.Command {
				return runCommand("Loom: Add documentation", RunArgs{
					Instruction: "Add documentation comments to the code in a.txt, line 1 (the selection:\n```\nwörld\n```\n), in the language's usual style. Change nothing else.",
					URI:         string(u), Range: ptr(rng(0, 9, 0, 14)), Described: true})
			}},
		{name: "selection after non-ASCII, utf-8", offered: utf8Only, ca: withData("tests", rng(0, 12, 0, 18), nil),
			want: func(u uri.URI) protocol.Command {
				return runCommand("Loom: Write tests", RunArgs{
					Instruction: "Write tests for the code in a.txt, line 1 (the selection:\n```\nwörld\n```\n), in the project's test style, next to the existing tests.",
					URI:         string(u), Range: ptr(rng(0, 12, 0, 18)), Described: true})
			}},
		// The user types the instruction: the client asks for it.
		{name: "edit with instruction", ca: withData("edit", rng(0, 0, 0, 0), nil),
			want: func(u uri.URI) protocol.Command {
				return runCommand("Loom: Edit with instruction…", RunArgs{URI: string(u), Range: ptr(rng(0, 0, 0, 0))})
			}},
		{name: "no data", ca: func(uri.URI) protocol.CodeAction { return protocol.CodeAction{Title: "x"} }, wantErr: true},
		{name: "unknown action", ca: withData("nope", rng(0, 0, 0, 0), nil), wantErr: true},
		{name: "not json", ca: func(uri.URI) protocol.CodeAction { return protocol.CodeAction{Title: "x", Data: []byte(`not json`)} }, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, srv, _, dir := serveClient(t, Options{}, protocol.UnimplementedClient{}, offering(tt.offered...))
			ctx := context.Background()
			u := uri.File(filepath.Join(dir, "a.txt"))
			if err := srv.DidOpen(ctx, &protocol.DidOpenTextDocumentParams{TextDocument: protocol.TextDocumentItem{URI: u, Version: 1, Text: text}}); err != nil {
				t.Fatal(err)
			}
			ca := tt.ca(u)
			got, err := srv.CodeActionResolve(ctx, &ca)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("resolved as %+v", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := tt.want(u)
			if got.Command.Title != want.Title || got.Command.Command != want.Command || len(got.Command.Arguments) != 1 {
				t.Fatalf("command = %+v, want %+v", got.Command, want)
			}
			var gotArgs, wantArgs RunArgs
			if err := json.Unmarshal(got.Command.Arguments[0], &gotArgs); err != nil {
				t.Fatalf("argument %s: %v", got.Command.Arguments[0], err)
			}
			json.Unmarshal(want.Arguments[0], &wantArgs)
			if !reflect.DeepEqual(gotArgs, wantArgs) {
				t.Errorf("argument = %s\nwant       %s", got.Command.Arguments[0], want.Arguments[0])
			}
		})
	}
}

// withData is a code action as the server sends it to a client that
// resolves commands: only its data.
func withData(action string, r protocol.Range, diags []protocol.Diagnostic) func(uri.URI) protocol.CodeAction {
	return func(u uri.URI) protocol.CodeAction {
		data, _ := json.Marshal(actionData{Action: action, URI: string(u), Range: r})
		return protocol.CodeAction{Title: "Loom", Data: data, Diagnostics: diags}
	}
}

func runCommand(title string, args RunArgs) protocol.Command {
	raw, _ := json.Marshal(args)
	return protocol.Command{Title: title, Command: CommandRun, Arguments: []protocol.LSPAny{raw}}
}
