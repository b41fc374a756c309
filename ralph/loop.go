package ralph

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os/exec"
	"strings"
	"time"

	"github.com/loom-agent/loom/session"
	"github.com/loom-agent/loom/tools"
	"github.com/loom-agent/loom/workspace"
)

// gitTimeout bounds each git command of a commit.
const gitTimeout = time.Minute

// Loop runs a Ralph loop in one workspace.
type Loop struct {
	Config
	Workspace *workspace.Workspace
	// Sessions runs each iteration and records it as a thread.
	Sessions *session.Service
	// Agent runs each iteration's session (a fresh one every time).
	Agent session.Runner
	// Model names the model in each thread's record.
	Model    string
	Approver tools.Approver
	// Observe receives each iteration's agent events (progress).
	Observe func(session.Event)
	// Progress receives a line per step of the loop; may be nil.
	Progress io.Writer
	// Now is the clock; nil is time.Now.
	Now func() time.Time
	// ID names the loop; "" makes one (NewID).
	ID string
	// RecordRoot is the repository whose .loom/ralph/ keeps the record;
	// "" is the workspace's. A loop in a worktree keeps it in the
	// user's repository, where `loom ralph status` looks.
	RecordRoot string
	// Worktree and Branch, when the loop runs in a git worktree, are
	// recorded for `loom ralph status`.
	Worktree, Branch string

	rec   Record
	start time.Time
	out   session.Outcome // the iteration in flight
}

// Run runs the loop until it is done, capped, failed, asked to stop
// (RequestStop: the iteration in flight goes on to its end, applied,
// checked and committed, and no other starts) or ctx is cancelled (the
// user's Ctrl+C: the iteration in flight ends without being applied, or,
// once applied, is checked and committed before the loop stops). It
// returns the loop's record; the error is non-nil only when the loop
// could not start.
func (l *Loop) Run(ctx context.Context) (Record, error) {
	wait, err := l.Start(ctx)
	if err != nil {
		return Record{}, err
	}
	return wait(), nil
}

// Start checks the loop, takes its folder's lock and writes its first
// record, then runs it in the background, as Run does; wait waits for its
// end and returns its record. A loop that cannot start (a bad config,
// another loop in the folder) is an error here, before anything ran: a
// caller that hands the loop off (the MCP server) can say so at once.
func (l *Loop) Start(ctx context.Context) (wait func() Record, err error) {
	if err := l.Config.Validate(); err != nil {
		return nil, err
	}
	if l.Workspace == nil || l.Agent == nil {
		return nil, fmt.Errorf("ralph: a loop needs a workspace and an agent")
	}
	if l.Plan != "" {
		rel, err := l.Workspace.Resolve(l.Plan)
		if err != nil {
			return nil, fmt.Errorf("the plan: %w", err)
		}
		l.Plan = rel
	}
	if l.Now == nil {
		l.Now = time.Now
	}
	if l.CheckTimeout == 0 {
		l.CheckTimeout = DefaultCheckTimeout
	}
	l.start = l.Now()
	if l.ID == "" {
		l.ID = NewID(l.start)
	}
	if l.RecordRoot == "" {
		l.RecordRoot = l.Workspace.Root()
	}
	if !validID(l.ID) {
		return nil, fmt.Errorf("ralph: %q is not a loop ID", l.ID)
	}
	unlock, err := lock(l.Workspace.Root(), l.ID)
	if err != nil {
		return nil, err
	}
	l.rec = Record{ID: l.ID, Started: l.start, State: StateIterating, Plan: l.Plan, Checks: l.Checks,
		Promise: l.Promise, Caps: l.Caps, Worktree: l.Worktree, Branch: l.Branch, Iterations: []Iteration{}}
	if err := l.rec.save(l.RecordRoot); err != nil {
		unlock()
		return nil, err
	}
	l.progress("loop %s in %s", l.rec.ID, l.Workspace.Root())
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer unlock()
		// A request is for this loop only: none is left for a later one.
		defer clearStop(l.Workspace.Root(), l.ID)
		l.drive(ctx)
	}()
	return func() Record { <-done; return l.rec }, nil
}

