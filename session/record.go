package session

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/loom-agent/loom/agent"
	"github.com/loom-agent/loom/llm"
	"github.com/loom-agent/loom/thread"
	"github.com/loom-agent/loom/workspace"
)

// RecordOptions describe a run to record.
type RecordOptions struct {
	// ThreadID continues that thread; empty starts a new one.
	ThreadID string
	// Instruction is the run's task; it becomes the run's first turn and,
	// for a new thread, the title.
	Instruction string
	Workspace   string
	Model       string
}

// Recorder writes one agent run into a thread as it happens: an observer
// of the run's events (Handle), then Finish with what the run returned.
// Service.Run starts one for every run that has a store.
//
// Each model turn is appended, with its tool calls and results, when the
// turn is over, so a crash loses at most the turn in flight. The events
// carry only previews of tool results, so Finish replaces the run's turns
// with the agent's transcript, which holds them whole.
//
// Recording never gets in the run's way: a failed write is kept for Err
// and Finish to report, and the run goes on.
type Recorder struct {
	s           *thread.Store
	ctx         context.Context
	id          string
	history     []llm.Message
	changes     []workspace.FileChange // staged by earlier runs, not applied
	instruction string
	firstTurn   int // this run's first turn number

	mu      sync.Mutex
	text    strings.Builder
	pending *thread.Turn      // the model turn in progress
	open    []string          // its calls started but not finished
	usage   map[int]llm.Usage // agent turn number → usage
	times   []time.Time       // when each of the run's turns was recorded
	err     error
}

// Record starts recording a run in s: it creates the thread (or marks the
// one to continue as running) and appends the instruction as a turn.
// Writes ignore ctx's cancellation: a cancelled run must still be
// recorded.
func Record(ctx context.Context, s *thread.Store, o RecordOptions) (*Recorder, error) {
	ctx = context.WithoutCancel(ctx)
	r := &Recorder{s: s, ctx: ctx, instruction: o.Instruction, usage: map[int]llm.Usage{}}
	if o.ThreadID == "" {
		t, err := s.Create(ctx, thread.Meta{Workspace: o.Workspace, Model: o.Model, Title: thread.TitleFrom(o.Instruction)})
		if err != nil {
			return nil, err
		}
		r.id = t.ID
	} else {
		t, err := s.Get(ctx, o.ThreadID)
		if err != nil {
			return nil, err
		}
		r.id, r.history, r.firstTurn, r.changes = t.ID, t.Messages(), t.TurnCount, t.Changes
		if len(t.Turns) > 0 {
			r.firstTurn = t.Turns[len(t.Turns)-1].N + 1
		}
		if err := s.Finish(ctx, t.ID, thread.Outcome{Status: thread.StatusRunning, Diff: t.Diff, Changes: t.Changes}); err != nil {
			return nil, err
		}
		// A thread made before its first instruction (an ACP session) is
		// titled by that instruction.
		if t.TurnCount == 0 && o.Instruction != "" {
			if err := s.SetTitle(ctx, t.ID, o.Instruction); err != nil {
				return nil, err
			}
		}
	}
	if o.Instruction != "" {
		n, err := s.AppendTurn(ctx, r.id, thread.Turn{Messages: []llm.Message{{Role: llm.RoleUser, Content: o.Instruction}}})
		if err != nil {
			return nil, err
		}
		if o.ThreadID == "" {
			r.firstTurn = n
		}
		r.times = append(r.times, time.Now())
	}
	return r, nil
}

// ID is the thread's ID.
func (r *Recorder) ID() string { return r.id }

// History is the thread's conversation before this run: pass it as
// agent.Task.History (nil for a new thread).
func (r *Recorder) History() []llm.Message { return slices.Clone(r.history) }

// Changes are the edits earlier runs of the thread staged and nobody
// applied: the run continues from them.
func (r *Recorder) Changes() []workspace.FileChange { return r.changes }

// Err returns the first failed write, if any.
func (r *Recorder) Err() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.err
}

