package ralph

import (
	"fmt"
	"strings"
)

// feedbackPerCheck caps what one failing check contributes to the next
// prompt: its output's tail, where compilers and test runners say what
// failed.
const feedbackPerCheck = 16 << 10

// step is the loop's transition function: given a state and what
// happened, it returns the next state and what the loop must do. It is
// pure (no I/O, no clock), so every transition is a table row. Pairs that
// make no sense leave the state as it is and ask for nothing.
func step(s loopState, ev event) (loopState, []action) {
	if s.phase.Terminal() {
		return s, nil
	}
	if _, ok := ev.(evCancelled); ok {
		if s.phase == "" {
			return stop(s, StateCancelled, "stopped by the user before the first iteration")
		}
		// The work in flight ends by itself (the loop cancels its
		// context); what it reports decides the rest.
		s.cancelRequested = true
		return s, nil
	}
	if _, ok := ev.(evStopRequested); ok {
		if s.phase == "" {
			return stop(s, StateStopped, "stopped by request before the first iteration")
		}
		// The iteration in flight goes on; next starts no other.
		s.stopRequested = true
		return s, nil
	}
	switch s.phase {
	case "":
		if ev, ok := ev.(evStart); ok {
			s.caps, s.commit = ev.caps, ev.commit
			return next(s)
		}
	case StateIterating:
		switch ev := ev.(type) {
		case evIterationFinished:
			return iterationFinished(s, ev)
		case evApplied:
			s.elapsed = ev.elapsed
			if ev.err != nil {
				return stop(s, StateFailed, fmt.Sprintf("applying iteration %d: %v (nothing of it was written; earlier iterations are intact)", s.iteration, ev.err))
			}
			s.applied, s.phase = true, StateChecking
			return s, []action{actCheck{}}
		}
	case StateChecking:
		if ev, ok := ev.(evChecked); ok {
			s.checks, s.elapsed = ev.results, ev.elapsed
			if s.commit && s.applied {
				s.phase = StateCommitting
				return s, []action{actCommit{message: s.message}}
			}
			return settled(s)
		}
	case StateCommitting:
		if ev, ok := ev.(evCommitted); ok {
			s.elapsed = ev.elapsed
			if ev.err != nil {
				return stop(s, StateFailed, fmt.Sprintf("committing iteration %d: %v (its edits are applied, not committed; earlier commits are intact)", s.iteration, ev.err))
			}
			return settled(s)
		}
	}
	return s, nil
}

// iterationFinished handles the end of an iteration's agent session.
func iterationFinished(s loopState, ev evIterationFinished) (loopState, []action) {
	s.cost += ev.cost
	s.elapsed = ev.elapsed
	switch {
	case s.cancelRequested:
		// Never apply after the user asked to stop, even a run that
		// finished just before: the tree stays as the last iteration left it.
		return stop(s, StateCancelled, fmt.Sprintf("stopped by the user; iteration %d was not applied", s.iteration))
	case ev.cancelled && s.caps.Runtime > 0 && ev.elapsed >= s.caps.Runtime:
		return stop(s, StateCapped, fmt.Sprintf("reached the runtime cap of %s during iteration %d, which was not applied", s.caps.Runtime, s.iteration))
	case ev.cancelled || ev.err != nil:
		return stop(s, StateFailed, fmt.Sprintf("iteration %d failed: %v", s.iteration, ev.err))
	case !ev.finished:
		s.feedback = fmt.Sprintf("The previous iteration stopped at a limit (%s) before it finished; its edits were discarded. Do a smaller step this time.", ev.stop)
		return next(s)
	}
	s.promised, s.message = ev.promised, ev.message
	if !ev.changed {
		s.phase = StateChecking
		return s, []action{actCheck{}}
	}
	return s, []action{actApply{}}
}

// settled ends an iteration whose edits are applied (and committed) and
// whose checks ran: the loop is done, stops, or iterates again.
func settled(s loopState) (loopState, []action) {
	passed := true
	var fb strings.Builder
	for _, c := range s.checks {
		if c.Passed {
			continue
		}
		passed = false
		out := c.Output
		if len(out) > feedbackPerCheck {
			out = "…" + out[len(out)-feedbackPerCheck:]
		}
		status := fmt.Sprintf("exit status %d", c.ExitCode)
		if c.TimedOut {
			status = "timed out"
		}
		fmt.Fprintf(&fb, "The check `%s` failed (%s):\n```\n%s\n```\n", c.Command, status, strings.TrimRight(out, "\n"))
	}
	if s.cancelRequested {
		return stop(s, StateCancelled, fmt.Sprintf("stopped by the user after iteration %d", s.iteration))
	}
	if passed && s.promised {
		return stop(s, StateDone, fmt.Sprintf("the checks passed and the promise was stated in iteration %d", s.iteration))
	}
	if !passed && s.promised {
		fb.WriteString("The previous iteration stated the promise, but the checks above failed: the work is not done.\n")
	}
	s.feedback = fb.String()
	return next(s)
}

// next starts another iteration unless a stop was requested or a cap is
// reached.
func next(s loopState) (loopState, []action) {
	switch c := s.caps; {
	case s.stopRequested:
		return stop(s, StateStopped, fmt.Sprintf("stopped by request after iteration %d", s.iteration))
	case c.Iterations > 0 && s.iteration >= c.Iterations:
		return stop(s, StateCapped, fmt.Sprintf("reached the cap of %d iterations", c.Iterations))
	case c.Runtime > 0 && s.elapsed >= c.Runtime:
		return stop(s, StateCapped, fmt.Sprintf("reached the runtime cap of %s after %d iterations", c.Runtime, s.iteration))
	case c.Cost > 0 && s.cost >= c.Cost:
		return stop(s, StateCapped, fmt.Sprintf("reached the cost cap of $%.2f ($%.4f spent) after %d iterations", c.Cost, s.cost, s.iteration))
	}
	s.phase = StateIterating
	s.iteration++
	s.promised, s.message, s.applied, s.checks = false, "", false, nil
	fb := s.feedback
	s.feedback = ""
	return s, []action{actIterate{n: s.iteration, feedback: fb}}
}

func stop(s loopState, phase State, why string) (loopState, []action) {
	s.phase, s.why = phase, why
	return s, []action{actFinish{}}
}
