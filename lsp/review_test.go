package lsp

import (
	"context"
	"net"
	"strings"
	"testing"

	"go.lsp.dev/jsonrpc2"
	"go.lsp.dev/protocol"
	"go.lsp.dev/uri"

	"github.com/loom-agent/loom/session"
	"github.com/loom-agent/loom/workspace"
)

// TestReviewAnnotations: loom.run's workspace/applyEdit asks the client to
// confirm the edit (one change annotation with needsConfirmation, referred
// to by every text edit) exactly when the client honours annotations in
// documentChanges and has not turned review off with initializationOptions.
func TestReviewAnnotations(t *testing.T) {
	create := []protocol.ResourceOperationKind{protocol.ResourceOperationKindCreate}
	annotating := &protocol.WorkspaceEditClientCapabilities{DocumentChanges: ptr(true), ResourceOperations: create, ChangeAnnotationSupport: &protocol.ChangeAnnotationsSupportOptions{}}
	tests := []struct {
		name      string
		we        *protocol.WorkspaceEditClientCapabilities
		options   string
		wantKind  string // how the edit reached the client
		wantError string // initialize's error
	}{
		{"review by default", annotating, "", "annotated", ""},
		{"review asked for", annotating, `{"review": true, "other": 1}`, "annotated", ""},
		{"null options", annotating, `null`, "annotated", ""},
		{"review turned off", annotating, `{"review": false}`, "plain", ""},
		{"client without annotations", &protocol.WorkspaceEditClientCapabilities{DocumentChanges: ptr(true), ResourceOperations: create}, "", "plain", ""},
		{"client without documentChanges", &protocol.WorkspaceEditClientCapabilities{ChangeAnnotationSupport: &protocol.ChangeAnnotationsSupportOptions{}}, "", "changes", ""},
		{"review not a boolean", annotating, `{"review": "yes"}`, "", "initializationOptions must be an object"},
		{"options not an object", annotating, `[1]`, "", "initializationOptions must be an object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ed := &editor{edits: make(chan protocol.WorkspaceEdit, 1)}
			caps := protocol.ClientCapabilities{Workspace: &protocol.WorkspaceClientCapabilities{ApplyEdit: ptr(true), WorkspaceEdit: tt.we}}
			srv, err := serveWithOptions(t, Options{Sessions: &session.Service{},
				NewAgent: func(*workspace.Workspace) (session.Runner, error) { return stager{"p.go": "package q\n"}, nil }},
				ed, caps, tt.options)
			if tt.wantError != "" {
				var rpcErr *jsonrpc2.Error
				if err == nil || !strings.Contains(err.Error(), tt.wantError) || !(asRPC(err, &rpcErr) && rpcErr.Code == jsonrpc2.InvalidParams) {
					t.Fatalf("initialize error = %v, want invalid params mentioning %q", err, tt.wantError)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if _, err := execute(srv, CommandRun, map[string]any{"instruction": "rename the package"}); err != nil {
				t.Fatal(err)
			}
			we := <-ed.edits
			if got := editKind(t, we); got != tt.wantKind {
				t.Fatalf("the edit came %s, want %s: %+v", got, tt.wantKind, we)
			}
			if tt.wantKind != "annotated" {
				if len(we.ChangeAnnotations) != 0 {
					t.Errorf("change annotations sent: %+v", we.ChangeAnnotations)
				}
				return
			}
			a, ok := we.ChangeAnnotations[reviewAnnotation]
			if !ok || a.NeedsConfirmation == nil || !*a.NeedsConfirmation || a.Label != "Loom: rename the package" {
				t.Errorf("annotations = %+v, want %s needing confirmation, labelled with the instruction", we.ChangeAnnotations, reviewAnnotation)
			}
		})
	}
}

// editKind says whether we holds plain changes, or documentChanges whose
// text edits are all annotated for review or all plain.
func editKind(t *testing.T, we protocol.WorkspaceEdit) string {
	t.Helper()
	if len(we.Changes) > 0 {
		return "changes"
	}
	kinds := map[string]bool{}
	for _, dc := range we.DocumentChanges {
		// The agent creates p.go: a create operation, then its text.
		if cf, ok := dc.(*protocol.CreateFile); ok {
			kinds[map[bool]string{true: "annotated", false: "plain"}[cf.AnnotationID == reviewAnnotation]] = true
			continue
		}
		tde, ok := dc.(*protocol.TextDocumentEdit)
		if !ok {
			t.Fatalf("unexpected document change %T", dc)
		}
		for _, e := range tde.Edits {
			switch e := e.(type) {
			case *protocol.AnnotatedTextEdit:
				if e.AnnotationID != reviewAnnotation {
					t.Errorf("edit annotated %q", e.AnnotationID)
				}
				kinds["annotated"] = true
			case *protocol.TextEdit:
				kinds["plain"] = true
			default:
				t.Fatalf("unexpected edit %T", e)
			}
		}
	}
	if len(kinds) != 1 {
		t.Fatalf("edits of kinds %v", kinds)
	}
	for k := range kinds {
		return k
	}
	return ""
}

func asRPC(err error, target **jsonrpc2.Error) bool {
	e, ok := err.(*jsonrpc2.Error)
	if ok {
		*target = e
	}
	return ok
}

// serveWithOptions is serveClient with initializationOptions (raw JSON,
// "" for none); it returns initialize's error.
func serveWithOptions(t *testing.T, opts Options, client protocol.Client, caps protocol.ClientCapabilities, options string) (protocol.Server, error) {
	t.Helper()
	a, b := net.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { New(opts).Serve(ctx, a); close(done) }()
	_, srv := NewClientConn(ctx, client, b)
	t.Cleanup(func() { cancel(); b.Close(); <-done })
	root := uri.File(t.TempDir())
	params := &protocol.InitializeParams{RootURI: &root, Capabilities: caps}
	if options != "" {
		params.InitializationOptions = []byte(options)
	}
	_, err := srv.Initialize(ctx, params)
	return srv, err
}
