package thread

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/loom-agent/loom/llm"
)

// openStore opens a new database in a temporary folder.
func openStore(t testing.TB) *Store {
	t.Helper()
	s, err := Open(filepath.Join(t.TempDir(), "loom", "threads.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// newThread creates a thread with the given title and turns.
func newThread(t testing.TB, s *Store, m Meta, turns ...Turn) string {
	t.Helper()
	ctx := context.Background()
	th, err := s.Create(ctx, m)
	if err != nil {
		t.Fatal(err)
	}
	for _, turn := range turns {
		if _, err := s.AppendTurn(ctx, th.ID, turn); err != nil {
			t.Fatal(err)
		}
	}
	return th.ID
}

func userTurn(text string) Turn {
	return Turn{Messages: []llm.Message{{Role: llm.RoleUser, Content: text}}}
}

func assistant(text string) Turn {
	return Turn{Messages: []llm.Message{{Role: llm.RoleAssistant, Content: text}}, Usage: llm.Usage{PromptTokens: 10, CompletionTokens: 2}}
}

// toolTurn is an assistant turn calling one tool, with its result.
func toolTurn(text, id, name, args, result string) Turn {
	return Turn{
		Usage: llm.Usage{PromptTokens: 100, CompletionTokens: 20},
		Messages: []llm.Message{
			{Role: llm.RoleAssistant, Content: text, ToolCalls: []llm.ToolCall{{ID: id, Name: name, Arguments: args}}},
			{Role: llm.RoleTool, ToolCallID: id, Content: result},
		},
	}
}
