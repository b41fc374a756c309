// Package session owns one agent run end to end, for every front end (the
// CLI's run and REPL, the LSP, MCP and ACP servers): a Request goes in,
// an Outcome comes out. In between it continues the thread asked for (its
// conversation, and the edits its earlier runs staged and nobody applied),
// checks the files in focus, runs the agent with one stream of events that
// the thread recorder and the front end's progress observe, and records
// how the run ended, staged edits included. Applying is the front end's
// step, through Outcome.Apply (or Outcome.MarkApplied when its client
// applied them), which refuses a run that did not finish.
//
// It is the protocol servers' one door to the agent and the threads
// (internal/layers holds them to it): a Service runs requests and answers
// the thread operations they offer (SearchThreads, ResolveThread[In],
// ThreadMarkdown); a Conversation carries a session a client keeps open
// across requests (ACP's), in its thread or in memory; events.go names
// the events and stop reasons they show. The thread package stays a store
// that knows nothing of the agent.
//
// A front end maps its protocol's request to a Request and the Outcome to
// its reply, and does nothing else.
package session

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/loom-agent/loom/agent"
	"github.com/loom-agent/loom/llm"
	"github.com/loom-agent/loom/thread"
	"github.com/loom-agent/loom/tools"
	"github.com/loom-agent/loom/workspace"
)

// Runner runs one agent task; *agent.Agent is one.
type Runner interface {
	Run(ctx context.Context, task agent.Task, onEvent func(agent.Event)) (agent.Result, error)
}

// Approver answers whether a call that needs the user's consent may run
// (tools.Approver), named here for front ends that reach the tools only
// through the session.
type Approver = tools.Approver

// AlwaysApprove allows every call: the policy of --allow-shell for a
// front end with nobody to ask.
var AlwaysApprove = tools.AlwaysApprove

// Request is one run a front end asks for.
type Request struct {
	// Instruction is what the model is told.
	Instruction string
	// Record is the user's own words, recorded as the thread's turn and
	// title; empty means Instruction. A front end that adds context for
	// the model (where a selection is, say) records the words without it.
	Record string
	// Workspace is the repository to work in.
	Workspace *workspace.Workspace
	// Focus lists files the user is looking at: workspace-relative, or
	// absolute inside the workspace. A path outside refuses the run.
	Focus []string
	// Dir is the folder the user works in, for the AGENTS.md files read
	// from the root down to it (ProjectInstructions); "" is the root.
	Dir string
	// ThreadID continues that thread (an ID already resolved by the front
	// end, which knows which threads its client may see); empty starts a
	// new one.
	ThreadID string
	// History is the conversation so far for a front end that keeps it
	// itself, used when there is no thread store (an ACP session or the
	// REPL in memory).
	History []llm.Message
	// Changes is the changeset of a front end that keeps one across runs
	// (the REPL); nil starts from the thread's unapplied edits, if any.
	Changes *workspace.Changeset
	// Model names the model in the thread's record.
	Model string
	// Agent runs the task.
	Agent Runner
	// Approver is asked before each call that needs the user's consent (a
	// command) runs: a terminal prompt, an editor's permission request, or
	// a server's policy (tools.AlwaysApprove). nil offers no such tool.
	Approver Approver
	// Observe receives every event of the run, as the recorder does: the
	// front end's progress. May be nil.
	Observe func(Event)
}

// Outcome is how a run ended.
type Outcome struct {
	agent.Result
	// Err is the run's own error: cancelled (wrapping context.Canceled)
	// or failed. A run stopped at a limit has none; see StopReason.
	Err error
	// ThreadID names the thread the run was recorded in; empty when
	// there is no store or recording failed.
	ThreadID string
	// Diff is the unified diff of the staged edits ("" for none).
	Diff string

	svc *Service
}

// Finished reports whether the model finished the run: only such a run's
// edits are applied. One stopped at a limit, cancelled or failed left its
// work half done.
func (o Outcome) Finished() bool { return o.Err == nil && o.StopReason == StopDone }

// Cancelled reports whether the run's context ended it (cancelled, or past
// its deadline).
func (o Outcome) Cancelled() bool {
	return errors.Is(o.Err, context.Canceled) || errors.Is(o.Err, context.DeadlineExceeded) || o.StopReason == StopCancelled
}

// Files lists the files the run's staged edits touch, in the order staged:
// both names of a renamed file. Never nil.
func (o Outcome) Files() []string {
	out := []string{}
	if o.Changes == nil {
		return out
	}
	for _, ch := range o.Changes.Changes() {
		out = append(out, ch.Path)
		if ch.NewPath != "" && ch.NewPath != ch.Path {
			out = append(out, ch.NewPath)
		}
	}
	return out
}

// ErrUnfinished refuses to apply the edits of a run that did not finish.
var ErrUnfinished = errors.New("the run did not finish, so its edits are not applied")

// Apply writes the run's staged edits to disk (all or nothing, refused on
// conflict) and records in the thread that they were applied. It refuses
// an unfinished run with ErrUnfinished and writes nothing.
func (o Outcome) Apply(ctx context.Context) error {
	if !o.Finished() {
		return ErrUnfinished
	}
	if o.Changes == nil || o.Changes.Empty() {
		return nil
	}
	if _, err := o.Changes.Apply(); err != nil {
		return err
	}
	o.MarkApplied(ctx)
	return nil
}