// drive performs what step asks until the loop ends, keeping the record.
func (l *Loop) drive(ctx context.Context) {
	// work is what iterations and checks run under: the user's context,
	// ended early by the runtime cap.
	work, cancel := ctx, context.CancelFunc(func() {})
	if l.Caps.Runtime > 0 {
		work, cancel = context.WithTimeout(ctx, l.Caps.Runtime)
	}
	defer cancel()

	s, acts := step(loopState{}, evStart{caps: l.Caps, commit: l.Commit})
	cancelSeen, stopSeen := false, false
	for len(acts) > 0 {
		act := acts[0]
		acts = acts[1:]
		ev := l.perform(work, act)
		if ev == nil {
			continue
		}
		// The user's stop is told before what the action reports, so step
		// knows not to apply a run that finished just as it came.
		if ctx.Err() != nil && !cancelSeen {
			cancelSeen = true
			s, _ = step(s, evCancelled{})
		}
		// A stop request (`loom ralph stop`) is looked for between steps:
		// the iteration in flight goes on to its end.
		if !stopSeen && stopRequested(l.Workspace.Root(), l.ID) {
			stopSeen = true
			l.progress("loop %s: asked to stop; it ends after iteration %d", l.rec.ID, s.iteration)
			s, _ = step(s, evStopRequested{})
		}
		var more []action
		s, more = step(s, ev)
		slog.Debug("ralph step", "event", ev.eventName(), "state", s.phase, "iteration", s.iteration)
		acts = append(acts, more...)
		l.rec.State, l.rec.Cost = s.phase, s.cost
		if s.phase.Terminal() {
			l.rec.Why = s.why
		}
		if err := l.rec.save(l.RecordRoot); err != nil {
			slog.Warn("saving the loop's record", "err", err)
		}
	}
	if !s.phase.Terminal() { // evStart always leads somewhere; kept for safety
		s.phase, s.why = StateFailed, "the loop stopped unexpectedly"
	}
	l.rec.State, l.rec.Why, l.rec.Ended = s.phase, s.why, l.Now()
	if err := l.rec.save(l.RecordRoot); err != nil {
		slog.Warn("saving the loop's record", "err", err)
	}
	l.progress("loop %s %s: %s", l.rec.ID, s.phase, s.why)
}

// perform does one action and returns the event that reports it (nil
// for none).
func (l *Loop) perform(ctx context.Context, act action) event {
	switch a := act.(type) {
	case actIterate:
		return l.iterate(ctx, a)
	case actApply:
		err := l.out.Apply(context.WithoutCancel(ctx))
		it := l.current()
		it.Applied = err == nil
		if err == nil {
			l.progress("iteration %d applied: %s", it.N, strings.Join(it.Files, ", "))
		}
		return evApplied{err: err, elapsed: l.elapsed()}
	case actCheck:
		results := l.check(ctx)
		l.current().Checks = results
		return evChecked{results: results, elapsed: l.elapsed()}
	case actCommit:
		hash, err := l.commit(a.message)
		l.current().Commit = hash
		if err == nil && hash != "" {
			l.progress("iteration %d committed %s: %s", l.current().N, hash[:min(12, len(hash))], a.message)
		}
		return evCommitted{err: err, elapsed: l.elapsed()}
	}
	return nil
}

func (l *Loop) current() *Iteration { return &l.rec.Iterations[len(l.rec.Iterations)-1] }

func (l *Loop) elapsed() time.Duration { return l.Now().Sub(l.start) }

func (l *Loop) progress(format string, args ...any) {
	if l.Progress != nil {
		fmt.Fprintf(l.Progress, "ralph: "+format+"\n", args...)
	}
}

