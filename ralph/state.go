package ralph

import "time"

// State is where a loop is.
type State string

// The states of a loop. Done, Capped, Stopped, Cancelled and Failed are
// terminal.
const (
	// StateIterating: an agent session runs, then its edits are applied.
	StateIterating State = "iterating"
	// StateChecking: the checks run on the applied tree.
	StateChecking State = "checking"
	// StateCommitting: the iteration's edits are committed (--commit).
	StateCommitting State = "committing"
	// StateDone: the checks passed and the agent stated the promise.
	StateDone State = "done"
	// StateCapped: a cap (iterations, runtime, cost) stopped the loop.
	StateCapped State = "stopped_at_cap"
	// StateStopped: someone asked the loop to stop (`loom ralph stop`,
	// loom_ralph_stop); it ended after the iteration in flight finished
	// whole: applied, checked and committed.
	StateStopped State = "stopped"
	// StateCancelled: the user interrupted the loop (Ctrl+C).
	StateCancelled State = "cancelled"
	// StateFailed: an iteration could not be run, applied or committed.
	StateFailed State = "failed"
)

// Terminal reports whether no transition leaves s.
func (s State) Terminal() bool {
	return s == StateDone || s == StateCapped || s == StateStopped || s == StateCancelled || s == StateFailed
}

// Caps bound a loop. Zero leaves a cap off, but a loop needs at least
// one (Config.Validate).
type Caps struct {
	Iterations int
	Runtime    time.Duration
	Cost       float64 // US dollars
}

// CheckResult is one check's outcome after an iteration.
type CheckResult struct {
	Command  string        `json:"command"`
	Passed   bool          `json:"passed"`
	ExitCode int           `json:"exit_code"`
	TimedOut bool          `json:"timed_out,omitempty"`
	Output   string        `json:"output,omitempty"`
	Duration time.Duration `json:"duration_ns"`
}

// loopState is the whole state of a loop; step treats it as a value.
type loopState struct {
	phase State
	caps  Caps
	// commit says whether applied iterations are committed.
	commit bool

	iteration int     // iterations started
	cost      float64 // summed over finished iterations
	elapsed   time.Duration
	// cancelRequested: the user asked to stop; the iteration in flight
	// ends cleanly (not applied if its run had not been applied yet).
	cancelRequested bool
	// stopRequested: someone asked the loop to stop; unlike a cancel, the
	// iteration in flight goes on to its end (applied, checked,
	// committed) and no other starts.
	stopRequested bool

	// The iteration in flight.
	promised bool   // its final answer stated the promise
	message  string // its commit message
	applied  bool   // its edits are on disk
	checks   []CheckResult

	// feedback goes into the next iteration's prompt.
	feedback string
	// why says how the loop ended (for terminal states).
	why string
}

// The events step consumes.
type (
	evStart struct {
		caps   Caps
		commit bool
	}
	// evIterationFinished: the agent session of the iteration ended.
	evIterationFinished struct {
		finished  bool // the model gave its final answer
		cancelled bool // the run was cut off (Ctrl+C or the runtime cap)
		err       error
		stop      string // the run's stop reason, for the feedback
		promised  bool
		message   string
		changed   bool // it staged edits
		cost      float64
		elapsed   time.Duration // since the loop started
	}
	evApplied struct {
		err     error
		elapsed time.Duration
	}
	evChecked struct {
		results []CheckResult
		elapsed time.Duration
	}
	evCommitted struct {
		err     error
		elapsed time.Duration
	}
	// evCancelled: the user interrupted the loop (its work is cut off).
	evCancelled struct{}
	// evStopRequested: someone asked the loop to stop after the iteration
	// in flight (a stop request, stop.go).
	evStopRequested struct{}
)

type event interface{ eventName() string }

func (evStart) eventName() string             { return "start" }
func (evIterationFinished) eventName() string { return "iteration_finished" }
func (evApplied) eventName() string           { return "applied" }
func (evChecked) eventName() string           { return "checked" }
func (evCommitted) eventName() string         { return "committed" }
func (evCancelled) eventName() string         { return "cancelled" }
func (evStopRequested) eventName() string     { return "stop_requested" }

// The actions step asks the loop to perform.
type (
	// actIterate: run iteration n, telling it feedback.
	actIterate struct {
		n        int
		feedback string
	}
	actApply  struct{}
	actCheck  struct{}
	actCommit struct{ message string }
	// actFinish: the loop is over; the state says how.
	actFinish struct{}
)

type action interface{ actionName() string }

func (actIterate) actionName() string { return "iterate" }
func (actApply) actionName() string   { return "apply" }
func (actCheck) actionName() string   { return "check" }
func (actCommit) actionName() string  { return "commit" }
func (actFinish) actionName() string  { return "finish" }
