package agent

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/loom-agent/loom/llm"
)

func TestStep(t *testing.T) {
	lim := limits{maxTurns: 3, maxTokens: 1000, maxAttempts: 3, baseDelay: 100 * time.Millisecond, maxDelay: time.Second}
	sys := llm.Message{Role: llm.RoleSystem, Content: "sys"}
	user := llm.Message{Role: llm.RoleUser, Content: "do it"}
	call := llm.ToolCall{ID: "c1", Name: "read_file", Arguments: `{"path":"a"}`}
	asst := llm.Message{Role: llm.RoleAssistant, Content: "looking", ToolCalls: []llm.ToolCall{call}}
	toolMsg := llm.Message{Role: llm.RoleTool, ToolCallID: "c1", Content: "file a"}
	errCut := &llm.Error{Kind: llm.KindNetwork, Temporary: true, Message: "cut"}
	errAuth := &llm.Error{Kind: llm.KindAuth, Status: 401}
	errSlow := &llm.Error{Kind: llm.KindRateLimit, Temporary: true, RetryAfter: 2 * time.Second}

	calling := runState{phase: StateCallingModel, lim: lim, msgs: []llm.Message{sys, user}, turn: 1, attempt: 1}
	streaming := calling
	streaming.text = []string{"look", "ing"}
	withCall := streaming
	withCall.calls = []llm.ToolCall{call}
	executing := runState{phase: StateExecutingTools, lim: lim, msgs: []llm.Message{sys, user, asst}, turn: 1, attempt: 1,
		calls: []llm.ToolCall{call}, usage: llm.Usage{PromptTokens: 100, CompletionTokens: 10}}
	lastTurn := executing
	lastTurn.turn = 3
	spent := executing
	spent.usage = llm.Usage{PromptTokens: 990, CompletionTokens: 10}
	retrying := calling
	retrying.phase = StateWaitingRetry
	finalAttempt := streaming
	finalAttempt.attempt = 3
	done := runState{phase: StateDone, stop: StopDone, final: "ok"}

	result := toolResult{call: call, text: "file a"}
	usage := llm.Usage{PromptTokens: 50, CompletionTokens: 5}

	tests := []struct {
		name  string
		in    runState
		ev    event
		want  runState
		wantA []action
	}{
		{
			name:  "start calls the model",
			in:    runState{phase: StateWaitingInput},
			ev:    evStart{msgs: []llm.Message{sys, user}, lim: lim},
			want:  calling,
			wantA: []action{actEmit{StateChanged{StateWaitingInput, StateCallingModel}}, actCallModel{}},
		},
		{
			name:  "text delta is kept and emitted",
			in:    calling,
			ev:    evTextDelta{text: "hi"},
			want:  with(calling, func(s *runState) { s.text = []string{"hi"} }),
			wantA: []action{actEmit{TextDelta{Text: "hi"}}},
		},
		{
			name: "tool call is collected",
			in:   streaming,
			ev:   evToolCall{call: call},
			want: withCall,
		},
		{
			name: "finish with calls runs the tools",
			in:   withCall,
			ev:   evModelFinished{reason: llm.FinishToolCalls, usage: usage},
			want: with(withCall, func(s *runState) {
				s.phase, s.text, s.usage = StateExecutingTools, nil, usage
				s.msgs = []llm.Message{sys, user, asst}
			}),
			wantA: []action{
				actEmit{TurnFinished{Turn: 1, Usage: usage, Total: usage}},
				actEmit{StateChanged{StateCallingModel, StateExecutingTools}},
				actRunTools{calls: []llm.ToolCall{call}},
			},
		},
		{
			name: "finish without calls is the final answer",
			in:   streaming,
			ev:   evModelFinished{reason: llm.FinishStop, usage: usage},
			want: with(streaming, func(s *runState) {
				s.phase, s.stop, s.final, s.text, s.usage = StateDone, StopDone, "looking", nil, usage
				s.msgs = []llm.Message{sys, user, {Role: llm.RoleAssistant, Content: "looking"}}
			}),
			wantA: []action{
				actEmit{TurnFinished{Turn: 1, Usage: usage, Total: usage}},
				actEmit{StateChanged{StateCallingModel, StateDone}},
				actFinish{},
			},
		},
		{
			name: "a content filter's stop is a refusal",
			in:   streaming,
			ev:   evModelFinished{reason: llm.FinishContentFilter, usage: usage},
			want: with(streaming, func(s *runState) {
				s.phase, s.stop, s.final, s.text, s.usage = StateDone, StopRefusal, "looking", nil, usage
				s.msgs = []llm.Message{sys, user, {Role: llm.RoleAssistant, Content: "looking"}}
			}),
			wantA: []action{
				actEmit{TurnFinished{Turn: 1, Usage: usage, Total: usage}},
				actEmit{StateChanged{StateCallingModel, StateDone}},
				actFinish{},
			},
		},
		{
			name: "tool results go back to the model",
			in:   executing,
			ev:   evToolsFinished{results: []toolResult{result}},
			want: with(executing, func(s *runState) {
				s.phase, s.turn, s.calls = StateCallingModel, 2, nil
				s.msgs = []llm.Message{sys, user, asst, toolMsg}
			}),
			wantA: []action{actEmit{StateChanged{StateExecutingTools, StateCallingModel}}, actCallModel{}},
		},
		{
			name: "turn limit stops after the last turn's tools",
			in:   lastTurn,
			ev:   evToolsFinished{results: []toolResult{result}},
			want: with(lastTurn, func(s *runState) {
				s.phase, s.stop, s.calls = StateDone, StopMaxTurns, nil
				s.msgs = []llm.Message{sys, user, asst, toolMsg}
				s.final = "Stopped: the run reached its limit of 3 model turns before the model gave a final answer. " +
					"The edits staged so far are kept in the changeset, not applied.\n\nThe model's last message: looking"
			}),
			wantA: []action{actEmit{StateChanged{StateExecutingTools, StateDone}}, actFinish{}},
		},
		{
			name: "token limit stops before the next call",
			in:   spent,
			ev:   evToolsFinished{results: []toolResult{result}},
			want: with(spent, func(s *runState) {
				s.phase, s.stop, s.calls = StateDone, StopMaxTokens, nil
				s.msgs = []llm.Message{sys, user, asst, toolMsg}
				s.final = "Stopped: the run used 1000 tokens, reaching its limit of 1000, before the model gave a final answer. " +
					"The edits staged so far are kept in the changeset, not applied.\n\nThe model's last message: looking"
			}),
			wantA: []action{actEmit{StateChanged{StateExecutingTools, StateDone}}, actFinish{}},
		},
		{
			name: "retry scheduled by the wrapper waits",
			in:   calling,
			ev:   evRetryScheduled{attempt: 2, delay: time.Second, err: errSlow},
			want: retrying,
			wantA: []action{
				actEmit{StateChanged{StateCallingModel, StateWaitingRetry}},
				actEmit{Retrying{Attempt: 2, MaxAttempts: 3, Delay: time.Second, Err: errSlow}},
			},
		},
		{
			name:  "first text after a wait resumes calling",
			in:    retrying,
			ev:    evTextDelta{text: "hi"},
			want:  with(calling, func(s *runState) { s.text = []string{"hi"} }),
			wantA: []action{actEmit{StateChanged{StateWaitingRetry, StateCallingModel}}, actEmit{TextDelta{Text: "hi"}}},
		},
		{
			name: "answer cut midway is asked for again",
			in:   withCall,
			ev:   evModelError{err: errCut, retryable: true},
			want: with(calling, func(s *runState) { s.phase, s.attempt = StateWaitingRetry, 2 }),
			wantA: []action{
				actEmit{StateChanged{StateCallingModel, StateWaitingRetry}},
				actEmit{Retrying{Attempt: 2, MaxAttempts: 3, Delay: 100 * time.Millisecond, Err: errCut}},
				actCallModel{delay: 100 * time.Millisecond},
			},
		},
		{
			name: "retry honours the server's Retry-After",
			in:   streaming,
			ev:   evModelError{err: errSlow, retryable: true},
			want: with(calling, func(s *runState) { s.phase, s.attempt = StateWaitingRetry, 2 }),
			wantA: []action{
				actEmit{StateChanged{StateCallingModel, StateWaitingRetry}},
				actEmit{Retrying{Attempt: 2, MaxAttempts: 3, Delay: 2 * time.Second, Err: errSlow}},
				actCallModel{delay: 2 * time.Second},
			},
		},
		{
			name:  "no retry left fails",
			in:    finalAttempt,
			ev:    evModelError{err: errCut, retryable: true},
			want:  with(finalAttempt, func(s *runState) { s.phase, s.stop, s.err, s.text = StateFailed, StopFailed, errCut, nil }),
			wantA: []action{actEmit{StateChanged{StateCallingModel, StateFailed}}, actFinish{}},
		},
		{
			name:  "non-retryable error fails",
			in:    streaming,
			ev:    evModelError{err: errAuth},
			want:  with(streaming, func(s *runState) { s.phase, s.stop, s.err, s.text = StateFailed, StopFailed, errAuth, nil }),
			wantA: []action{actEmit{StateChanged{StateCallingModel, StateFailed}}, actFinish{}},
		},
		{
			name:  "cancel while streaming drops the partial answer",
			in:    withCall,
			ev:    evCancelled{err: context.Canceled},
			want:  with(calling, func(s *runState) { s.phase, s.stop, s.err = StateCancelled, StopCancelled, context.Canceled }),
			wantA: []action{actEmit{StateChanged{StateCallingModel, StateCancelled}}, actFinish{}},
		},
		{
			name: "cancel while tools run answers the pending calls",
			in:   executing,
			ev:   evCancelled{err: context.Canceled},
			want: with(executing, func(s *runState) {
				s.phase, s.stop, s.err, s.calls = StateCancelled, StopCancelled, context.Canceled, nil
				s.msgs = []llm.Message{sys, user, asst,
					{Role: llm.RoleTool, ToolCallID: "c1", Content: "error: the run stopped before this call finished"}}
			}),
			wantA: []action{actEmit{StateChanged{StateExecutingTools, StateCancelled}}, actFinish{}},
		},
		{
			name:  "cancel while waiting for input",
			in:    runState{phase: StateWaitingInput},
			ev:    evCancelled{err: context.Canceled},
			want:  runState{phase: StateCancelled, stop: StopCancelled, err: context.Canceled},
			wantA: []action{actEmit{StateChanged{StateWaitingInput, StateCancelled}}, actFinish{}},
		},
		{
			name:  "cancel while waiting to retry",
			in:    retrying,
			ev:    evCancelled{err: context.DeadlineExceeded},
			want:  with(retrying, func(s *runState) { s.phase, s.stop, s.err = StateCancelled, StopCancelled, context.DeadlineExceeded }),
			wantA: []action{actEmit{StateChanged{StateWaitingRetry, StateCancelled}}, actFinish{}},
		},
		{name: "terminal states ignore events", in: done, ev: evTextDelta{text: "late"}, want: done},
		{name: "terminal states ignore cancel", in: done, ev: evCancelled{err: context.Canceled}, want: done},
		{name: "text while tools run is ignored", in: executing, ev: evTextDelta{text: "x"}, want: executing},
		{name: "tool results while calling are ignored", in: calling, ev: evToolsFinished{}, want: calling},
		{name: "a second start is ignored", in: calling, ev: evStart{}, want: calling},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, acts := step(tt.in, tt.ev)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("state:\n got %+v\nwant %+v", got, tt.want)
			}
			if !reflect.DeepEqual(acts, tt.wantA) {
				t.Errorf("actions:\n got %#v\nwant %#v", acts, tt.wantA)
			}
		})
	}
}

