package acp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"

	sdk "github.com/coder/acp-go-sdk"

	"github.com/loom-agent/loom/tools"
)

// terminalOutputLimit is the output the client keeps for the model, the
// same budget as Loom's own shell tool.
const terminalOutputLimit = 64 << 10

// shellGate runs Loom's own shell tool after the user allows the command.
type shellGate struct {
	tools.Tool
	sess *session
}

func (g shellGate) Run(ctx context.Context, env *tools.Env, args json.RawMessage) (tools.Result, error) {
	ok, err := g.sess.permit(ctx, g.sess.currentCall(), permCommand, nil)
	if err != nil {
		return tools.Result{}, err
	}
	if !ok {
		return tools.Result{}, fmt.Errorf("%w: the command was not run", errRejected)
	}
	return g.Tool.Run(ctx, env, args)
}

// terminalShell is the shell tool run in the client's terminal
// (terminal/create ... terminal/release): the user watches the command in
// their editor. Same name, arguments and result text as Loom's own.
type terminalShell struct {
	sess *session
}

func (terminalShell) Spec() tools.Spec { return tools.Shell{}.Spec() }

type shellArgs struct {
	Command        string  `json:"command"`
	TimeoutSeconds float64 `json:"timeout_seconds,omitempty"`
	Cwd            string  `json:"cwd,omitempty"`
}

func (t terminalShell) Run(ctx context.Context, env *tools.Env, raw json.RawMessage) (tools.Result, error) {
	sess := t.sess
	var a shellArgs
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&a); err != nil {
		return tools.Result{}, fmt.Errorf("invalid arguments for shell: %v", err)
	}
	if a.Command == "" {
		return tools.Result{}, errors.New(`invalid arguments for shell: "command" is required`)
	}
	timeout, err := tools.ShellTimeout(env.ShellTimeout, a.TimeoutSeconds)
	if err != nil {
		return tools.Result{}, err
	}
	dir := "."
	if a.Cwd != "" {
		if dir, err = sess.ws.Resolve(a.Cwd); err != nil {
			return tools.Result{}, fmt.Errorf("shell: cwd: %w", err)
		}
		if fi, err := os.Stat(sess.ws.Abs(dir)); err != nil || !fi.IsDir() {
			return tools.Result{}, fmt.Errorf("shell: cwd %s is not a folder", dir)
		}
	}
	call := sess.currentCall()
	ok, err := sess.permit(ctx, call, permCommand, nil)
	if err != nil {
		return tools.Result{}, err
	}
	if !ok {
		return tools.Result{}, fmt.Errorf("%w: the command was not run", errRejected)
	}
	peer := sess.srv.peer()
	created, err := peer.CreateTerminal(ctx, sdk.CreateTerminalRequest{
		SessionId:       sess.id,
		Command:         "/bin/sh",
		Args:            []string{"-c", a.Command},
		Cwd:             sdk.Ptr(sess.abs(dir)),
		OutputByteLimit: sdk.Ptr(terminalOutputLimit),
	})
	if err != nil {
		return tools.Result{}, fmt.Errorf("shell: the editor could not start a terminal: %w", err)
	}
	id := created.TerminalId
	ref := sdk.ToolTerminalRef(id)
	sess.translator().attach(call.ID, ref)
	sess.send(ctx, sdk.UpdateToolCall(sdk.ToolCallId(call.ID), sdk.WithUpdateContent([]sdk.ToolCallContent{ref})))

	// Clean-up requests must go out even when the turn was cancelled.
	bg := context.WithoutCancel(ctx)
	defer peer.ReleaseTerminal(bg, sdk.ReleaseTerminalRequest{SessionId: sess.id, TerminalId: id})
	wctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	exit, waitErr := peer.WaitForTerminalExit(wctx, sdk.WaitForTerminalExitRequest{SessionId: sess.id, TerminalId: id})
	timedOut := waitErr != nil && errors.Is(wctx.Err(), context.DeadlineExceeded) && ctx.Err() == nil
	if waitErr != nil {
		_, _ = peer.KillTerminal(bg, sdk.KillTerminalRequest{SessionId: sess.id, TerminalId: id})
	}
	if err := ctx.Err(); err != nil {
		return tools.Result{}, fmt.Errorf("shell: command cancelled; the terminal was killed: %w", err)
	}
	if waitErr != nil && !timedOut {
		return tools.Result{}, fmt.Errorf("shell: waiting for the terminal: %w", waitErr)
	}
	out, err := peer.TerminalOutput(bg, sdk.TerminalOutputRequest{SessionId: sess.id, TerminalId: id})
	if err != nil {
		return tools.Result{}, fmt.Errorf("shell: reading the terminal's output: %w", err)
	}
	data := tools.ShellData{ExitCode: -1, TimedOut: timedOut, Truncated: out.Truncated}
	var status string
	switch {
	case timedOut:
		status = fmt.Sprintf("timed out after %s; the command was killed", timeout)
	case exit.ExitCode != nil:
		data.ExitCode = *exit.ExitCode
		status = fmt.Sprintf("exit status %d", *exit.ExitCode)
	case exit.Signal != nil:
		status = "terminated by signal: " + *exit.Signal
	default:
		status = "exited (the editor reported no status)"
	}
	text := out.Output
	if text != "" && !strings.HasSuffix(text, "\n") {
		text += "\n"
	}
	return tools.Result{Text: text + status, Data: data}, nil
}
