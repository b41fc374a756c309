// Package ralph is `loom ralph`: a Ralph loop (the same prompt run again
// and again by a fresh agent session until the checks pass and the agent
// states the promise, or a cap stops it), `loom ralph status|log`, which
// read the loops' records in the repository's .loom/ralph/, and `loom
// ralph stop`, which asks the running loop to stop.
package ralph

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"time"

	"github.com/spf13/cobra"

	"github.com/loom-agent/loom/agent"
	"github.com/loom-agent/loom/cmd/loom/internal/cmdutil"
	"github.com/loom-agent/loom/cmd/loom/internal/iostreams"
	"github.com/loom-agent/loom/ralph"
	"github.com/loom-agent/loom/session"
	"github.com/loom-agent/loom/tools"
	"github.com/loom-agent/loom/workspace"
)

// RalphOptions are what `loom ralph` needs.
type RalphOptions struct {
	IO        *iostreams.IOStreams
	Workspace func(root string) (*workspace.Workspace, error)
	Approver  func(cmdutil.AgentFlags) (tools.Approver, error)
	Agent     func(cmdutil.AgentFlags, *workspace.Workspace) (*agent.Agent, error)
	ModelName func(cmdutil.AgentFlags) string
	Session   func(ctx context.Context, db, thread string) (*session.Service, string, func(), error)

	AgentFlags    cmdutil.AgentFlags
	Root          string
	DB            string
	PromptFile    string
	Plan          string
	Checks        []string
	CheckTimeout  time.Duration
	Promise       string
	MaxIterations int
	MaxRuntime    time.Duration
	MaxCost       float64
	Price         ralph.Price
	Commit        bool
	Worktree      bool
}

// NewCmdRalph builds `loom ralph` and its status and log; runF, when
// given, replaces the loop.
func NewCmdRalph(f *cmdutil.Factory, runF func(*RalphOptions) error) *cobra.Command {
	opts := &RalphOptions{IO: f.IOStreams, Workspace: f.Workspace, Approver: f.Approver, Agent: f.Agent,
		ModelName: f.ModelName, Session: f.Session}
	cmd := &cobra.Command{
		Use:   "ralph",
		Short: "Run the agent again and again on one prompt until the work is done",
		Long: `Run a Ralph loop: each iteration is a fresh agent session on the same prompt
(PROMPT.md), the plan file it keeps current, and what the previous iteration
left (a failing check's output). After each iteration its edits are applied,
the checks run (each a shell command in the repository, bounded by
--check-timeout), and with --commit the edits are committed with the message
the agent wrote. Each iteration is recorded as a thread; the loop's record
is in .loom/ralph/ (loom ralph status, loom ralph log).

The loop stops when every check passes and the agent states the promise
(<promise>TEXT</promise> in its final answer), at a cap (--max-iterations,
--max-runtime, --max-cost; with none given, 10 iterations), when asked to
by loom ralph stop (from any terminal: the iteration in flight finishes,
applied, checked and committed, and no other starts), or on Ctrl+C: the
iteration in flight is then not applied, or, when already applied, is
checked and committed before the loop stops. --max-cost needs the model's
price (--price-input, --price-output: US dollars per million tokens).

ralph.yaml at the repository root holds the same settings (prompt, plan,
checks, check_timeout, promise, max_iterations, max_runtime, max_cost,
price: {input, output}, commit); flags override it.

Exit codes: 0 done, 1 failed, 2 usage, 3 stopped at a cap, 130 cancelled or
stopped by request.`,
		Example: `  loom ralph --plan PLAN.md --check 'go test ./...' --promise DONE --commit --allow-shell
  loom ralph status
  loom ralph stop
  loom ralph log --diff`,
		Args: cmdutil.UsageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := readConfig(opts.Root)
			if err != nil {
				return err
			}
			if err := opts.merge(cmd, cfg); err != nil {
				return err
			}
			if runF != nil {
				return runF(opts)
			}
			return ralphRun(cmd.Context(), opts)
		},
	}
	opts.AgentFlags.Register(cmd)
	opts.AgentFlags.RegisterShell(cmd)
	fl := cmd.Flags()
	fl.StringVar(&opts.Root, "root", ".", "the repository root")
	fl.StringVar(&opts.DB, "db", "", "the thread database (env LOOM_DB)")
	fl.StringVar(&opts.PromptFile, "prompt", "PROMPT.md", "the prompt file every iteration starts from")
	fl.StringVar(&opts.Plan, "plan", "", "the plan file the agent keeps current")
	fl.StringArrayVar(&opts.Checks, "check", nil, "a command that must pass after each iteration (repeatable)")
	fl.DurationVar(&opts.CheckTimeout, "check-timeout", ralph.DefaultCheckTimeout, "kill a check after this long")
	fl.StringVar(&opts.Promise, "promise", "", "the text the agent states in <promise>…</promise> when done")
	fl.IntVar(&opts.MaxIterations, "max-iterations", 0, "stop after this many iterations")
	fl.DurationVar(&opts.MaxRuntime, "max-runtime", 0, "stop after this long (the iteration in flight is not applied)")
	fl.Float64Var(&opts.MaxCost, "max-cost", 0, "stop once the model's usage cost this many US dollars")
	fl.Float64Var(&opts.Price.Input, "price-input", 0, "the model's price per million input tokens, US dollars")
	fl.Float64Var(&opts.Price.Output, "price-output", 0, "the model's price per million output tokens, US dollars")
	fl.BoolVar(&opts.Commit, "commit", false, "commit each applied iteration with git")
	fl.BoolVar(&opts.Worktree, "worktree", false, "run in a new git worktree beside the repository (branch ralph/ID), leaving this tree untouched")
	cmd.AddCommand(NewCmdStatus(f, nil), NewCmdLog(f, nil), NewCmdStop(f, nil))
	return cmd
}

