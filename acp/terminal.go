package acp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	sdk "github.com/coder/acp-go-sdk"

	"github.com/loom-agent/loom/tools"
)

// terminalOutputLimit is the output the client keeps for the model, the
// same budget as Loom's own shell tool.
const terminalOutputLimit = 64 << 10

// terminalShell runs a tool's command line in the client's terminal
// (terminal/create ... terminal/release): the user watches the command in
// their editor. Same name, arguments, checks and result text as the tool's
// own run; the registry has asked the user (permissions) before it runs.
type terminalShell struct {
	tools.Tool
	cmd  tools.Commander
	sess *session
}

func (t terminalShell) Run(ctx context.Context, env *tools.Env, raw json.RawMessage) (tools.Result, error) {
	sess := t.sess
	c, err := t.cmd.Command(env, raw)
	if err != nil {
		return tools.Result{}, err
	}
	dir, timeout, name := c.Dir, c.Timeout, t.Spec().Name
	call := sess.currentCall()
	peer := sess.srv.peer()
	created, err := peer.CreateTerminal(ctx, sdk.CreateTerminalRequest{
		SessionId:       sess.id,
		Command:         "/bin/sh",
		Args:            []string{"-c", c.Line},
		Cwd:             sdk.Ptr(sess.abs(dir)),
		OutputByteLimit: sdk.Ptr(terminalOutputLimit),
	})
	if err != nil {
		return tools.Result{}, fmt.Errorf("%s: the editor could not start a terminal: %w", name, err)
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
		return tools.Result{}, fmt.Errorf("%s: command cancelled; the terminal was killed: %w", name, err)
	}
	if waitErr != nil && !timedOut {
		return tools.Result{}, fmt.Errorf("%s: waiting for the terminal: %w", name, waitErr)
	}
	out, err := peer.TerminalOutput(bg, sdk.TerminalOutputRequest{SessionId: sess.id, TerminalId: id})
	if err != nil {
		return tools.Result{}, fmt.Errorf("%s: reading the terminal's output: %w", name, err)
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