// with returns a copy of s changed by f.
func with(s runState, f func(*runState)) runState {
	f(&s)
	return s
}

func TestRetryDelayBacksOffToTheCap(t *testing.T) {
	lim := limits{baseDelay: 100 * time.Millisecond, maxDelay: 300 * time.Millisecond}
	plain := errors.New("cut")
	for _, tt := range []struct {
		attempt int
		want    time.Duration
	}{{2, 100 * time.Millisecond}, {3, 200 * time.Millisecond}, {4, 300 * time.Millisecond}, {10, 300 * time.Millisecond}} {
		if got := retryDelay(lim, tt.attempt, plain); got != tt.want {
			t.Errorf("attempt %d: delay %s, want %s", tt.attempt, got, tt.want)
		}
	}
}

func TestStateTerminal(t *testing.T) {
	for _, s := range []State{StateWaitingInput, StateCallingModel, StateExecutingTools, StateWaitingRetry, StateDone, StateCancelled, StateFailed} {
		want := s == StateDone || s == StateCancelled || s == StateFailed
		if s.Terminal() != want {
			t.Errorf("%s.Terminal() = %v", s, !want)
		}
	}
	if !strings.Contains(runState{phase: StateDone, turn: 2}.String(), "turn=2") {
		t.Error("runState.String does not show the turn")
	}
}
