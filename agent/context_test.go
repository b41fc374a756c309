package agent

import (
	"context"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/loom-agent/loom/llm"
	"github.com/loom-agent/loom/llm/llmtest"
)

func TestFitContext(t *testing.T) {
	big := strings.Repeat("line of tool output\n", 500) // 10,000 chars
	sys := llm.Message{Role: llm.RoleSystem, Content: "sys"}
	user := llm.Message{Role: llm.RoleUser, Content: big} // never shortened: not a tool output
	asst := func(id string) llm.Message {
		return llm.Message{Role: llm.RoleAssistant, ToolCalls: []llm.ToolCall{{ID: id, Name: "read_file"}}}
	}
	tool := func(id, s string) llm.Message { return llm.Message{Role: llm.RoleTool, ToolCallID: id, Content: s} }
	conv := []llm.Message{sys, user, asst("1"), tool("1", big), asst("2"), tool("2", big), asst("3"), tool("3", big)}

	tests := []struct {
		name      string
		window    int
		wantShort []int // indexes of shortened messages
	}{
		{name: "fits", window: 100_000},
		{name: "oldest output first", window: 11_000, wantShort: []int{3}},
		{name: "all but the latest turn", window: 1_000, wantShort: []int{3, 5}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			orig := slices.Clone(conv)
			got := fitContext(conv, tt.window)
			if !reflect.DeepEqual(conv, orig) {
				t.Fatal("fitContext changed its input")
			}
			for i, m := range got {
				short := slices.Contains(tt.wantShort, i)
				if short != strings.Contains(m.Content, shortenNote) {
					t.Errorf("message %d shortened: %v, want %v", i, !short, short)
				}
				if short && (!strings.HasPrefix(m.Content, "line of tool output\n") || !strings.HasSuffix(m.Content, "line of tool output\n") ||
					len(m.Content) > keepHead+keepTail+200) {
					t.Errorf("message %d shortened badly (%d chars): %q", i, len(m.Content), m.Content)
				}
			}
		})
	}
}

func TestShortenKeepsHeadAndTail(t *testing.T) {
	s := "HEAD" + strings.Repeat("é", 3000) + "TAIL" // two-byte runes: cuts must not split them
	got := shorten(s)
	if !strings.HasPrefix(got, "HEAD") || !strings.HasSuffix(got, "TAIL") || !strings.Contains(got, shortenNote) {
		t.Errorf("shorten kept %q", got)
	}
	if !strings.Contains(got, "(4008 bytes omitted)") {
		t.Errorf("omitted count wrong in %q", got[keepHead-10:keepHead+100])
	}
	if strings.ContainsRune(got, '\uFFFD') || !utf8Valid(got) {
		t.Error("shorten split a rune")
	}
}

func utf8Valid(s string) bool { return strings.ToValidUTF8(s, "?") == s }

// TestContextIsManagedInRequests: as the conversation outgrows the window,
// an old output is sent shortened, while the latest turn's goes in full and
// the transcript keeps everything.
func TestContextIsManagedInRequests(t *testing.T) {
	big := strings.Repeat("some long generated content line\n", 300) // ~9,900 chars
	read := func(id, path string) llmtest.Turn {
		return llmtest.Turn{ToolCalls: []llmtest.ToolCall{{ID: id, Name: "read_file", Arguments: args(t, map[string]string{"path": path})}}}
	}
	f := newFixture(t, map[string]string{"a.txt": big, "b.txt": big},
		read("ra", "a.txt"), read("rb", "b.txt"), llmtest.Turn{Text: "done"})
	res, err := f.agent(t, Options{ContextWindow: 4000}).Run(context.Background(), Task{Instruction: "read", Workspace: f.ws}, nil)
	if err != nil {
		t.Fatal(err)
	}
	reqs := f.srv.ChatRequests()
	if a := toolMessages(reqs[1])["ra"]; strings.Contains(a, shortenNote) || len(a) < len(big) {
		t.Errorf("the latest turn's output was shortened (%d chars)", len(a))
	}
	last := toolMessages(reqs[2])
	if a := last["ra"]; !strings.Contains(a, shortenNote) || len(a) > keepHead+keepTail+200 {
		t.Errorf("the old output was not shortened (%d chars)", len(a))
	}
	if b := last["rb"]; strings.Contains(b, shortenNote) {
		t.Error("the latest turn's output was shortened")
	}
	for _, m := range res.Transcript {
		if strings.Contains(m.Content, shortenNote) {
			t.Error("the transcript holds a shortened output; it must keep the full text")
		}
	}
}
