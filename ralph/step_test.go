package ralph

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

var (
	pass = CheckResult{Command: "go test ./...", Passed: true}
	fail = CheckResult{Command: "go test ./...", ExitCode: 1, Output: "--- FAIL: TestAdd\nwant 3, got 2\n"}
)

// iterating is a loop in iteration n under caps, with the given options.
func iterating(n int, caps Caps, commit bool) loopState {
	return loopState{phase: StateIterating, caps: caps, commit: commit, iteration: n}
}

// TestStep walks every transition: the pure function's table.
func TestStep(t *testing.T) {
	iters3 := Caps{Iterations: 3}
	tests := []struct {
		name      string
		s         loopState
		ev        event
		wantPhase State
		wantActs  []action
		check     func(t *testing.T, s loopState)
	}{
		{name: "start runs iteration 1", s: loopState{}, ev: evStart{caps: iters3, commit: true},
			wantPhase: StateIterating, wantActs: []action{actIterate{n: 1}},
			check: func(t *testing.T, s loopState) {
				if s.iteration != 1 || !s.commit || s.caps != iters3 {
					t.Errorf("state %+v", s)
				}
			}},
		{name: "cancel before start", s: loopState{}, ev: evCancelled{}, wantPhase: StateCancelled, wantActs: []action{actFinish{}}},
		{name: "a stop request before start", s: loopState{}, ev: evStopRequested{}, wantPhase: StateStopped, wantActs: []action{actFinish{}}},
		{name: "a stop request lets the iteration in flight go on", s: iterating(1, iters3, true), ev: evStopRequested{},
			wantPhase: StateIterating, check: func(t *testing.T, s loopState) {
				if !s.stopRequested || s.cancelRequested {
					t.Errorf("state %+v", s)
				}
			}},
		{name: "stop requested: the finished run is still applied", s: func() loopState { s := iterating(1, iters3, true); s.stopRequested = true; return s }(),
			ev: evIterationFinished{finished: true, changed: true, message: "m"}, wantPhase: StateIterating, wantActs: []action{actApply{}}},
		{name: "stop requested: the applied iteration is committed", s: loopState{phase: StateChecking, caps: iters3, commit: true, applied: true, iteration: 1, message: "m", stopRequested: true},
			ev: evChecked{results: []CheckResult{fail}}, wantPhase: StateCommitting, wantActs: []action{actCommit{message: "m"}}},
		{name: "stop requested: committed, no other iteration", s: loopState{phase: StateCommitting, caps: iters3, commit: true, applied: true, iteration: 1, stopRequested: true, checks: []CheckResult{fail}},
			ev: evCommitted{}, wantPhase: StateStopped, wantActs: []action{actFinish{}},
			check: func(t *testing.T, s loopState) {
				if s.why != "stopped by request after iteration 1" {
					t.Errorf("why %q", s.why)
				}
			}},
		{name: "stop requested, but the work is done: done", s: loopState{phase: StateChecking, caps: iters3, iteration: 1, promised: true, stopRequested: true},
			ev: evChecked{results: []CheckResult{pass}}, wantPhase: StateDone, wantActs: []action{actFinish{}}},
		{name: "stop requested: a run discarded at a limit starts no other", s: func() loopState { s := iterating(1, iters3, false); s.stopRequested = true; return s }(),
			ev: evIterationFinished{stop: "max_turns"}, wantPhase: StateStopped, wantActs: []action{actFinish{}}},
		{name: "a finished run with edits is applied", s: iterating(1, iters3, false),
			ev: evIterationFinished{finished: true, changed: true, message: "m"}, wantPhase: StateIterating, wantActs: []action{actApply{}}},
		{name: "a finished run without edits goes to the checks", s: iterating(1, iters3, false),
			ev: evIterationFinished{finished: true}, wantPhase: StateChecking, wantActs: []action{actCheck{}}},
		{name: "applied: checks run", s: iterating(1, iters3, false), ev: evApplied{},
			wantPhase: StateChecking, wantActs: []action{actCheck{}},
			check: func(t *testing.T, s loopState) {
				if !s.applied {
					t.Error("not marked applied")
				}
			}},
		{name: "an apply refused fails the loop", s: iterating(1, iters3, false), ev: evApplied{err: errors.New("conflict")},
			wantPhase: StateFailed, wantActs: []action{actFinish{}}},
		{name: "a run stopped at a limit is discarded and the loop goes on", s: iterating(1, iters3, false),
			ev: evIterationFinished{stop: "max_turns"}, wantPhase: StateIterating, wantActs: []action{actIterate{n: 2,
				feedback: "The previous iteration stopped at a limit (max_turns) before it finished; its edits were discarded. Do a smaller step this time."}}},
		{name: "a failed run fails the loop", s: iterating(1, iters3, false), ev: evIterationFinished{err: errors.New("bad key")},
			wantPhase: StateFailed, wantActs: []action{actFinish{}}},
		{name: "a run cut off by the runtime cap", s: iterating(1, Caps{Runtime: time.Minute}, false),
			ev: evIterationFinished{cancelled: true, err: errors.New("deadline"), elapsed: time.Minute}, wantPhase: StateCapped, wantActs: []action{actFinish{}}},
		{name: "cancelled: a run that finished is not applied", s: func() loopState { s := iterating(1, iters3, false); s.cancelRequested = true; return s }(),
			ev: evIterationFinished{finished: true, changed: true}, wantPhase: StateCancelled, wantActs: []action{actFinish{}}},
		{name: "checks pass and the promise is stated: done", s: loopState{phase: StateChecking, caps: iters3, iteration: 1, promised: true},
			ev: evChecked{results: []CheckResult{pass}}, wantPhase: StateDone, wantActs: []action{actFinish{}}},
		{name: "checks pass without the promise: another iteration", s: loopState{phase: StateChecking, caps: iters3, iteration: 1},
			ev: evChecked{results: []CheckResult{pass}}, wantPhase: StateIterating, wantActs: []action{actIterate{n: 2}}},
		{name: "the promise with a failing check does not stop the loop", s: loopState{phase: StateChecking, caps: iters3, iteration: 1, promised: true},
			ev: evChecked{results: []CheckResult{pass, fail}}, wantPhase: StateIterating,
			check: func(t *testing.T, s loopState) {
				if s.iteration != 2 {
					t.Errorf("iteration %d", s.iteration)
				}
			}},
		{name: "applied with --commit: commit", s: loopState{phase: StateChecking, caps: iters3, commit: true, applied: true, iteration: 1, message: "fix add"},
			ev: evChecked{results: []CheckResult{fail}}, wantPhase: StateCommitting, wantActs: []action{actCommit{message: "fix add"}}},
		{name: "nothing applied: no commit", s: loopState{phase: StateChecking, caps: iters3, commit: true, iteration: 1},
			ev: evChecked{}, wantPhase: StateIterating, wantActs: []action{actIterate{n: 2}}},
		{name: "committed and promised: done", s: loopState{phase: StateCommitting, caps: iters3, commit: true, applied: true, iteration: 2, promised: true, checks: []CheckResult{pass}},
			ev: evCommitted{}, wantPhase: StateDone, wantActs: []action{actFinish{}}},
		{name: "a commit that fails fails the loop", s: loopState{phase: StateCommitting, caps: iters3, commit: true, applied: true, iteration: 1},
			ev: evCommitted{err: errors.New("no identity")}, wantPhase: StateFailed, wantActs: []action{actFinish{}}},
		{name: "cancelled while checking an applied iteration: committed, then stopped", s: loopState{phase: StateChecking, caps: iters3, commit: true, applied: true, iteration: 1, cancelRequested: true, message: "m"},
			ev: evChecked{results: []CheckResult{fail}}, wantPhase: StateCommitting, wantActs: []action{actCommit{message: "m"}}},
		{name: "cancelled while committing: stopped after the commit", s: loopState{phase: StateCommitting, caps: iters3, commit: true, applied: true, iteration: 1, cancelRequested: true},
			ev: evCommitted{}, wantPhase: StateCancelled, wantActs: []action{actFinish{}}},
		{name: "cancel mid-iteration only marks the request", s: iterating(1, iters3, false), ev: evCancelled{}, wantPhase: StateIterating,
			check: func(t *testing.T, s loopState) {
				if !s.cancelRequested {
					t.Error("the request was not kept")
				}
			}},
		{name: "iteration cap", s: loopState{phase: StateChecking, caps: iters3, iteration: 3},
			ev: evChecked{results: []CheckResult{fail}}, wantPhase: StateCapped, wantActs: []action{actFinish{}}},
		{name: "runtime cap", s: loopState{phase: StateChecking, caps: Caps{Iterations: 9, Runtime: time.Minute}, iteration: 1},
			ev: evChecked{elapsed: time.Minute}, wantPhase: StateCapped, wantActs: []action{actFinish{}}},
		{name: "under the runtime cap", s: loopState{phase: StateChecking, caps: Caps{Runtime: time.Minute}, iteration: 1},
			ev: evChecked{elapsed: time.Minute - 1}, wantPhase: StateIterating, wantActs: []action{actIterate{n: 2}}},
		{name: "cost cap", s: iterating(1, Caps{Cost: 1}, false), ev: evIterationFinished{stop: "max_turns", cost: 1.5},
			wantPhase: StateCapped, wantActs: []action{actFinish{}},
			check: func(t *testing.T, s loopState) {
				if s.cost != 1.5 || !strings.Contains(s.why, "cost cap") {
					t.Errorf("cost %v, why %q", s.cost, s.why)
				}
			}},
		{name: "terminal states take nothing", s: loopState{phase: StateDone}, ev: evStart{caps: iters3}, wantPhase: StateDone},
		{name: "an event out of place is ignored", s: iterating(1, iters3, false), ev: evCommitted{}, wantPhase: StateIterating},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, acts := step(tt.s, tt.ev)
			if s.phase != tt.wantPhase {
				t.Errorf("phase %s, want %s (why %q)", s.phase, tt.wantPhase, s.why)
			}
			if tt.wantActs != nil && !reflect.DeepEqual(acts, tt.wantActs) {
				t.Errorf("actions %#v, want %#v", acts, tt.wantActs)
			}
			if tt.wantActs == nil && tt.check == nil && len(acts) != 0 {
				t.Errorf("actions %#v, want none", acts)
			}
			if tt.check != nil {
				tt.check(t, s)
			}
		})
	}
}

