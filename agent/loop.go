package agent

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"runtime/debug"
	"sync"
	"time"

	"github.com/loom-agent/loom/llm"
	"github.com/loom-agent/loom/tools"
	"github.com/loom-agent/loom/workspace"
)

// run is one execution of a task: the state, and the effects step's
// actions call for. Only the goroutine running loop touches st and
// pending; tool goroutines only emit events (under emitMu).
type run struct {
	a        *Agent
	ctx      context.Context
	provider llm.Provider // Options.Provider with this run's retry handler
	env      *tools.Env
	offer    *toolSet // offered to the model
	log      *slog.Logger

	st      runState
	pending []action

	emitMu  sync.Mutex
	onEvent func(Event)
}

func newRun(ctx context.Context, a *Agent, cs *workspace.Changeset, approver tools.Approver, onEvent func(Event)) *run {
	r := &run{
		a:       a,
		ctx:     ctx,
		env:     &tools.Env{Changes: cs, Approver: approver},
		offer:   a.toolsFor(approver),
		log:     a.opts.Logger,
		st:      runState{phase: StateWaitingInput},
		onEvent: onEvent,
	}
	pol := a.opts.RetryPolicy
	user := pol.OnRetry
	// The wrapper calls OnRetry from inside Stream or Recv, that is on the
	// loop's goroutine, so it may step the state machine directly.
	pol.OnRetry = func(attempt int, delay time.Duration, err error) {
		if user != nil {
			user(attempt, delay, err)
		}
		r.dispatch(evRetryScheduled{attempt: attempt, delay: delay, err: err})
	}
	r.provider = llm.WithRetry(a.opts.Provider, pol)
	return r
}

// loop starts the machine and performs its actions until a terminal state.
func (r *run) loop(msgs []llm.Message) {
	o := r.a.opts
	r.dispatch(evStart{msgs: msgs, lim: limits{
		maxTurns:    o.MaxTurns,
		maxTokens:   o.MaxTokens,
		maxAttempts: o.RetryPolicy.MaxAttempts,
		baseDelay:   o.RetryPolicy.BaseDelay,
		maxDelay:    o.RetryPolicy.MaxDelay,
	}})
	for !r.st.phase.Terminal() {
		if len(r.pending) == 0 {
			// step left a live state with nothing to do: a bug, but one
			// that must end the run rather than hang or panic.
			r.st.err = fmt.Errorf("internal error: no action in state %s", r.st.phase)
			r.st.phase, r.st.stop = StateFailed, StopFailed
			return
		}
		a := r.pending[0]
		r.pending = r.pending[1:]
		if err := r.ctx.Err(); err != nil {
			r.dispatch(evCancelled{err: err})
			continue
		}
		switch a := a.(type) {
		case actCallModel:
			r.callModel(a.delay)
		case actRunTools:
			results := r.runTools(a.calls)
			if err := r.ctx.Err(); err != nil {
				r.dispatch(evCancelled{err: err})
			} else {
				r.dispatch(evToolsFinished{results: results})
			}
		}
	}
}

// dispatch steps the machine, emits the events it asks for at once and
// queues its other actions.
func (r *run) dispatch(ev event) {
	before := r.st
	after, acts := step(before, ev)
	r.st = after
	if r.log.Enabled(r.ctx, slog.LevelDebug) {
		r.log.LogAttrs(r.ctx, slog.LevelDebug, "agent: transition",
			slog.String("from", before.String()),
			slog.String("event", ev.eventName()),
			slog.String("to", after.String()))
	}
	for _, a := range acts {
		if e, ok := a.(actEmit); ok {
			r.emit(e.ev)
			continue
		}
		r.pending = append(r.pending, a)
	}
}

// emit hands ev to the front end, one event at a time. A panicking
// callback is logged, not allowed to take the run down.
func (r *run) emit(ev Event) {
	if r.onEvent == nil {
		return
	}
	r.emitMu.Lock()
	defer r.emitMu.Unlock()
	defer func() {
		if p := recover(); p != nil {
			r.log.Error("agent: the event callback panicked", "event", ev.Kind(), "panic", p, "stack", string(debug.Stack()))
		}
	}()
	r.onEvent(ev)
}

// callModel streams one answer, after waiting delay, and feeds what
// arrives into the machine.
func (r *run) callModel(delay time.Duration) {
	if delay > 0 {
		if err := r.sleep(delay); err != nil {
			r.dispatch(evCancelled{err: err})
			return
		}
	}
	req := llm.Request{
		Model:    r.a.opts.Model,
		Messages: fitContext(r.st.msgs, r.a.opts.ContextWindow),
		Tools:    r.offer.specs,
	}
	s, err := r.provider.Stream(r.ctx, req)
	if err != nil {
		r.modelFailed(err, false)
		return
	}
	defer s.Close()
	var (
		reason    llm.FinishReason
		usage     llm.Usage
		delivered bool
	)
	for {
		ev, err := s.Recv()
		if err == io.EOF {
			r.dispatch(evModelFinished{reason: reason, usage: usage})
			return
		}
		if err != nil {
			r.modelFailed(err, delivered)
			return
		}
		if err := r.ctx.Err(); err != nil {
			r.dispatch(evCancelled{err: err})
			return
		}
		delivered = true
		switch ev.Kind {
		case llm.EventText:
			r.dispatch(evTextDelta{text: ev.Text})
		case llm.EventToolCall:
			r.dispatch(evToolCall{call: ev.ToolCall})
		case llm.EventUsage:
			usage = ev.Usage
		case llm.EventFinish:
			reason = ev.FinishReason
		}
	}
}

// modelFailed reports a failed call. Only failures after part of the answer
// arrived are the agent's to retry: the retry wrapper has already retried
// the others as far as the policy allows.
func (r *run) modelFailed(err error, delivered bool) {
	if cerr := r.ctx.Err(); cerr != nil {
		r.dispatch(evCancelled{err: cerr})
		return
	}
	r.dispatch(evModelError{err: err, retryable: delivered && llm.Retryable(err)})
}

// sleep waits d or until the run's context ends, with the policy's Sleep
// when one is set (tests make it instant).
func (r *run) sleep(d time.Duration) error {
	if s := r.a.opts.RetryPolicy.Sleep; s != nil {
		_ = s(r.ctx, d) // only the context's end stops the run
		return r.ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-r.ctx.Done():
		return r.ctx.Err()
	}
}