// iterate runs iteration a.n as a fresh session.
func (l *Loop) iterate(ctx context.Context, a actIterate) event {
	l.rec.Iterations = append(l.rec.Iterations, Iteration{N: a.n, Started: l.Now()})
	it := l.current()
	l.progress("iteration %d", a.n)
	var focus []string
	if l.Plan != "" {
		focus = []string{l.Plan}
	}
	out, err := l.Sessions.Run(ctx, session.Request{Instruction: l.prompt(l.Workspace, a.n, a.feedback),
		Workspace: l.Workspace, Focus: focus, Model: l.Model, Agent: l.Agent, Approver: l.Approver, Observe: l.Observe})
	l.out = out
	it.Ended, it.Thread, it.Stop = l.Now(), out.ThreadID, string(out.StopReason)
	if err != nil {
		return evIterationFinished{err: err, elapsed: l.elapsed()}
	}
	if out.ThreadID != "" && l.Sessions != nil && l.Sessions.Store != nil {
		// The thread names its loop, so the threads list shows where it came from.
		title := fmt.Sprintf("ralph %s #%d", l.rec.ID, a.n)
		if err := l.Sessions.Store.SetTitle(context.WithoutCancel(ctx), out.ThreadID, title); err != nil {
			slog.Warn("titling the iteration's thread", "err", err)
		}
	}
	it.Usage, it.Files, it.Diff = out.Usage, out.Files(), capDiff(out.Diff)
	it.Cost = l.Price.Cost(out.Usage)
	it.Final = strings.TrimSpace(out.Final)
	it.Promised = out.Finished() && promised(out.Final, l.Promise)
	return evIterationFinished{
		finished:  out.Finished(),
		cancelled: out.Cancelled(),
		err:       out.Err,
		stop:      string(out.StopReason),
		promised:  it.Promised,
		message:   commitMessage(out.Final, a.n),
		changed:   out.Changes != nil && !out.Changes.Empty(),
		cost:      it.Cost,
		elapsed:   l.elapsed(),
	}
}

// check runs every check in the workspace root, in order, each bounded by
// the check timeout and killed with its process group when ctx ends.
func (l *Loop) check(ctx context.Context) []CheckResult {
	var results []CheckResult
	for _, c := range l.Checks {
		r, err := tools.RunCommand(ctx, l.Workspace.Root(), c, l.CheckTimeout)
		res := CheckResult{Command: c, ExitCode: r.ExitCode, TimedOut: r.TimedOut, Duration: r.Duration,
			Output: capOutput(r.Output, maxRecordCheckOutput)}
		if err != nil {
			res.ExitCode, res.Output = -1, err.Error()
		}
		res.Passed = err == nil && !r.TimedOut && r.ExitCode == 0
		results = append(results, res)
		verdict := "passed"
		if !res.Passed {
			verdict = "failed"
		}
		l.progress("check %q %s", c, verdict)
	}
	return results
}

// commit commits the files the iteration changed, and only those: the
// user's other changes and the loop's record stay out. It returns the
// new commit's hash.
func (l *Loop) commit(message string) (string, error) {
	files := l.current().Files
	if len(files) == 0 {
		return "", nil
	}
	if _, err := l.git(nil, append([]string{"add", "-A", "--"}, files...)...); err != nil {
		return "", err
	}
	// With paths, git commits those files only, not whatever else the
	// user had staged.
	if _, err := l.git(strings.NewReader(message+"\n"), append([]string{"commit", "--quiet", "-F", "-", "--"}, files...)...); err != nil {
		return "", err
	}
	hash, err := l.git(nil, "rev-parse", "HEAD")
	return strings.TrimSpace(hash), err
}

// git runs git in the workspace. It ignores the user's Ctrl+C (a commit
// is not cut in half) but not its own timeout.
func (l *Loop) git(stdin io.Reader, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), gitTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = l.Workspace.Root()
	cmd.Stdin = stdin
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("git %s: %w: %s", args[0], err, strings.TrimSpace(errOut.String()))
	}
	return out.String(), nil
}
