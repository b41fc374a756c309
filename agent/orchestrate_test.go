package agent

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/loom-agent/loom/llm/llmtest"
	"github.com/loom-agent/loom/tools"
)

// barrierTool is a read-only test tool whose calls each wait until n of
// them are running at once. Calls run one after another never get there,
// and time out with an error the test sees.
type barrierTool struct {
	n       int
	mu      sync.Mutex
	arrived int
	open    chan struct{}
}

func newBarrierTool(n int) *barrierTool { return &barrierTool{n: n, open: make(chan struct{})} }

func (b *barrierTool) Spec() tools.Spec {
	return tools.Spec{Name: "slow_read", Description: "test: waits for its siblings", Effect: tools.EffectRead,
		Schema: json.RawMessage(`{"type":"object"}`)}
}

func (b *barrierTool) Run(ctx context.Context, _ *tools.Env, _ json.RawMessage) (tools.Result, error) {
	b.mu.Lock()
	b.arrived++
	if b.arrived == b.n {
		close(b.open)
	}
	b.mu.Unlock()
	select {
	case <-b.open:
		return tools.Result{Text: "overlapped"}, nil
	case <-time.After(hangGuard): // calls run one by one would wait here for ever
		return tools.Result{}, errors.New("barrier timeout: the read-only calls did not run at the same time")
	case <-ctx.Done():
		return tools.Result{}, ctx.Err()
	}
}

func TestReadOnlyCallsRunInParallel(t *testing.T) {
	f := newFixture(t, nil,
		llmtest.Turn{ToolCalls: []llmtest.ToolCall{{ID: "a", Name: "slow_read"}, {ID: "b", Name: "slow_read"}}},
		llmtest.Turn{Text: "both done"},
	)
	a := f.agent(t, Options{}, newBarrierTool(2))
	res, err := a.Run(context.Background(), Task{Instruction: "go", Workspace: f.ws}, nil)
	if err != nil {
		t.Fatal(err)
	}
	got := toolMessages(f.srv.ChatRequests()[1])
	if got["a"] != "overlapped" || got["b"] != "overlapped" {
		t.Errorf("results %q: the calls did not overlap", got)
	}
	if res.Final != "both done" {
		t.Errorf("final %q", res.Final)
	}
}

// orderTool is a test tool that changes the changeset (not read-only). It
// records the order of its calls and how many ran at once.
type orderTool struct {
	running, peak atomic.Int32
	mu            sync.Mutex
	order         []string
}

func (o *orderTool) Spec() tools.Spec {
	return tools.Spec{Name: "slow_write", Description: "test: a slow edit", Effect: tools.EffectEdit, Schema: json.RawMessage(`{"type":"object"}`)}
}

func (o *orderTool) Run(ctx context.Context, _ *tools.Env, raw json.RawMessage) (tools.Result, error) {
	n := o.running.Add(1)
	defer o.running.Add(-1)
	for p := o.peak.Load(); n > p && !o.peak.CompareAndSwap(p, n); p = o.peak.Load() {
	}
	var a struct{ Tag string }
	if err := json.Unmarshal(raw, &a); err != nil {
		return tools.Result{}, err
	}
	time.Sleep(20 * time.Millisecond)
	o.mu.Lock()
	o.order = append(o.order, a.Tag)
	o.mu.Unlock()
	return tools.Result{Text: "wrote " + a.Tag}, nil
}

func TestEditingCallsRunInOrderAlone(t *testing.T) {
	var calls []llmtest.ToolCall
	for _, tag := range []string{"1", "2", "3", "4"} {
		calls = append(calls, llmtest.ToolCall{ID: "w" + tag, Name: "slow_write", Arguments: args(t, map[string]string{"tag": tag})})
	}
	f := newFixture(t, nil, llmtest.Turn{ToolCalls: calls}, llmtest.Turn{Text: "ok"})
	ot := &orderTool{}
	a := f.agent(t, Options{}, ot)
	if _, err := a.Run(context.Background(), Task{Instruction: "go", Workspace: f.ws}, nil); err != nil {
		t.Fatal(err)
	}
	if p := ot.peak.Load(); p != 1 {
		t.Errorf("%d editing calls ran at once, want 1", p)
	}
	if got := strings.Join(ot.order, ","); got != "1,2,3,4" {
		t.Errorf("editing calls ran in order %s", got)
	}
	// Results go back in the model's call order, with the ids it gave.
	var ids []string
	for _, m := range f.srv.ChatRequests()[1].Messages {
		if m.Role == "tool" {
			ids = append(ids, m.ToolCallID+"="+m.Content)
		}
	}
	if got := strings.Join(ids, " "); got != "w1=wrote 1 w2=wrote 2 w3=wrote 3 w4=wrote 4" {
		t.Errorf("tool messages %s", got)
	}
}

// funcTool is a test tool made of a function.
type funcTool struct {
	name     string
	readOnly bool
	run      func(ctx context.Context) (tools.Result, error)
}

