package agent

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/loom-agent/loom/llm/llmtest"
	"github.com/loom-agent/loom/tools"
	"github.com/loom-agent/loom/tools/toolstest"
)

// retarget is a tool the agent knows nothing of but its spec. It records
// how many earlier reads had finished when it started.
type retarget struct {
	toolstest.Retarget
	*ordering
}

// ordering lets the test see whether the edit ran alone: the earlier reads
// wait a moment for it to start (it only does if it runs beside them)
// before they finish.
type ordering struct {
	started     chan struct{}
	once        sync.Once
	done        atomic.Int32
	doneAtStart atomic.Int32
}

func (r retarget) Run(ctx context.Context, env *tools.Env, raw json.RawMessage) (tools.Result, error) {
	r.doneAtStart.Store(r.done.Load())
	r.once.Do(func() { close(r.started) })
	return r.Retarget.Run(ctx, env, raw)
}

// earlyRead is a read-only call placed before the edit.
type earlyRead struct{ *ordering }

func (earlyRead) Spec() tools.Spec {
	return tools.Spec{Name: "early_read", Effect: tools.EffectRead, Schema: json.RawMessage(`{"type":"object"}`)}
}

func (r earlyRead) Run(ctx context.Context, _ *tools.Env, _ json.RawMessage) (tools.Result, error) {
	defer r.done.Add(1)
	select { // the edit starts now only if it runs beside this call
	case <-r.started:
	case <-time.After(100 * time.Millisecond):
	case <-ctx.Done():
	}
	return tools.Result{Text: "read"}, nil
}

// TestNewStagingToolRunsInOrder: a staging tool the agent has never heard
// of runs after the read-only calls the model placed before it (which run
// together) and before those it placed after, which see its edit.
func TestNewStagingToolRunsInOrder(t *testing.T) {
	f := newFixture(t, map[string]string{"x.txt": "old\n"},
		llmtest.Turn{ToolCalls: []llmtest.ToolCall{
			{ID: "r1", Name: "early_read"},
			{ID: "r2", Name: "early_read"},
			{ID: "e", Name: "retarget", Arguments: args(t, map[string]string{"target": "x.txt", "text": "new\n"})},
			{ID: "r3", Name: "read_file", Arguments: args(t, map[string]string{"path": "x.txt"})},
		}},
		llmtest.Turn{Text: "done"},
	)
	o := &ordering{started: make(chan struct{})}
	a := f.agent(t, Options{}, earlyRead{o}, retarget{ordering: o})
	rec := &recorder{t: t}
	res, err := a.Run(context.Background(), Task{Instruction: "go", Workspace: f.ws}, rec.on)
	if err != nil {
		t.Fatal(err)
	}
	// The order of starts and finishes, as the front end saw it.
	var seq []string
	for _, ev := range rec.all() {
		switch e := ev.(type) {
		case ToolStarted:
			seq = append(seq, "start "+e.ID)
		case ToolFinished:
			seq = append(seq, "end "+e.ID)
		}
	}
	got := strings.Join(seq, ", ")
	// r1 and r2 overlap (in either order); the edit runs alone after them;
	// the read placed after it runs after it.
	tail := ", start e, end e, start r3, end r3"
	if !strings.HasSuffix(got, tail) || strings.Count(got, "start r") != 3 || strings.Index(got, "end r1") < strings.Index(got, "start r2") {
		t.Errorf("calls ran as %s; want r1 and r2 together, then%s", got, tail)
	}
	if n := o.doneAtStart.Load(); n != 2 {
		t.Errorf("the edit started when %d of the 2 reads before it had finished", n)
	}
	msgs := toolMessages(f.srv.ChatRequests()[1])
	if !strings.Contains(msgs["r3"], "new") {
		t.Errorf("the read after the edit did not see it: %q", msgs["r3"])
	}
	if d, err := res.Changes.Diff(); err != nil || !strings.Contains(d, "+new") {
		t.Errorf("the run's changeset lacks the edit (%v):\n%s", err, d)
	}
	f.assertDiskUnchanged(t)
}
