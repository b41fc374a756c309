package agent

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/loom-agent/loom/llm"
)

// step is the run's transition function: given a state and what happened,
// it returns the next state and what the loop must do. It is pure (no I/O,
// no clock, no randomness), so every transition can be tested as a table
// row. Pairs that make no sense (a text delta while tools run, anything
// after a terminal state) leave the state as it is and ask for nothing.
func step(s runState, ev event) (runState, []action) {
	if s.phase.Terminal() {
		return s, nil
	}
	switch ev := ev.(type) {
	case evCancelled:
		return stopWith(s, StateCancelled, StopCancelled, "", ev.err)
	case evLimitReached:
		return stopWith(s, StateDone, ev.reason, limitMessage(s, ev.reason), nil)
	}
	switch s.phase {
	case StateWaitingInput:
		if ev, ok := ev.(evStart); ok {
			return startTurn(s, ev.msgs, ev.lim)
		}
	case StateCallingModel, StateWaitingRetry:
		return stepModel(s, ev)
	case StateExecutingTools:
		if ev, ok := ev.(evToolsFinished); ok {
			return toolsDone(s, ev.results)
		}
	}
	return s, nil
}

// startTurn begins the first model call of a run.
func startTurn(s runState, msgs []llm.Message, lim limits) (runState, []action) {
	from := s.phase
	s.phase, s.msgs, s.lim = StateCallingModel, msgs, lim
	s.turn, s.attempt, s.text, s.calls = 1, 1, nil, nil
	return s, append(moved(from, s.phase), actCallModel{})
}

// stepModel handles what the model stream reports.
func stepModel(s runState, ev event) (runState, []action) {
	from := s.phase
	switch ev := ev.(type) {
	case evTextDelta:
		s.phase = StateCallingModel
		s.text = append(s.text, ev.text)
		return s, append(moved(from, s.phase), actEmit{TextDelta{Text: ev.text}})
	case evToolCall:
		s.phase = StateCallingModel
		s.calls = append(s.calls, ev.call)
		return s, moved(from, s.phase)
	case evRetryScheduled:
		// The retry wrapper waits by itself; nothing was streamed yet.
		s.phase = StateWaitingRetry
		return s, append(moved(from, s.phase), actEmit{Retrying{Attempt: ev.attempt, MaxAttempts: s.lim.maxAttempts, Delay: ev.delay, Err: ev.err}})
	case evModelError:
		if !ev.retryable || s.attempt >= s.lim.maxAttempts {
			return stopWith(s, StateFailed, StopFailed, "", ev.err)
		}
		// The answer broke off midway: drop it and ask again.
		s.attempt++
		s.phase, s.text, s.calls = StateWaitingRetry, nil, nil
		d := retryDelay(s.lim, s.attempt, ev.err)
		return s, append(moved(from, s.phase),
			actEmit{Retrying{Attempt: s.attempt, MaxAttempts: s.lim.maxAttempts, Delay: d, Err: ev.err}},
			actCallModel{delay: d})
	case evModelFinished:
		return modelDone(s, ev)
	}
	return s, nil
}

// modelDone records the finished answer and either runs its tool calls or
// ends the run with it as the final message.
func modelDone(s runState, ev evModelFinished) (runState, []action) {
	from := s.phase
	text := strings.Join(s.text, "")
	s.usage = s.usage.Add(ev.usage)
	s.msgs = append(s.msgs, llm.Message{Role: llm.RoleAssistant, Content: text, ToolCalls: s.calls})
	acts := []action{actEmit{TurnFinished{Turn: s.turn, Usage: ev.usage, Total: s.usage}}}
	s.text = nil
	if len(s.calls) == 0 {
		s.phase, s.stop, s.final = StateDone, StopDone, text
		if ev.reason == llm.FinishContentFilter {
			s.stop = StopRefusal
		}
		return s, append(append(acts, moved(from, s.phase)...), actFinish{})
	}
	s.phase = StateExecutingTools
	return s, append(append(acts, moved(from, s.phase)...), actRunTools{calls: s.calls})
}

// toolsDone feeds the results back and, limits permitting, calls the model
// again. Limits are checked here, before a new call, so the calls of the
// last allowed turn are still answered and the transcript stays valid.
func toolsDone(s runState, results []toolResult) (runState, []action) {
	for _, r := range results {
		s.msgs = append(s.msgs, llm.Message{Role: llm.RoleTool, ToolCallID: r.call.ID, Content: r.text})
	}
	s.calls = nil
	switch {
	case s.turn >= s.lim.maxTurns:
		return step(s, evLimitReached{reason: StopMaxTurns})
	case s.lim.maxTokens > 0 && s.tokens() >= s.lim.maxTokens:
		return step(s, evLimitReached{reason: StopMaxTokens})
	}
	from := s.phase
	s.phase, s.turn, s.attempt = StateCallingModel, s.turn+1, 1
	return s, append(moved(from, s.phase), actCallModel{})
}

// stopWith ends the run. Tool calls still unanswered get an answer, so the
// transcript can be sent to a model again to continue.
func stopWith(s runState, phase State, stop StopReason, final string, err error) (runState, []action) {
	from := s.phase
	if from == StateExecutingTools {
		for _, c := range s.calls {
			s.msgs = append(s.msgs, llm.Message{Role: llm.RoleTool, ToolCallID: c.ID,
				Content: "error: the run stopped before this call finished"})
		}
	}
	s.phase, s.stop, s.final, s.err = phase, stop, final, err
	s.text, s.calls = nil, nil
	return s, append(moved(from, phase), actFinish{})
}

func moved(from, to State) []action {
	if from == to {
		return nil
	}
	return []action{actEmit{StateChanged{From: from, To: to}}}
}

// retryDelay is the wait before attempt (2 for the first retry): what the
// server asked for, else exponential backoff without jitter (step is pure).
func retryDelay(lim limits, attempt int, err error) time.Duration {
	var le *llm.Error
	if errors.As(err, &le) && le.RetryAfter > 0 {
		return le.RetryAfter
	}
	d := lim.baseDelay
	for i := 2; i < attempt && d < lim.maxDelay; i++ {
		d *= 2
	}
	return min(d, lim.maxDelay)
}

// limitMessage is the final message of a run stopped by a limit: what
// happened, and the model's last words if it said anything.
func limitMessage(s runState, reason StopReason) string {
	var msg string
	switch reason {
	case StopMaxTurns:
		msg = fmt.Sprintf("Stopped: the run reached its limit of %d model turns before the model gave a final answer.", s.lim.maxTurns)
	case StopMaxTokens:
		msg = fmt.Sprintf("Stopped: the run used %d tokens, reaching its limit of %d, before the model gave a final answer.", s.tokens(), s.lim.maxTokens)
	default:
		msg = fmt.Sprintf("Stopped: limit reached (%s) before the model gave a final answer.", reason)
	}
	msg += " The edits staged so far are kept in the changeset, not applied."
	for i := len(s.msgs) - 1; i >= 0; i-- {
		if m := s.msgs[i]; m.Role == llm.RoleAssistant {
			if t := strings.TrimSpace(m.Content); t != "" {
				msg += "\n\nThe model's last message: " + t
			}
			break
		}
	}
	return msg
}
