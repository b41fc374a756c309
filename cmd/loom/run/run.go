// Package run is `loom run`: the agent once on one instruction, its edits
// printed as a diff and applied on request.
package run

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/charmbracelet/colorprofile"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/loom-agent/loom/agent"
	"github.com/loom-agent/loom/cmd/loom/internal/cmdutil"
	"github.com/loom-agent/loom/cmd/loom/internal/iostreams"
	"github.com/loom-agent/loom/cmd/loom/internal/tui"
	"github.com/loom-agent/loom/session"
	"github.com/loom-agent/loom/tools"
	"github.com/loom-agent/loom/workspace"
)

// RunOptions are what `loom run` needs.
type RunOptions struct {
	IO        *iostreams.IOStreams
	Workspace func(root string) (*workspace.Workspace, error)
	Approver  func(cmdutil.AgentFlags) (tools.Approver, error)
	Agent     func(cmdutil.AgentFlags, *workspace.Workspace) (*agent.Agent, error)
	ModelName func(cmdutil.AgentFlags) string
	Session   func(ctx context.Context, db, thread string) (*session.Service, string, func(), error)

	AgentFlags  cmdutil.AgentFlags
	Instruction string
	Root        string
	// RootSet: --root was given; otherwise the workspace is the
	// repository around the working folder (cmdutil.RepositoryRoot).
	RootSet bool
	// Focus holds files in focus: relative to the working folder, or to
	// --root when it is given.
	Focus  []string
	Apply  bool
	JSON   bool
	Thread string // an ID or unique prefix to continue
	DB     string
	// Plain keeps the output plain lines on a terminal too: no markdown,
	// no colours (NO_COLOR drops the colours alone).
	Plain bool
}

// NewCmdRun builds `loom run`; runF, when given, replaces the run.
func NewCmdRun(f *cmdutil.Factory, runF func(*RunOptions) error) *cobra.Command {
	opts := &RunOptions{IO: f.IOStreams, Workspace: f.Workspace, Approver: f.Approver, Agent: f.Agent,
		ModelName: f.ModelName, Session: f.Session}
	cmd := &cobra.Command{
		Use:   "run INSTRUCTION",
		Short: "Run the agent once and print the diff of its edits",
		Long: `Run the agent on one instruction ("-" reads it from stdin). Progress goes to stderr; the unified diff
of the staged edits goes to stdout. Nothing is written unless --apply is
given, and --apply refuses if a file changed on disk meanwhile.

Before the agent runs a shell command, Loom asks on the terminal:
run "go test ./..."? [y]es / [n]o / [a]lways ("always": every later command
of this run). --shell=always (or --allow-shell) runs them without asking;
without a terminal, or with --shell=never, the agent is offered no shell.

On a terminal the answer is rendered as markdown and the diff coloured;
--plain (or output that is not a terminal) keeps plain lines, and
NO_COLOR drops the colours.

Exit codes: 0 done, 1 failed, 2 usage, 3 stopped at a limit, 130 cancelled.`,
		Example: `  loom run "add a --verbose flag to main.go"
  loom run "fix the failing test in parse_test.go" --apply
  loom run --json "rename Foo to Bar" | jq -r .diff
  git diff | loom run -          # the instruction from stdin`,
		Args: cmdutil.UsageArgs(cobra.MinimumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Instruction = strings.Join(args, " ")
			if len(args) == 1 && args[0] == "-" {
				text, err := readInstruction(opts.IO.In)
				if err != nil {
					return err
				}
				opts.Instruction = text
			}
			opts.RootSet = cmd.Flags().Changed("root")
			if runF != nil {
				return runF(opts)
			}
			return runRun(cmd.Context(), opts)
		},
	}
	opts.AgentFlags.Register(cmd)
	opts.AgentFlags.RegisterShell(cmd)
	cmd.Flags().StringVar(&opts.Root, "root", ".", "the workspace root (default: the repository around the working folder)")
	cmd.Flags().StringSliceVar(&opts.Focus, "focus", nil, "files in focus (the repo map favours them)")
	cmd.Flags().BoolVar(&opts.Apply, "apply", false, "apply the edits to disk when the run ends")
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print the result as JSON on stdout")
	cmd.Flags().StringVar(&opts.Thread, "thread", "", "continue this thread (ID or unique prefix; see loom threads)")
	cmd.Flags().StringVar(&opts.DB, "db", "", "the thread database (env LOOM_DB)")
	cmd.Flags().BoolVar(&opts.Plain, "plain", false, "plain lines on a terminal too: no markdown, no colours")
	return cmd
}

