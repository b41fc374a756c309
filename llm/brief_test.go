package llm_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/loom-agent/loom/llm"
	"github.com/loom-agent/loom/llm/llmtest"
)

// TestBrief: the cause of a failed call in a few words, as the line that
// reports a retry shows it: the status, the timeout that fired, a refused
// or broken connection; one line, no parentheses, no advice.
func TestBrief(t *testing.T) {
	tests := []struct {
		name    string
		baseURL string // instead of the scripted server's
		fault   *llmtest.Fault
		want    string
	}{
		{name: "503", fault: &llmtest.Fault{Status: 503, Message: "overloaded (try later)"}, want: "503 Service Unavailable"},
		{name: "429", fault: &llmtest.Fault{Status: 429, Message: "slow down"}, want: "429 Too Many Requests"},
		{name: "529, a status without a name", fault: &llmtest.Fault{Status: 529, Message: "overloaded"}, want: "status 529, server error"},
		{name: "first byte timeout", fault: &llmtest.Fault{StallAfterHeaders: true}, want: "no answer within 1s, first_byte_timeout"},
		{name: "idle timeout", fault: &llmtest.Fault{StallAfter: 1}, want: "nothing received for 1s, idle_timeout"},
		{name: "cut before the answer", fault: &llmtest.Fault{Cut: true}, want: "connection closed before the answer was complete"},
		{name: "refused", baseURL: "http://127.0.0.1:9/v1", want: "connection refused"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := llmtest.NewServer(t, script(llmtest.Turn{Text: "partial answer", Fault: tt.fault}))
			cfg := shortBounds(srv.URL)
			if tt.baseURL != "" {
				cfg.BaseURL = tt.baseURL
			}
			p, err := llm.New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			_, err = run(guarded(t), p, userRequest("hi"))
			got := llm.Brief(err)
			if got != tt.want {
				t.Errorf("Brief = %q, want %q (the error: %v)", got, tt.want, err)
			}
			if strings.ContainsAny(got, "()\n") || strings.Contains(got, "try again") {
				t.Errorf("Brief = %q: parentheses, lines or advice", got)
			}
		})
	}
	if got := llm.Brief(errors.New("llm: odd (nested)\nfailure")); got != "odd nested failure" {
		t.Errorf("Brief of a plain error = %q", got)
	}
}
