package cmdutil

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/loom-agent/loom/agent"
	"github.com/loom-agent/loom/llm"
)

func TestShortDuration(t *testing.T) {
	for _, tt := range []struct {
		d    time.Duration
		want string
	}{
		{0, "<1ms"},
		{300 * time.Microsecond, "<1ms"},
		{time.Millisecond, "1ms"},
		{1234567 * time.Microsecond, "1.235s"},
	} {
		if got := shortDuration(tt.d); got != tt.want {
			t.Errorf("shortDuration(%v) = %q, want %q", tt.d, got, tt.want)
		}
	}
}

// TestProgressPlain: off a terminal, progress is plain parseable lines.
func TestProgressPlain(t *testing.T) {
	var b bytes.Buffer
	p := NewProgress(&b, false)
	for _, ev := range []agent.Event{
		agent.TextDelta{Text: "Looking"},
		agent.ToolStarted{Name: "grep", Args: `{"pattern":"x"}`},
		agent.ToolFinished{Name: "grep", Duration: 3 * time.Millisecond},
		agent.ToolFinished{Name: "edit_file", Err: errors.New("old_text was not found"), Duration: time.Millisecond},
		agent.TurnFinished{Turn: 1, Usage: llm.Usage{PromptTokens: 120, CompletionTokens: 7}},
		agent.TurnFinished{Turn: 2}, // a server that reports no usage
	} {
		p.Handle(ev)
	}
	want := "model: Looking\n" +
		"tool grep started {\"pattern\":\"x\"}\n" +
		"tool grep ok in 3ms\n" +
		"tool edit_file error: old_text was not found in 1ms\n" +
		"turn 1 done: 120 tokens in, 7 out\n" +
		"turn 2 done: tokens unknown\n"
	if got := b.String(); got != want {
		t.Errorf("progress =\n%s\nwant\n%s", got, want)
	}
	if strings.Contains(b.String(), "\x1b[") {
		t.Error("colour codes off a terminal")
	}
}