// MarkApplied records in the thread that the run's edits were applied by
// the client (an editor's workspace/applyEdit), so a later run of the
// thread starts from the disk.
func (o Outcome) MarkApplied(ctx context.Context) { o.svc.DropChanges(ctx, o.ThreadID) }

// Service runs sessions over one thread store.
type Service struct {
	// Store records runs as threads and answers the thread operations;
	// nil keeps none.
	Store *thread.Store
	// StoreErr is why Store is nil (the database could not be opened),
	// told to a client that asks for a thread.
	StoreErr error
	// Log receives warnings about recording, which never stops a run.
	Log *slog.Logger
}

func (s *Service) log() *slog.Logger {
	if s == nil || s.Log == nil {
		return slog.Default()
	}
	return s.Log
}

// Run performs req. The error is non-nil only when the run could not
// start: the thread to continue cannot be read or recorded (its history
// and edits would be missing). A new thread that cannot be recorded is
// only logged, as the run matters more than its record. How the run
// itself ended is in the Outcome.
func (s *Service) Run(ctx context.Context, req Request) (Outcome, error) {
	if req.Agent == nil || req.Workspace == nil {
		return Outcome{}, errors.New("session: a request needs an agent and a workspace")
	}
	record := req.Record
	if record == "" {
		record = req.Instruction
	}
	// The files in focus reach the system prompt and the repo map: each
	// must name a path inside the workspace.
	focus := make([]string, 0, len(req.Focus))
	for _, f := range req.Focus {
		rel, err := req.Workspace.Resolve(f)
		if err != nil {
			return Outcome{}, fmt.Errorf("files in focus: %w", err)
		}
		focus = append(focus, rel)
	}
	task := agent.Task{Instruction: req.Instruction, Workspace: req.Workspace, Focus: focus, History: req.History,
		Changes: req.Changes, Approver: req.Approver, Instructions: ProjectInstructions(req.Workspace, req.Dir)}
	var rec *Recorder
	if s != nil && s.Store != nil {
		var err error
		rec, err = Record(ctx, s.Store, RecordOptions{ThreadID: req.ThreadID, Instruction: record,
			Workspace: req.Workspace.Root(), Model: req.Model})
		switch {
		case err != nil && req.ThreadID != "":
			return Outcome{}, fmt.Errorf("cannot continue thread %s: %w", req.ThreadID, err)
		case err != nil:
			s.log().Warn("not recording this run as a thread", "err", err)
		default:
			task.History = rec.History()
			// The thread's unapplied edits are where this run starts: the
			// model was told of them, so they must still be there.
			if task.Changes == nil {
				cs, err := req.Workspace.Restage(rec.Changes())
				if err != nil {
					return Outcome{ThreadID: rec.ID()}, fmt.Errorf("cannot continue thread %s: its staged edits: %w", rec.ID(), err)
				}
				task.Changes = cs
			}
		}
	}
	onEvent := req.Observe
	if rec != nil {
		observe := req.Observe
		onEvent = func(ev agent.Event) {
			if observe != nil {
				observe(ev)
			}
			rec.Handle(ev)
		}
	}
	res, runErr := req.Agent.Run(ctx, task, onEvent)
	out := Outcome{Result: res, Err: runErr, svc: s}
	if res.Changes != nil {
		d, err := res.Changes.Diff()
		if err != nil {
			return out, fmt.Errorf("rendering the diff: %w", err)
		}
		out.Diff = d
	}
	if rec != nil {
		// Cancelled and failed runs are recorded too, and can be continued.
		if err := rec.Finish(res, runErr); err != nil {
			s.log().Warn("recording the thread", "thread", rec.ID(), "err", err)
		}
		out.ThreadID = rec.ID()
	}
	return out, nil
}

// DropChanges records that thread id's staged edits are settled: applied
// (by Outcome.Apply, an editor, loom apply) or discarded. A later run
// starts from the disk. A failure is only logged: the disk holds what it
// holds either way.
func (s *Service) DropChanges(ctx context.Context, id string) {
	if s == nil || s.Store == nil || id == "" {
		return
	}
	if err := s.Store.ClearChanges(context.WithoutCancel(ctx), id); err != nil {
		s.log().Warn("recording that the thread's edits were applied", "thread", id, "err", err)
	}
}

// ApplyThread applies the edits thread id staged and nobody applied, all
// or nothing, refused on conflict, and records that they were. It returns
// the changes written; none is not an error.
func (s *Service) ApplyThread(ctx context.Context, ws *workspace.Workspace, id string) ([]workspace.FileChange, error) {
	if s == nil || s.Store == nil {
		return nil, errors.New("there is no thread database")
	}
	t, err := s.Store.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	if t.Workspace != ws.Root() {
		return nil, fmt.Errorf("thread %s staged its edits in %s, not in %s; apply it there (--root)", t.ID, t.Workspace, ws.Root())
	}
	if t.Status == thread.StatusRunning {
		return nil, fmt.Errorf("thread %s is still running; apply it when the run has ended", t.ID)
	}
	if len(t.Changes) == 0 {
		return nil, nil
	}
	cs, err := ws.Restage(t.Changes)
	if err != nil {
		return nil, err
	}
	changes, err := cs.Apply()
	if err != nil {
		return nil, err
	}
	s.DropChanges(ctx, t.ID)
	return changes, nil
}
