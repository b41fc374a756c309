package tools

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/loom-agent/loom/workspace"
)

// Call is one call of a tool, as a model made it.
type Call struct {
	// ID is the model's ID for the call; empty for a call a front end
	// makes itself (an MCP client's, `loom tool`'s).
	ID   string
	Name string
	Args json.RawMessage
}

// Approval is what an approver is asked: may this call take effect?
type Approval struct {
	Call
	Spec Spec
	// Preview shows what would happen, in full (never shortened: the user
	// approves all of it): the command line for a tool that executes
	// ("cd sub && make" when it runs in a folder), or the unified diff of
	// an edit a front end writes at once.
	Preview string
	// Changes are that edit's changes, for a front end that shows diffs
	// its own way; nil for a command.
	Changes []workspace.FileChange
}

// Decision is an approver's answer. The zero value denies.
type Decision int

const (
	Deny Decision = iota
	Allow
)

// Approver answers for the user whether a call may take effect. Whether
// they answered "always" for a kind of call is the approver's to
// remember, for as long as it lives (a run, a session). An error is a
// failure to ask (the turn was cancelled, the editor did not answer), which
// the call reports instead of running.
type Approver interface {
	Approve(ctx context.Context, a Approval) (Decision, error)
}

// ApproverFunc is an Approver written as a function.
type ApproverFunc func(ctx context.Context, a Approval) (Decision, error)

func (f ApproverFunc) Approve(ctx context.Context, a Approval) (Decision, error) { return f(ctx, a) }

// AlwaysApprove allows every call without asking: the policy of
// --allow-shell, for front ends that have nobody to ask. No approver at
// all (nil) is the policy "never": tools that execute are not offered and
// refuse to run.
var AlwaysApprove Approver = ApproverFunc(func(context.Context, Approval) (Decision, error) { return Allow, nil })

// ErrRejected is a call's error when the user said no; the model reads it.
var ErrRejected = errors.New("the user rejected this")

// NeedsApproval reports whether a call of a tool with this spec must be
// approved before the registry runs it: it takes effect outside the
// changeset at once. Staged edits wait for the user's review instead; a
// front end that writes them at once asks itself, with their diff.
func NeedsApproval(sp Spec) bool { return sp.Effect == EffectExecute }

// Approve asks env's approver whether call may run, when its tool needs
// approval (NeedsApproval), with the call's preview. It returns nil when
// the call may run; the reason otherwise: the arguments are invalid (the
// user is not asked about a call that would fail), there is no approver
// (the tool is disabled), the user rejected it (wrapping ErrRejected), or
// asking failed. Registry.Run asks before running; the agent asks first
// itself, so that the time the user takes is not the tool's.
func (r *Registry) Approve(ctx context.Context, env *Env, call Call) error {
	e, ok := r.lookup(call.Name)
	if !ok {
		return nil // Run refuses it
	}
	sp := e.tool.Spec()
	if !NeedsApproval(sp) {
		return nil
	}
	if env == nil || env.Approver == nil {
		return fmt.Errorf("the %s tool is disabled: it runs commands directly on this machine, "+
			"outside the changeset, and nobody here may approve it; start Loom with --allow-shell to enable it", sp.Name)
	}
	if err := e.check(call.Name, call.Args); err != nil {
		return err
	}
	preview, err := commandPreview(e.tool, env, call.Args)
	if err != nil {
		return err
	}
	d, err := env.Approver.Approve(ctx, Approval{Call: call, Spec: sp, Preview: preview})
	switch {
	case err != nil:
		return fmt.Errorf("asking whether to run %s: %w", sp.Name, err)
	case d != Allow:
		return fmt.Errorf("%w: %s was not run. Do not retry it unchanged: ask the user, or take another approach", ErrRejected, QuoteArg(preview))
	}
	return nil
}

// commandPreview is what a call of an executing tool runs: its command
// line, in its folder, for a Commander; its arguments otherwise.
func commandPreview(t Tool, env *Env, args json.RawMessage) (string, error) {
	cmd, ok := t.(Commander)
	if !ok {
		var b bytes.Buffer
		if json.Compact(&b, args) != nil || b.Len() == 0 {
			return t.Spec().Name + " {}", nil
		}
		return t.Spec().Name + " " + b.String(), nil
	}
	c, err := cmd.Command(env, args)
	if err != nil {
		return "", err
	}
	if c.Dir == "" || c.Dir == "." {
		return c.Line, nil
	}
	return "cd " + shellQuote(c.Dir) + " && " + c.Line, nil
}

// shellQuote quotes s for /bin/sh: a folder name is shown as the shell
// would read it.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