func runRun(ctx context.Context, opts *RunOptions) error {
	root, dir, focus := opts.Root, "", opts.Focus
	if !opts.RootSet {
		// The repository is the workspace, as in the REPL; the working
		// folder still chooses the AGENTS.md files and anchors --focus.
		dir, _ = filepath.Abs(opts.Root)
		root = cmdutil.RepositoryRoot(opts.Root)
		focus = make([]string, len(opts.Focus))
		for i, f := range opts.Focus {
			if !filepath.IsAbs(f) {
				f = filepath.Join(dir, f)
			}
			focus[i] = f
		}
	}
	ws, err := opts.Workspace(root)
	if err != nil {
		return err
	}
	approver, err := opts.Approver(opts.AgentFlags)
	if err != nil {
		return err
	}
	ag, err := opts.Agent(opts.AgentFlags, ws)
	if err != nil {
		return err
	}
	svc, threadID, closeDB, err := opts.Session(ctx, opts.DB, opts.Thread)
	if err != nil {
		return err
	}
	defer closeDB()
	out, errOut := opts.IO.Out, opts.IO.ErrOut
	// On a terminal the run is rendered as the REPL renders it; plain
	// lines otherwise, or with --plain.
	live := opts.IO.IsStderrTTY() && !opts.Plain
	observe, end, reply := renderer(opts, live)
	o, err := svc.Run(ctx, session.Request{Instruction: opts.Instruction, Workspace: ws, Focus: focus, Dir: dir,
		ThreadID: threadID, Model: opts.ModelName(opts.AgentFlags), Agent: ag, Observe: observe, Approver: approver})
	end()
	if err != nil {
		return err
	}
	res, runErr, diff, threadID := o.Result, o.Err, o.Diff, o.ThreadID
	finished := o.Finished()
	applied := false
	if finished && opts.Apply && diff != "" {
		if err := o.Apply(ctx); err != nil {
			return applyError(opts.IO, err, diff, threadID)
		}
		applied = true
	}
	if opts.JSON {
		errText := ""
		if runErr != nil {
			errText = runErr.Error()
		}
		var usage any // null when the server did not report it
		if usageKnown(res) {
			usage = res.Usage
		}
		// The names are loom_agent's (MCP) where the two say the same.
		if err := cmdutil.WriteJSON(out, struct {
			Final        string   `json:"final"`
			Diff         string   `json:"diff"`
			FilesChanged []string `json:"files_changed"`
			Applied      bool     `json:"applied"`
			StopReason   string   `json:"stop_reason"`
			Turns        int      `json:"turns"`
			Usage        any      `json:"usage"`
			ThreadID     string   `json:"thread_id,omitempty"`
			Error        string   `json:"error,omitempty"`
		}{res.Final, diff, cmdutil.NonNil(o.Files()), applied, string(res.StopReason), res.Turns, usage, threadID, errText}); err != nil {
			return err
		}
	} else if failedEmpty(o) {
		// Nothing to show but why: the error is the run's one message.
	} else {
		if diff != "" && opts.IO.IsStdoutTTY() && !opts.Plain {
			fmt.Fprint(out, tui.ColourDiff(diff, profile()))
		} else {
			fmt.Fprint(out, diff)
		}
		// The answer is printed once: streamed as it came, else here.
		if final := strings.TrimSpace(res.Final); final != "" && !live && strings.TrimSpace(reply()) != final {
			fmt.Fprintf(errOut, "final: %s\n", final)
		}
		if usageKnown(res) {
			fmt.Fprintf(errOut, "%d turns, %d tokens in, %d out.\n", res.Turns, res.Usage.PromptTokens, res.Usage.CompletionTokens)
		} else {
			fmt.Fprintf(errOut, "%d turns, tokens unknown (the server did not report them).\n", res.Turns)
		}
		if threadID != "" {
			fmt.Fprintf(errOut, "Thread %s (continue with --thread %s).\n", threadID, threadID)
		}
		switch {
		case diff == "":
			fmt.Fprintln(errOut, "No edits.")
		case applied:
			fmt.Fprintln(errOut, "Applied to disk.")
		case opts.Apply:
			fmt.Fprintln(errOut, "Not applied, despite --apply: the run did not finish. The edits made so far are the diff on stdout (git apply keeps them).")
		case !finished:
			fmt.Fprintln(errOut, "Not applied: the run did not finish. The edits made so far are the diff on stdout.")
		default:
			fmt.Fprintln(errOut, "Not applied: run again with --apply, or pipe the diff to git apply.")
		}
	}
	switch {
	case runErr != nil: // cancelled (exit 130) or failed
		return runErr
	case res.StopReason == agent.StopMaxTurns || res.StopReason == agent.StopMaxTokens:
		return &cmdutil.ExitError{Code: cmdutil.ExitLimit, Err: fmt.Errorf("stopped at a limit (%s) before the model finished", res.StopReason)}
	}
	return nil
}

