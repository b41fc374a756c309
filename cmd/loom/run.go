package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/loom-agent/loom/agent"
	"github.com/loom-agent/loom/session"
	"github.com/loom-agent/loom/workspace"
)

func init() { subcommands = append(subcommands, newRunCmd) }

// exitLimit is the exit code of a run that stopped at --max-turns or
// --max-tokens before the model finished.
const exitLimit = 3

type runOptions struct {
	agentFlags
	instruction string
	root        string
	focus       []string
	apply       bool
	asJSON      bool
	thread      string
	db          string
}

func newRunCmd(s *streams) *cobra.Command {
	var o runOptions
	cmd := &cobra.Command{
		Use:   "run INSTRUCTION",
		Short: "Run the agent once and print the diff of its edits",
		Long: `Run the agent on one instruction. Progress goes to stderr; the unified diff
of the staged edits goes to stdout. Nothing is written unless --apply is
given, and --apply refuses if a file changed on disk meanwhile.

Before the agent runs a shell command, Loom asks on the terminal:
run "go test ./..."? [y]es / [n]o / [a]lways ("always": every later command
of this run). --shell=always (or --allow-shell) runs them without asking;
without a terminal, or with --shell=never, the agent is offered no shell.

Exit codes: 0 done, 1 failed, 2 usage, 3 stopped at a limit, 130 cancelled.`,
		Example: `  loom run "add a --verbose flag to main.go"
  loom run "fix the failing test in parse_test.go" --apply
  loom run --json "rename Foo to Bar" | jq -r .diff`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.instruction = strings.Join(args, " ")
			return runRun(cmd.Context(), s, o)
		},
	}
	o.agentFlags.register(cmd)
	o.agentFlags.registerShell(cmd)
	cmd.Flags().StringVar(&o.root, "root", ".", "the workspace root")
	cmd.Flags().StringSliceVar(&o.focus, "focus", nil, "files in focus (the repo map favours them)")
	cmd.Flags().BoolVar(&o.apply, "apply", false, "apply the edits to disk when the run ends")
	cmd.Flags().BoolVar(&o.asJSON, "json", false, "print the result as JSON on stdout")
	cmd.Flags().StringVar(&o.thread, "thread", "", "continue this thread (ID or unique prefix; see loom threads)")
	cmd.Flags().StringVar(&o.db, "db", "", "the thread database (env LOOM_DB)")
	return cmd
}

// applyError reports an apply that was refused (a conflict, say): the diff
// still goes to stdout and the thread keeps the edits, so nothing is lost.
func applyError(s *streams, err error, diff, threadID string) error {
	fmt.Fprint(s.Out, diff)
	if threadID != "" {
		return fmt.Errorf("%w\nThe edits are kept in thread %s: loom apply %s once the conflict is resolved", err, threadID, threadID)
	}
	return err
}

// exitError carries an exit code chosen by a command.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func runRun(ctx context.Context, s *streams, o runOptions) error {
	ws, err := workspace.New(o.root)
	if err != nil {
		return err
	}
	approver, err := o.approver(s)
	if err != nil {
		return err
	}
	ag, err := newAgent(o.agentFlags, ws)
	if err != nil {
		return err
	}
	svc, threadID, closeDB, err := runSession(ctx, o.db, o.thread)
	if err != nil {
		return err
	}
	defer closeDB()
	p := newProgress(s.Err)
	out, err := svc.Run(ctx, session.Request{Instruction: o.instruction, Workspace: ws, Focus: o.focus,
		ThreadID: threadID, Model: modelName(o.agentFlags), Agent: ag, Observe: p.handle, Approver: approver})
	p.endText()
	if err != nil {
		return err
	}
	res, runErr, diff, threadID := out.Result, out.Err, out.Diff, out.ThreadID
	finished := out.Finished()
	applied := false
	if finished && o.apply && diff != "" {
		if err := out.Apply(ctx); err != nil {
			return applyError(s, err, diff, threadID)
		}
		applied = true
	}
	if o.asJSON {
		errText := ""
		if runErr != nil {
			errText = runErr.Error()
		}
		if err := writeJSON(s, struct {
			Final      string `json:"final"`
			Diff       string `json:"diff"`
			Applied    bool   `json:"applied"`
			StopReason string `json:"stop_reason"`
			Turns      int    `json:"turns"`
			Usage      any    `json:"usage"`
			Thread     string `json:"thread,omitempty"`
			Error      string `json:"error,omitempty"`
		}{res.Final, diff, applied, string(res.StopReason), res.Turns, res.Usage, threadID, errText}); err != nil {
			return err
		}
	} else {
		fmt.Fprint(s.Out, diff)
		if res.Final != "" && !p.tty {
			fmt.Fprintf(s.Err, "final: %s\n", strings.TrimSpace(res.Final))
		}
		fmt.Fprintf(s.Err, "%d turns, %d tokens in, %d out.\n", res.Turns, res.Usage.PromptTokens, res.Usage.CompletionTokens)
		if threadID != "" {
			fmt.Fprintf(s.Err, "Thread %s (continue with --thread %s).\n", threadID, threadID)
		}
		switch {
		case diff == "":
			fmt.Fprintln(s.Err, "No edits.")
		case applied:
			fmt.Fprintln(s.Err, "Applied to disk.")
		case o.apply:
			fmt.Fprintln(s.Err, "Not applied, despite --apply: the run did not finish. The edits made so far are the diff on stdout (git apply keeps them).")
		case !finished:
			fmt.Fprintln(s.Err, "Not applied: the run did not finish. The edits made so far are the diff on stdout.")
		default:
			fmt.Fprintln(s.Err, "Not applied: run again with --apply, or pipe the diff to git apply.")
		}
	}
	switch {
	case errors.Is(runErr, context.Canceled):
		return runErr
	case runErr != nil:
		return runErr
	case res.StopReason == agent.StopMaxTurns || res.StopReason == agent.StopMaxTokens:
		return &exitError{code: exitLimit, err: fmt.Errorf("stopped at a limit (%s) before the model finished", res.StopReason)}
	}
	return nil
}