func ralphRun(ctx context.Context, opts *RalphOptions) error {
	ws, err := opts.Workspace(opts.Root)
	if err != nil {
		return err
	}
	prompt, err := ralph.ReadPrompt(ws, opts.PromptFile)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%w (write the task in %s, or name the file with --prompt)", err, opts.PromptFile)
	}
	if err != nil {
		return err
	}
	caps := ralph.Caps{Iterations: opts.MaxIterations, Runtime: opts.MaxRuntime, Cost: opts.MaxCost}
	if caps == (ralph.Caps{}) {
		caps.Iterations = ralph.DefaultIterations
	}
	cfg := ralph.Config{Prompt: prompt, Plan: opts.Plan, Checks: opts.Checks, CheckTimeout: opts.CheckTimeout,
		Promise: opts.Promise, Caps: caps, Price: opts.Price, Commit: opts.Commit}
	if err := cfg.Validate(); err != nil {
		return &cmdutil.UsageError{Err: err}
	}
	if opts.Plan != "" {
		if _, err := ws.Resolve(opts.Plan); err != nil {
			return &cmdutil.UsageError{Err: fmt.Errorf("the plan: %w", err)}
		}
	}
	approver, err := opts.Approver(opts.AgentFlags)
	if err != nil {
		return err
	}
	l := &ralph.Loop{Config: cfg, RecordRoot: ws.Root(), Progress: opts.IO.ErrOut}
	if opts.Worktree {
		l.ID = ralph.NewID(time.Now())
		if l.Worktree, l.Branch, err = ralph.AddWorktree(ctx, ws.Root(), l.ID); err != nil {
			return err
		}
		fmt.Fprintf(opts.IO.ErrOut, "ralph: working in %s on branch %s\n", l.Worktree, l.Branch)
		if ws, err = opts.Workspace(l.Worktree); err != nil {
			return err
		}
	}
	ag, err := opts.Agent(opts.AgentFlags, ws)
	if err != nil {
		return err
	}
	svc, _, closeDB, err := opts.Session(ctx, opts.DB, "")
	if err != nil {
		return err
	}
	defer closeDB()
	p := cmdutil.NewProgress(opts.IO.ErrOut, opts.IO.IsStderrTTY())
	l.Workspace, l.Sessions, l.Agent, l.Model, l.Approver, l.Observe = ws, svc, ag, opts.ModelName(opts.AgentFlags), approver, p.Handle
	rec, err := l.Run(ctx)
	p.EndText()
	if err != nil {
		return err
	}
	fmt.Fprintf(opts.IO.Out, "%s %s after %d iterations ($%.4f): %s\n", rec.ID, rec.State, len(rec.Iterations), rec.Cost, rec.Why)
	if rec.Worktree != "" {
		fmt.Fprintf(opts.IO.Out, "The work is in %s, on branch %s (git worktree remove %s when merged).\n", rec.Worktree, rec.Branch, rec.Worktree)
	}
	switch rec.State {
	case ralph.StateDone:
		return nil
	case ralph.StateCapped:
		return &cmdutil.ExitError{Code: cmdutil.ExitLimit, Err: errors.New(rec.Why)}
	case ralph.StateCancelled, ralph.StateStopped:
		return fmt.Errorf("%s: %w", rec.Why, context.Canceled)
	}
	return errors.New(rec.Why)
}
