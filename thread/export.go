package thread

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/loom-agent/loom/llm"
)

// Format is an export format.
type Format string

// The export formats.
const (
	FormatMarkdown Format = "markdown"
	FormatJSON     Format = "json"
)

// ParseFormat reads a format name ("markdown", "md" or "json").
func ParseFormat(s string) (Format, error) {
	switch strings.ToLower(s) {
	case "markdown", "md":
		return FormatMarkdown, nil
	case "json":
		return FormatJSON, nil
	}
	return "", fmt.Errorf("unknown export format %q: want markdown or json", s)
}

// Export writes thread id to w in format f.
func (s *Store) Export(ctx context.Context, w io.Writer, id string, f Format) error {
	if _, err := ParseFormat(string(f)); err != nil {
		return err
	}
	t, err := s.Get(ctx, id)
	if err != nil {
		return err
	}
	if f == FormatJSON {
		return WriteJSON(w, t)
	}
	return WriteMarkdown(w, t)
}

// WriteJSON writes t as indented JSON: the Thread type's fields, turns and
// messages included.
func WriteJSON(w io.Writer, t *Thread) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(t)
}

// WriteMarkdown writes t as a Markdown document: a header of facts, then
// each turn's messages, tool calls and results in fenced blocks, then the
// diff.
func WriteMarkdown(w io.Writer, t *Thread) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# %s\n\n", t.Title)
	fmt.Fprintf(&b, "- ID: `%s`\n", t.ID)
	fmt.Fprintf(&b, "- Workspace: `%s`\n", t.Workspace)
	if t.Model != "" {
		fmt.Fprintf(&b, "- Model: `%s`\n", t.Model)
	}
	fmt.Fprintf(&b, "- Status: %s\n", t.Status)
	if t.Error != "" {
		fmt.Fprintf(&b, "- Error: %s\n", oneLine(t.Error))
	}
	fmt.Fprintf(&b, "- Created: %s\n", t.Created.UTC().Format(time.RFC3339))
	fmt.Fprintf(&b, "- Updated: %s\n", t.Updated.UTC().Format(time.RFC3339))
	fmt.Fprintf(&b, "- Tokens: %d in, %d out\n", t.Usage.PromptTokens, t.Usage.CompletionTokens)
	names := map[string]string{}
	for _, turn := range t.Turns {
		for _, m := range turn.Messages {
			writeMessage(&b, turn, m, names)
		}
	}
	if t.Diff != "" {
		b.WriteString("\n## Diff\n\n")
		fenced(&b, "diff", t.Diff)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func writeMessage(b *strings.Builder, turn Turn, m llm.Message, names map[string]string) {
	switch m.Role {
	case llm.RoleUser:
		fmt.Fprintf(b, "\n## User (turn %d)\n\n%s\n", turn.N, strings.TrimSpace(m.Content))
	case llm.RoleAssistant:
		fmt.Fprintf(b, "\n## Assistant (turn %d", turn.N)
		if turn.Usage != (llm.Usage{}) {
			fmt.Fprintf(b, ", %d tokens in, %d out", turn.Usage.PromptTokens, turn.Usage.CompletionTokens)
		}
		b.WriteString(")\n")
		if c := strings.TrimSpace(m.Content); c != "" {
			fmt.Fprintf(b, "\n%s\n", c)
		}
		for _, c := range m.ToolCalls {
			names[c.ID] = c.Name
			fmt.Fprintf(b, "\nTool call `%s` (%s):\n\n", c.Name, c.ID)
			fenced(b, "json", c.Arguments)
		}
	case llm.RoleTool:
		name := names[m.ToolCallID]
		if name == "" {
			name = "tool"
		}
		fmt.Fprintf(b, "\nResult of `%s` (%s):\n\n", name, m.ToolCallID)
		fenced(b, "", m.Content)
	default:
		fmt.Fprintf(b, "\n## %s (turn %d)\n\n", m.Role, turn.N)
		fenced(b, "", m.Content)
	}
}

// fenced writes text in a code fence longer than any run of backticks in
// it, so no content can close the fence early.
func fenced(b *strings.Builder, lang, text string) {
	longest, run := 0, 0
	for _, r := range text {
		if r == '`' {
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	fence := strings.Repeat("`", max(3, longest+1))
	fmt.Fprintf(b, "%s%s\n%s", fence, lang, text)
	if !strings.HasSuffix(text, "\n") {
		b.WriteString("\n")
	}
	fmt.Fprintf(b, "%s\n", fence)
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
