package lsp

import (
	"context"
	"testing"

	"go.lsp.dev/protocol"
)

// TestCodeActionResolve: an action that already carries its command comes
// back as it is (Neovim 0.7 resolves every action without an edit); one
// with only data gets its command; anything else is refused.
func TestCodeActionResolve(t *testing.T) {
	s := New(Options{})
	ctx := context.Background()
	cmd := protocol.Command{Title: "Loom: Fix", Command: "loom.run"}
	got, err := s.CodeActionResolve(ctx, &protocol.CodeAction{Title: "Loom: Fix", Command: cmd})
	if err != nil || got.Command.Title != cmd.Title || got.Command.Command != cmd.Command {
		t.Fatalf("resolve with a command = %+v, %v", got, err)
	}
	got, err = s.CodeActionResolve(ctx, &protocol.CodeAction{Title: "Loom: Explain",
		Data: []byte(`{"action":"explain","uri":"file:///tmp/a.go","range":{"start":{"line":0,"character":0},"end":{"line":1,"character":0}}}`)})
	if err != nil || got.Command.Command != "loom.run" {
		t.Fatalf("resolve with data = %+v, %v", got, err)
	}
	for _, data := range []string{``, `{"action":"nope"}`, `not json`} {
		if _, err := s.CodeActionResolve(ctx, &protocol.CodeAction{Title: "x", Data: []byte(data)}); err == nil {
			t.Errorf("data %q was resolved", data)
		}
	}
}
