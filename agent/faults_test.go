package agent

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/loom-agent/loom/llm"
	"github.com/loom-agent/loom/llm/llmtest"
)

// TestModelFaults plays each fault of llmtest against the real agent: it
// either recovers (retry, or the model corrects itself) or ends with a
// clear error and nothing applied.
func TestModelFaults(t *testing.T) {
	const file = "x := 1\n"
	editArgs := `{"path":"a.go","old_text":"x := 1","new_text":"x := 2"}`
	edit := llmtest.Turn{ToolCalls: []llmtest.ToolCall{{ID: "e", Name: "edit_file", Arguments: []byte(editArgs)}}}
	done := llmtest.Turn{Text: "done"}
	tests := []struct {
		name        string
		turns       []llmtest.Turn
		wantErr     llm.Kind // 0: the run must succeed
		wantRetries []time.Duration
		wantStaged  bool
		check       func(t *testing.T, reqs []llmtest.ChatRequest, res Result)
	}{
		{
			name:        "429 with Retry-After is waited out",
			turns:       []llmtest.Turn{{Fault: &llmtest.Fault{Status: 429, RetryAfter: "1"}}, done},
			wantRetries: []time.Duration{time.Second},
		},
		{
			name:        "500 is retried",
			turns:       []llmtest.Turn{{Fault: &llmtest.Fault{Status: 500}}, done},
			wantRetries: []time.Duration{-1},
		},
		{
			name:        "connection cut before the answer is retried",
			turns:       []llmtest.Turn{{Fault: &llmtest.Fault{Cut: true}}, done},
			wantRetries: []time.Duration{-1},
		},
		{
			name: "stream cut midway is asked for again",
			turns: []llmtest.Turn{edit,
				{Text: "this answer breaks off in the middle", Fault: &llmtest.Fault{CutAfter: 3}}, done},
			wantRetries: []time.Duration{200 * time.Millisecond},
			wantStaged:  true,
			check: func(t *testing.T, reqs []llmtest.ChatRequest, res Result) {
				for _, m := range res.Transcript {
					if strings.Contains(m.Content, "breaks off") {
						t.Errorf("the broken answer is in the transcript: %q", m.Content)
					}
				}
			},
		},
		{
			name: "malformed tool-call JSON is reported and corrected",
			turns: []llmtest.Turn{
				{ToolCalls: edit.ToolCalls, Fault: &llmtest.Fault{MalformedArguments: true}},
				edit, done},
			wantStaged: true,
			check: func(t *testing.T, reqs []llmtest.ChatRequest, res Result) {
				msg := toolMessages(reqs[1])["e"]
				if !strings.HasPrefix(msg, "error: invalid arguments for edit_file: not valid JSON") ||
					!strings.Contains(msg, editArgs[:len(editArgs)-1]) {
					t.Errorf("the model was told %q", msg)
				}
			},
		},
		{
			name:    "401 fails at once with the staged edits unapplied",
			turns:   []llmtest.Turn{edit, {Fault: &llmtest.Fault{Status: 401, Message: "Incorrect API key provided"}}},
			wantErr: llm.KindAuth, wantStaged: true,
			check: func(t *testing.T, reqs []llmtest.ChatRequest, res Result) {
				if len(reqs) != 2 {
					t.Errorf("%d requests: a 401 must not be retried", len(reqs))
				}
			},
		},
		{
			name: "500 three times gives up",
			turns: []llmtest.Turn{{Fault: &llmtest.Fault{Status: 500}}, {Fault: &llmtest.Fault{Status: 500}},
				{Fault: &llmtest.Fault{Status: 503, Message: "overloaded"}}},
			wantErr: llm.KindServer, wantRetries: []time.Duration{-1, -1},
		},
		{
			name: "a stream cut on every attempt gives up",
			turns: []llmtest.Turn{
				{Text: "one two three four", Fault: &llmtest.Fault{CutAfter: 2}},
				{Text: "one two three four", Fault: &llmtest.Fault{CutAfter: 2}},
				{Text: "one two three four", Fault: &llmtest.Fault{CutAfter: 2}}},
			wantErr: llm.KindNetwork, wantRetries: []time.Duration{200 * time.Millisecond, 400 * time.Millisecond},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, map[string]string{"a.go": file}, tt.turns...)
			a := f.agent(t, Options{})
			rec := &recorder{t: t}
			res, err := a.Run(context.Background(), Task{Instruction: "bump x", Workspace: f.ws}, rec.on)
			if tt.wantErr == 0 {
				if err != nil || res.Final != "done" || res.StopReason != StopDone {
					t.Fatalf("Run: %v (final %q, stop %s)", err, res.Final, res.StopReason)
				}
			} else {
				var le *llm.Error
				if !errors.As(err, &le) || le.Kind != tt.wantErr {
					t.Fatalf("error %v, want an *llm.Error of kind %s", err, tt.wantErr)
				}
				if res.StopReason != StopFailed {
					t.Errorf("stop %s, want failed", res.StopReason)
				}
			}
			if f.srv.Remaining() != 0 {
				t.Errorf("%d scripted turns not played", f.srv.Remaining())
			}
			retries := eventsOf[Retrying](rec)
			if len(retries) != len(tt.wantRetries) {
				t.Fatalf("%d Retrying events, want %d", len(retries), len(tt.wantRetries))
			}
			for i, r := range retries {
				if r.Attempt != i+2 || r.MaxAttempts != 3 || r.Err == nil {
					t.Errorf("retry %d: attempt %d of %d, err %v", i, r.Attempt, r.MaxAttempts, r.Err)
				}
				if want := fmt.Sprintf("(attempt %d of 3)", r.Attempt); !strings.HasSuffix(r.Message(), want) {
					t.Errorf("retry %d says %q, want it to end %q", i, r.Message(), want)
				}
				if want := tt.wantRetries[i]; want >= 0 && r.Delay != want {
					t.Errorf("retry %d waited %s, want %s", i, r.Delay, want)
				}
			}
			diff, derr := res.Changes.Diff()
			if derr != nil {
				t.Fatal(derr)
			}
			if staged := strings.Contains(diff, "+x := 2"); staged != tt.wantStaged {
				t.Errorf("staged diff %q, want the edit staged: %v", diff, tt.wantStaged)
			}
			f.assertDiskUnchanged(t)
			if tt.check != nil {
				tt.check(t, f.srv.ChatRequests(), res)
			}
		})
	}
}