// TestFeedback: a failing check's output, and only a failing one's,
// reaches the next iteration, its tail kept when long.
func TestFeedback(t *testing.T) {
	long := fail
	long.Command = "make"
	long.Output = strings.Repeat("x", 2*feedbackPerCheck) + "THE END"
	s := loopState{phase: StateChecking, caps: Caps{Iterations: 5}, iteration: 1, promised: true}
	_, acts := step(s, evChecked{results: []CheckResult{pass, fail, long}})
	it, ok := acts[0].(actIterate)
	if !ok {
		t.Fatalf("actions %#v", acts)
	}
	for _, want := range []string{"`go test ./...` failed (exit status 1)", "want 3, got 2", "THE END", "stated the promise, but the checks above failed"} {
		if !strings.Contains(it.feedback, want) {
			t.Errorf("feedback lacks %q:\n%s", want, it.feedback)
		}
	}
	if len(it.feedback) > 2*feedbackPerCheck {
		t.Errorf("feedback of %d bytes: the long output was not cut", len(it.feedback))
	}
}

func TestPromiseAndMessage(t *testing.T) {
	for _, tt := range []struct {
		final, promise string
		want           bool
	}{
		{"Fixed.\n<promise>ALL TESTS PASS</promise>", "ALL TESTS PASS", true},
		{"<promise>\n  ALL  TESTS PASS </promise>", "ALL TESTS PASS", true},
		{"I will state <promise>NOT YET</promise>", "ALL TESTS PASS", false},
		{"ALL TESTS PASS", "ALL TESTS PASS", false},
		{"<promise></promise>", "", false},
	} {
		if got := promised(tt.final, tt.promise); got != tt.want {
			t.Errorf("promised(%q, %q) = %v", tt.final, tt.promise, got)
		}
	}
	for _, tt := range []struct {
		final string
		want  string
	}{
		{"Fix Add\n\ndetails", "Fix Add"},
		{"\n<promise>DONE</promise>\nTick the plan", "Tick the plan"},
		{"Did it.\n<commit>add: handle negatives\n\nbody line</commit>", "add: handle negatives\n\nbody line"},
		{"", "ralph: iteration 4"},
		{strings.Repeat("é", 300), strings.Repeat("é", 100) + "…"},
	} {
		if got := commitMessage(tt.final, 4); got != tt.want {
			t.Errorf("commitMessage(%q) = %q, want %q", tt.final, got, tt.want)
		}
	}
}

func TestValidate(t *testing.T) {
	for _, tt := range []struct {
		c    Config
		want string
	}{
		{Config{Prompt: "p", Caps: Caps{Iterations: 1}}, ""},
		{Config{Prompt: "p"}, "needs a cap"},
		{Config{Caps: Caps{Iterations: 1}}, "prompt is empty"},
		{Config{Prompt: "p", Caps: Caps{Cost: 2}}, "needs the model's price"},
		{Config{Prompt: "p", Caps: Caps{Cost: 2}, Price: Price{Input: 3}}, ""},
		{Config{Prompt: "p", Caps: Caps{Iterations: -1}}, "negative"},
		{Config{Prompt: "p", Caps: Caps{Iterations: 1}, Checks: []string{""}}, "empty command"},
	} {
		err := tt.c.Validate()
		if tt.want == "" && err != nil || tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)) {
			t.Errorf("Validate(%+v) = %v, want %q", tt.c, err, tt.want)
		}
	}
}