// failedEmpty: the run failed before the model answered anything (a
// wrong key, a server down), so turns, thread and edits say nothing.
func failedEmpty(o session.Outcome) bool {
	return o.Err != nil && !o.Cancelled() && o.Diff == "" && o.Result.Usage.PromptTokens == 0 && strings.TrimSpace(o.Result.Final) == ""
}

// usageKnown: the server reported token counts. No model call reads no
// prompt, so zero means the server did not say (some local servers).
func usageKnown(res agent.Result) bool { return res.Turns == 0 || res.Usage.PromptTokens > 0 }

// renderer is how the run's events are shown: rendered (markdown, tool
// lines, colours) when live, else cmdutil's progress lines. end finishes
// what is on screen.
func renderer(opts *RunOptions, live bool) (observe func(session.Event), end func(), reply func() string) {
	if !live {
		p := cmdutil.NewProgress(opts.IO.ErrOut, false)
		return p.Handle, p.EndText, p.Reply
	}
	width := 80
	if f, ok := opts.IO.ErrOut.(*os.File); ok {
		if w, _, err := term.GetSize(int(f.Fd())); err == nil && w > 0 {
			width = w
		}
	}
	v := tui.NewRunView(opts.IO.ErrOut, profile(), width)
	v.Start()
	return v.Handle, v.End, func() string { return "" }
}

// profile is the terminal's colours as the environment says (TERM,
// COLORTERM; none under NO_COLOR).
func profile() colorprofile.Profile { return colorprofile.Env(os.Environ()) }

// applyError reports an apply that was refused (a conflict, say): the diff
// still goes to stdout and the thread keeps the edits, so nothing is lost.
func applyError(ios *iostreams.IOStreams, err error, diff, threadID string) error {
	fmt.Fprint(ios.Out, diff)
	if threadID != "" {
		return fmt.Errorf("%w\nThe edits are kept in thread %s: loom apply %s once the conflict is resolved", err, threadID, threadID)
	}
	return err
}

// maxInstruction bounds an instruction read from stdin.
const maxInstruction = 10 << 20

// readInstruction reads `loom run -`'s instruction from stdin.
func readInstruction(in io.Reader) (string, error) {
	b, err := io.ReadAll(io.LimitReader(in, maxInstruction+1))
	switch {
	case err != nil:
		return "", fmt.Errorf("reading the instruction from stdin: %w", err)
	case len(b) > maxInstruction:
		return "", &cmdutil.UsageError{Err: fmt.Errorf("the instruction on stdin is over %d MiB", maxInstruction>>20)}
	case strings.TrimSpace(string(b)) == "":
		return "", &cmdutil.UsageError{Err: errors.New("no instruction on stdin (loom run - reads it from there)")}
	}
	return string(b), nil
}
