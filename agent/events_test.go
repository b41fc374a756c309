package agent

import (
	"errors"
	"testing"
	"time"

	"github.com/loom-agent/loom/llm"
)

// TestRetryingMessage: a retry is one line, the cause in a few words, the
// wait and the attempt of how many; no nested parentheses and no advice
// to try again while Loom is trying again.
func TestRetryingMessage(t *testing.T) {
	for _, tt := range []struct {
		name string
		ev   Retrying
		want string
	}{
		{"503", Retrying{Attempt: 2, MaxAttempts: 4, Delay: 2 * time.Second,
			Err: &llm.Error{Kind: llm.KindServer, Status: 503, BaseURL: "http://m/v1", Message: "busy", Hint: "the server failed; try again", Temporary: true}},
			"model request failed (503 Service Unavailable); retrying in 2s (attempt 2 of 4)"},
		{"a wait under a second", Retrying{Attempt: 3, MaxAttempts: 3, Delay: 153456 * time.Microsecond,
			Err: &llm.Error{Kind: llm.KindRateLimit, Status: 429, Message: "slow down (please)"}},
			"model request failed (429 Too Many Requests); retrying in 153ms (attempt 3 of 3)"},
		{"a wait over a second", Retrying{Attempt: 2, MaxAttempts: 3, Delay: 1234 * time.Millisecond,
			Err: &llm.Error{Kind: llm.KindServer, Message: "stream error (internal)", Temporary: true}},
			"model request failed (server error: stream error internal); retrying in 1.2s (attempt 2 of 3)"},
		{"attempts unknown", Retrying{Attempt: 2, Delay: time.Second, Err: errors.New("llm: boom")},
			"model request failed (boom); retrying in 1s (attempt 2)"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.ev.Message(); got != tt.want {
				t.Errorf("Message() = %q\nwant         %q", got, tt.want)
			}
		})
	}
}