// Handle takes one agent event. A model turn is written when the next one
// starts or the run ends.
func (r *Recorder) Handle(ev agent.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch e := ev.(type) {
	case agent.TextDelta:
		r.text.WriteString(e.Text)
	case agent.Retrying:
		r.text.Reset() // the text so far belonged to an answer that broke off
	case agent.TurnFinished:
		r.flush()
		r.usage[e.Turn] = e.Usage
		r.pending = &thread.Turn{Usage: e.Usage, Messages: []llm.Message{{Role: llm.RoleAssistant, Content: r.text.String()}}}
		r.text.Reset()
	case agent.ToolStarted:
		if r.pending != nil {
			m := &r.pending.Messages[0]
			m.ToolCalls = append(m.ToolCalls, llm.ToolCall{ID: e.ID, Name: e.Name, Arguments: e.Args})
			r.open = append(r.open, e.ID)
		}
	case agent.ToolFinished:
		if r.pending != nil {
			r.pending.Messages = append(r.pending.Messages, llm.Message{Role: llm.RoleTool, ToolCallID: e.ID, Content: e.Result})
			r.open = slices.DeleteFunc(r.open, func(id string) bool { return id == e.ID })
		}
	case agent.StateChanged:
		if e.From == agent.StateExecutingTools || e.To.Terminal() {
			r.flush()
		}
	}
}

// flush appends the pending model turn. Calls that never finished get the
// answer the agent gives them, so the thread stays a valid conversation.
func (r *Recorder) flush() {
	if r.pending == nil {
		return
	}
	for _, id := range r.open {
		r.pending.Messages = append(r.pending.Messages, llm.Message{Role: llm.RoleTool, ToolCallID: id,
			Content: "error: the run stopped before this call finished"})
	}
	if _, err := r.s.AppendTurn(r.ctx, r.id, *r.pending); err != nil && r.err == nil {
		r.err = err
	}
	r.times = append(r.times, time.Now())
	r.pending, r.open = nil, nil
}

// Finish records the run's end from what agent.Agent.Run returned: the
// status (from the stop reason), the diff, the error of a failed run, and
// the transcript in place of the turns recorded from events. It returns
// the first error of the whole recording.
func (r *Recorder) Finish(res agent.Result, runErr error) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.flush()
	o := thread.Outcome{Status: statusOf(res.StopReason, runErr)}
	if res.Changes != nil {
		if d, err := res.Changes.Diff(); err == nil {
			o.Diff = d
		}
		// The staged edits stay with the thread until applied: a later
		// run continues from them, and loom apply writes them.
		o.Changes = res.Changes.Changes()
	}
	if runErr != nil && o.Status == thread.StatusFailed {
		o.Error = runErr.Error()
	}
	var err error
	if turns, ok := r.runTurns(res.Transcript); ok {
		err = r.s.ReplaceTurns(r.ctx, r.id, r.firstTurn, turns, o)
	} else {
		err = r.s.Finish(r.ctx, r.id, o)
	}
	return errors.Join(r.err, err)
}

// runTurns cuts this run's part out of a transcript (system prompt,
// history, then the run), with the usage and times recorded for each
// turn. ok is false when the transcript does not start with the history
// and instruction this recorder knows: then the recorded turns stand.
func (r *Recorder) runTurns(transcript []llm.Message) ([]thread.Turn, bool) {
	for len(transcript) > 0 && transcript[0].Role == llm.RoleSystem {
		transcript = transcript[1:]
	}
	if len(transcript) < len(r.history) || !slices.EqualFunc(r.history, transcript[:len(r.history)], sameMessage) {
		return nil, false
	}
	run := transcript[len(r.history):]
	if r.instruction != "" && (len(run) == 0 || !sameMessage(run[0], llm.Message{Role: llm.RoleUser, Content: r.instruction})) {
		return nil, false
	}
	turns := thread.SplitTurns(run)
	model := 0
	for i := range turns {
		if turns[i].Messages[0].Role == llm.RoleAssistant {
			model++
			turns[i].Usage = r.usage[model]
		}
		if i < len(r.times) {
			turns[i].Created = r.times[i]
		}
	}
	return turns, true
}

func sameMessage(a, b llm.Message) bool {
	return a.Role == b.Role && a.Content == b.Content && a.ToolCallID == b.ToolCallID && slices.Equal(a.ToolCalls, b.ToolCalls)
}

// statusOf maps how Run ended to a thread status.
func statusOf(stop agent.StopReason, runErr error) thread.Status {
	switch stop {
	case agent.StopDone, agent.StopRefusal:
		return thread.StatusDone
	case agent.StopMaxTurns:
		return thread.StatusMaxTurns
	case agent.StopMaxTokens:
		return thread.StatusMaxTokens
	case agent.StopCancelled:
		return thread.StatusCancelled
	case agent.StopFailed:
		return thread.StatusFailed
	}
	switch {
	case errors.Is(runErr, context.Canceled), errors.Is(runErr, context.DeadlineExceeded):
		return thread.StatusCancelled
	case runErr != nil:
		return thread.StatusFailed
	}
	return thread.StatusDone
}
