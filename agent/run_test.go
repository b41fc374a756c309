package agent

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/loom-agent/loom/llm"
	"github.com/loom-agent/loom/llm/llmtest"
	"github.com/loom-agent/loom/tools"
)

var editTurn = llmtest.Turn{ToolCalls: []llmtest.ToolCall{{ID: "e", Name: "edit_file",
	Arguments: []byte(`{"path":"a.go","old_text":"x := 1","new_text":"x := 2"}`)}}}

// TestCancellation cancels a run in each of its live states and checks that
// it returns with context.Canceled and the edits staged so far, before the
// next model call. Each state would last an hour or for ever, so a Run that
// returns at all was cut short by the cancel; the hang guard turns one that
// is not into a failure.
func TestCancellation(t *testing.T) {
	tests := []struct {
		name    string
		turns   []llmtest.Turn
		trigger func(Event) bool
		// inFlight: cancel once the server has the second request, not at
		// the trigger (the request is sent after the event).
		inFlight bool
	}{
		{
			name:    "mid-stream, after the first text delta",
			turns:   []llmtest.Turn{editTurn, {Text: "word ", Fault: &llmtest.Fault{Endless: true, ChunkDelayMS: 20}}},
			trigger: func(ev Event) bool { _, ok := ev.(TextDelta); return ok },
		},
		{
			name:  "while a tool runs",
			turns: []llmtest.Turn{editTurn, {ToolCalls: []llmtest.ToolCall{{ID: "h", Name: "hang"}}}},
			trigger: func(ev Event) bool {
				s, ok := ev.(ToolStarted)
				return ok && s.Name == "hang"
			},
		},
		{
			name:  "while waiting to retry",
			turns: []llmtest.Turn{editTurn, {Fault: &llmtest.Fault{Status: 429, RetryAfter: "3600"}}},
			trigger: func(ev Event) bool {
				_, ok := ev.(Retrying)
				return ok
			},
		},
		{
			name:     "while the server delays its answer",
			turns:    []llmtest.Turn{editTurn, {Text: "late", Fault: &llmtest.Fault{DelayMS: 3_600_000}}},
			trigger:  func(ev Event) bool { tf, ok := ev.(ToolFinished); return ok && tf.Name == "edit_file" },
			inFlight: true,
		},
	}
	hang := funcTool{name: "hang", readOnly: true, run: func(ctx context.Context) (tools.Result, error) {
		<-ctx.Done()
		return tools.Result{}, ctx.Err()
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// A turn after the scripted ones, which a cancelled run never
			// asks for.
			f := newFixture(t, map[string]string{"a.go": "x := 1\n"}, append(tt.turns, llmtest.Turn{Text: "never asked for"})...)
			// The real sleep, and an hour's Retry-After honoured:
			// cancellation must cut the wait short.
			a := f.agent(t, Options{RetryPolicy: llm.RetryPolicy{Sleep: sleepCtx, MaxRetryAfter: 2 * time.Hour}}, hang)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var fired bool
			rec := &recorder{t: t, hook: func(ev Event) {
				if fired || !tt.trigger(ev) {
					return
				}
				fired = true
				if !tt.inFlight {
					cancel()
					return
				}
				go func() {
					for len(f.srv.Requests()) < 2 && ctx.Err() == nil {
						time.Sleep(5 * time.Millisecond)
					}
					cancel()
				}()
			}}
			type result struct {
				res Result
				err error
			}
			done := make(chan result, 1)
			go func() {
				res, err := a.Run(ctx, Task{Instruction: "bump x", Workspace: f.ws}, rec.on)
				done <- result{res, err}
			}()
			var r result
			select {
			case r = <-done:
			case <-time.After(hangGuard):
				t.Fatalf("Run has not returned after %v (trigger fired: %v)", hangGuard, fired)
			}
			res, err := r.res, r.err
			if !fired {
				t.Fatalf("the trigger never fired (err %v)", err)
			}
			if !errors.Is(err, context.Canceled) || res.StopReason != StopCancelled {
				t.Fatalf("err %v, stop %s; want context.Canceled, cancelled", err, res.StopReason)
			}
			if n := len(f.srv.Requests()); n != 2 {
				t.Errorf("the model got %d requests, want 2: a cancelled run asks nothing more", n)
			}
			diff, derr := res.Changes.Diff()
			if derr != nil || !strings.Contains(diff, "-x := 1\n+x := 2\n") {
				t.Errorf("staged changes %q (%v), want the first turn's edit", diff, derr)
			}
			f.assertDiskUnchanged(t)
			// Every tool call in the transcript has its answer, so it can be
			// continued.
			answered := map[string]bool{}
			for _, m := range res.Transcript {
				if m.Role == llm.RoleTool {
					answered[m.ToolCallID] = true
				}
			}
			for _, m := range res.Transcript {
				for _, c := range m.ToolCalls {
					if !answered[c.ID] {
						t.Errorf("call %s has no answer in the transcript", c.ID)
					}
				}
			}
		})
	}
}

// hangGuard bounds a wait that should end on an event: far beyond any delay
// of a loaded machine, it only turns a hang into a failure.
const hangGuard = 30 * time.Second

