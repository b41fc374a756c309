package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/loom-agent/loom/llm"
	"github.com/loom-agent/loom/tools"
)

// runTools answers one turn's calls, results in the model's call order.
// Runs of consecutive read-only calls execute in parallel; every other call
// runs alone, in order, so a read the model placed after an edit sees the
// edit. Failures of any kind become results the model can read: nothing a
// tool or the model does here ends the run.
func (r *run) runTools(calls []llm.ToolCall) []toolResult {
	results := make([]toolResult, len(calls))
	for i := 0; i < len(calls); {
		j := i + 1
		if r.readOnly(calls[i].Name) {
			for j < len(calls) && r.readOnly(calls[j].Name) {
				j++
			}
		}
		if j-i == 1 {
			results[i] = r.runOne(calls[i])
		} else {
			var wg sync.WaitGroup
			for k := i; k < j; k++ {
				wg.Go(func() { results[k] = r.runOne(calls[k]) })
			}
			wg.Wait()
		}
		i = j
		if r.ctx.Err() != nil {
			break // the loop reports the cancellation
		}
	}
	return results
}

// readOnly reports whether a call may run alongside others. An unknown
// tool counts as read-only: it fails at once without touching anything.
func (r *run) readOnly(name string) bool {
	s, ok := r.offer.byName[name]
	return !ok || s.Effect.ReadOnly()
}

// runOne executes one call and reports it to the front end.
func (r *run) runOne(c llm.ToolCall) toolResult {
	r.emit(ToolStarted{ID: c.ID, Name: c.Name, Args: c.Arguments})
	start := time.Now()
	res, err := r.execute(c)
	text := resultText(res, err)
	r.emit(ToolFinished{ID: c.ID, Name: c.Name, Result: preview(text), Err: err,
		Changed: res.Changed, Duration: time.Since(start)})
	return toolResult{call: c, text: text, err: err, changed: res.Changed}
}

// toolOutcome carries a tool's return values out of its goroutine.
type toolOutcome struct {
	res tools.Result
	err error
}

// execute runs c under the tool timeout. The tool gets a context that ends
// at the timeout or when the run is cancelled; a tool that ignores it is
// abandoned at that point rather than allowed to hold the run.
func (r *run) execute(c llm.ToolCall) (tools.Result, error) {
	reg, env := r.a.opts.Tools, r.env
	if _, known := reg.Get(c.Name); known {
		if err := checkArgs(c); err != nil {
			return tools.Result{}, err
		}
	}
	// A call that needs approval is approved before its time starts: the
	// user's thinking is not the tool's. The registry asks again when it
	// runs the call, and this call's own Env answers yes, once.
	if tool, ok := reg.Get(c.Name); ok && tools.NeedsApproval(tool.Spec()) {
		call := tools.Call{ID: c.ID, Name: c.Name, Args: json.RawMessage(c.Arguments)}
		if err := reg.Approve(r.ctx, env, call); err != nil {
			if cerr := r.ctx.Err(); cerr != nil {
				return tools.Result{}, fmt.Errorf("%s stopped: %w", c.Name, cerr)
			}
			return tools.Result{}, err
		}
		approved := *env
		approved.Approver = tools.AlwaysApprove
		env = &approved
	}
	callEnv := *env
	callEnv.Progress = func(p tools.Progress) {
		r.emit(ToolProgress{ID: c.ID, Name: c.Name, Progress: p.Progress, Total: p.Total, Message: p.Message})
	}
	env = &callEnv
	// A tool that bounds its own calls (on inactivity) is not cut at the
	// fixed timeout; cancelling the run still ends it.
	var ctx context.Context
	var cancel context.CancelFunc
	if sp, ok := r.offer.byName[c.Name]; ok && sp.OwnTimeout {
		ctx, cancel = context.WithCancel(r.ctx)
	} else {
		ctx, cancel = context.WithTimeout(r.ctx, r.a.opts.ToolTimeout)
	}
	defer cancel()
	done := make(chan toolOutcome, 1)
	go func() {
		defer func() {
			if p := recover(); p != nil {
				r.log.Error("agent: tool panicked", "tool", c.Name, "panic", p, "stack", string(debug.Stack()))
				done <- toolOutcome{err: fmt.Errorf("the %s tool failed unexpectedly (panic: %v); try another approach", c.Name, p)}
			}
		}()
		res, err := reg.Run(ctx, env, c.Name, json.RawMessage(c.Arguments))
		done <- toolOutcome{res, err}
	}()
	timedOut := func() error { return fmt.Errorf("%s timed out after %s", c.Name, r.a.opts.ToolTimeout) }
	select {
	case o := <-done:
		// A tool that honours its context fails with the context's error
		// when its time is up: tell the model what happened instead.
		if o.err != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) && r.ctx.Err() == nil {
			return tools.Result{}, timedOut()
		}
		return o.res, o.err
	case <-ctx.Done():
		select {
		case o := <-done: // it finished just as time ran out
			if o.err == nil {
				return o.res, nil
			}
		default:
		}
		if err := r.ctx.Err(); err != nil {
			return tools.Result{}, fmt.Errorf("%s stopped: %w", c.Name, err)
		}
		return tools.Result{}, timedOut()
	}
}

// checkArgs catches malformed argument JSON, the most common model slip,
// with a message that quotes what arrived so the model can fix it.
func checkArgs(c llm.ToolCall) error {
	raw := strings.TrimSpace(c.Arguments)
	if raw == "" {
		return nil // no arguments: the tool sees {}
	}
	var v any
	err := json.Unmarshal([]byte(raw), &v)
	if err == nil {
		if _, ok := v.(map[string]any); ok {
			return nil
		}
		return fmt.Errorf("invalid arguments for %s: expected a JSON object, got %s; call it again with the arguments as one JSON object", c.Name, clip(raw, 300))
	}
	return fmt.Errorf("invalid arguments for %s: not valid JSON (%v); received %s; call it again with complete, valid JSON arguments", c.Name, err, clip(raw, 300))
}

// resultText is what the model reads for a call. Some servers reject an
// empty tool message, so silence is spelled out.
func resultText(res tools.Result, err error) string {
	text := res.Text
	if err != nil {
		text = strings.TrimSpace("error: " + err.Error() + "\n" + text)
	}
	if strings.TrimSpace(text) == "" {
		return "(no output)"
	}
	return text
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:runeStart(s, n)] + "…"
}