func (f funcTool) Spec() tools.Spec {
	effect := tools.EffectEdit
	if f.readOnly {
		effect = tools.EffectRead
	}
	return tools.Spec{Name: f.name, Effect: effect, Schema: json.RawMessage(`{"type":"object"}`)}
}

func (f funcTool) Run(ctx context.Context, _ *tools.Env, _ json.RawMessage) (tools.Result, error) {
	return f.run(ctx)
}

// TestToolFailuresGoBackToTheModel: every way a call can go wrong becomes
// a result the model reads, and the run goes on to the model's answer.
func TestToolFailuresGoBackToTheModel(t *testing.T) {
	// stuck ignores its context and blocks until the test ends: only the
	// tool timeout ends its call.
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	testTools := []tools.Tool{
		funcTool{name: "silent", run: func(context.Context) (tools.Result, error) { return tools.Result{}, nil }},
		funcTool{name: "blank", readOnly: true, run: func(context.Context) (tools.Result, error) { return tools.Result{Text: " \n"}, nil }},
		funcTool{name: "boom", run: func(context.Context) (tools.Result, error) { panic("kaboom") }},
		funcTool{name: "boom_ro", readOnly: true, run: func(context.Context) (tools.Result, error) { panic("kaboom") }},
		funcTool{name: "hang", readOnly: true, run: func(ctx context.Context) (tools.Result, error) {
			<-ctx.Done()
			return tools.Result{}, ctx.Err()
		}},
		funcTool{name: "stuck", run: func(context.Context) (tools.Result, error) {
			<-release
			return tools.Result{Text: "too late"}, nil
		}},
		funcTool{name: "fails", run: func(context.Context) (tools.Result, error) {
			return tools.Result{Text: "partial output"}, errors.New("disk on fire")
		}},
	}
	tests := []struct {
		id, name string
		args     string
		want     string // prefix of the tool message
	}{
		{"c1", "frobnicate", `{}`, `error: unknown tool "frobnicate"; available tools: `},
		{"c2", "read_file", `{"path": "a.txt"`, "error: invalid arguments for read_file: not valid JSON (unexpected end of JSON input); received {\"path\": \"a.txt\""},
		{"c3", "read_file", `["a.txt"]`, `error: invalid arguments for read_file: expected a JSON object, got ["a.txt"]`},
		{"c4", "read_file", `{"path": "missing.txt"}`, "error: "},
		{"c5", "read_file", `{"file": "a.txt"}`, `error: invalid arguments for read_file: "path" is required; unknown field "file"`},
		{"c6", "silent", `{}`, "(no output)"},
		{"c7", "blank", ``, "(no output)"},
		{"c8", "boom", `{}`, "error: the boom tool failed unexpectedly (panic: kaboom)"},
		{"c9", "boom_ro", `{}`, "error: the boom_ro tool failed unexpectedly (panic: kaboom)"},
		{"c10", "hang", `{}`, "error: hang timed out after 1s"},
		{"c11", "stuck", `{}`, "error: stuck timed out after 1s"},
		{"c12", "fails", `{}`, "error: disk on fire\npartial output"},
		{"c13", "read_file", `{"path": "a.txt"}`, "     1\thello"},
	}
	var calls []llmtest.ToolCall
	for _, tt := range tests {
		raw, err := json.Marshal(tt.args) // a JSON string: sent verbatim
		if err != nil {
			t.Fatal(err)
		}
		calls = append(calls, llmtest.ToolCall{ID: tt.id, Name: tt.name, Arguments: raw})
	}
	f := newFixture(t, map[string]string{"a.txt": "hello\n"},
		llmtest.Turn{ToolCalls: calls}, llmtest.Turn{Text: "I see the errors."})
	// The timeout is what the hanging calls cost; the other calls, done at
	// once, must not reach it even on a loaded machine.
	a := f.agent(t, Options{ToolTimeout: time.Second}, testTools...)
	rec := &recorder{t: t}
	res, err := a.Run(context.Background(), Task{Instruction: "go", Workspace: f.ws}, rec.on)
	if err != nil {
		t.Fatal(err)
	}
	if res.Final != "I see the errors." || res.StopReason != StopDone {
		t.Errorf("final %q, stop %s", res.Final, res.StopReason)
	}
	got := toolMessages(f.srv.ChatRequests()[1])
	finished := map[string]ToolFinished{}
	for _, e := range eventsOf[ToolFinished](rec) {
		finished[e.ID] = e
	}
	for _, tt := range tests {
		t.Run(tt.id+"_"+tt.name, func(t *testing.T) {
			if !strings.HasPrefix(got[tt.id], tt.want) {
				t.Errorf("tool message %q, want prefix %q", got[tt.id], tt.want)
			}
			ev, ok := finished[tt.id]
			if !ok {
				t.Fatal("no ToolFinished event")
			}
			if wantErr := strings.HasPrefix(tt.want, "error: "); (ev.Err != nil) != wantErr {
				t.Errorf("ToolFinished.Err = %v, want an error: %v", ev.Err, wantErr)
			}
		})
	}
}