func sleepCtx(ctx context.Context, d time.Duration) error {
	select {
	case <-time.After(d):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func TestCancelledBeforeStart(t *testing.T) {
	f := newFixture(t, nil, llmtest.Turn{Text: "never"})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	res, err := f.agent(t, Options{}).Run(ctx, Task{Instruction: "go", Workspace: f.ws}, nil)
	if !errors.Is(err, context.Canceled) || res.StopReason != StopCancelled || res.Changes == nil {
		t.Errorf("err %v, stop %s, changes %v", err, res.StopReason, res.Changes)
	}
}

func TestLimits(t *testing.T) {
	read := llmtest.Turn{Text: "Still looking.", ToolCalls: []llmtest.ToolCall{{Name: "read_file", Arguments: []byte(`{"path":"a.go"}`)}},
		Usage: &llmtest.Usage{PromptTokens: 50, CompletionTokens: 10}}
	tests := []struct {
		name      string
		opts      Options
		turns     int // scripted (all alike)
		wantTurns int
		wantStop  StopReason
		wantFinal string
		wantUsage llm.Usage
	}{
		{
			name: "turn limit", opts: Options{MaxTurns: 3}, turns: 5, wantTurns: 3, wantStop: StopMaxTurns,
			wantFinal: "Stopped: the run reached its limit of 3 model turns before the model gave a final answer.",
			wantUsage: llm.Usage{PromptTokens: 150, CompletionTokens: 30},
		},
		{
			name: "token limit", opts: Options{MaxTokens: 120}, turns: 5, wantTurns: 2, wantStop: StopMaxTokens,
			wantFinal: "Stopped: the run used 120 tokens, reaching its limit of 120, before the model gave a final answer.",
			wantUsage: llm.Usage{PromptTokens: 100, CompletionTokens: 20},
		},
		{
			name: "under both limits", opts: Options{MaxTurns: 6, MaxTokens: 1000}, turns: 5, wantTurns: 6, wantStop: StopDone,
			wantFinal: "done", wantUsage: llm.Usage{PromptTokens: 250, CompletionTokens: 50 + 1},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var turns []llmtest.Turn
			for range tt.turns {
				turns = append(turns, read)
			}
			turns = append(turns, llmtest.Turn{Text: "done", Usage: &llmtest.Usage{CompletionTokens: 1}})
			f := newFixture(t, map[string]string{"a.go": "x := 1\n"}, turns...)
			res, err := f.agent(t, tt.opts).Run(context.Background(), Task{Instruction: "look", Workspace: f.ws}, nil)
			if err != nil {
				t.Fatalf("Run: %v (a limit is a clean stop)", err)
			}
			if res.StopReason != tt.wantStop || res.Turns != tt.wantTurns || res.Usage != tt.wantUsage {
				t.Errorf("stop %s after %d turns using %+v; want %s, %d, %+v",
					res.StopReason, res.Turns, res.Usage, tt.wantStop, tt.wantTurns, tt.wantUsage)
			}
			if !strings.HasPrefix(res.Final, tt.wantFinal) {
				t.Errorf("Final %q, want prefix %q", res.Final, tt.wantFinal)
			}
			if tt.wantStop != StopDone && !strings.HasSuffix(res.Final, "The model's last message: Still looking.") {
				t.Errorf("Final %q does not quote the model's last words", res.Final)
			}
			if got := len(f.srv.ChatRequests()); got != tt.wantTurns {
				t.Errorf("%d model calls, want %d", got, tt.wantTurns)
			}
			// The last turn's tool calls were answered before stopping.
			if last := res.Transcript[len(res.Transcript)-1]; tt.wantStop != StopDone && last.Role != llm.RoleTool {
				t.Errorf("transcript ends with a %s message", last.Role)
			}
		})
	}
}

func TestUnknownToolIsReportedAndTheRunContinues(t *testing.T) {
	f := newFixture(t, map[string]string{"a.go": "x := 1\n"},
		llmtest.Turn{ToolCalls: []llmtest.ToolCall{{ID: "u", Name: "open_file", Arguments: []byte(`{"path":"a.go"}`)}}},
		llmtest.Turn{ToolCalls: []llmtest.ToolCall{{ID: "r", Name: "read_file", Arguments: []byte(`{"path":"a.go"}`)}}},
		llmtest.Turn{Text: "x is 1"},
	)
	res, err := f.agent(t, Options{}).Run(context.Background(), Task{Instruction: "what is x", Workspace: f.ws}, nil)
	if err != nil || res.Final != "x is 1" {
		t.Fatalf("Run: %v, final %q", err, res.Final)
	}
	reqs := f.srv.ChatRequests()
	if msg := toolMessages(reqs[1])["u"]; !strings.HasPrefix(msg, `error: unknown tool "open_file"; available tools:`) ||
		!strings.Contains(msg, "read_file") {
		t.Errorf("the model was told %q", msg)
	}
	if msg := toolMessages(reqs[2])["r"]; msg != "     1\tx := 1" && !strings.HasPrefix(msg, "     1\tx := 1") {
		t.Errorf("read after the correction: %q", msg)
	}
}
