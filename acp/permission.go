package acp

import (
	"context"
	"fmt"

	sdk "github.com/coder/acp-go-sdk"

	"github.com/loom-agent/loom/tools"
)

// permission is what a session/request_permission asks for; "allow
// always" holds for the rest of the session and that kind only.
type permission int

const (
	permEdit permission = iota
	permCommand
)

// The options of every permission request.
const (
	optAllowOnce   = "allow_once"
	optAllowAlways = "allow_always"
	optReject      = "reject_once"
)

var permissionOptions = []sdk.PermissionOption{
	{OptionId: optAllowOnce, Name: "Allow once", Kind: sdk.PermissionOptionKindAllowOnce},
	{OptionId: optAllowAlways, Name: "Allow always", Kind: sdk.PermissionOptionKindAllowAlways},
	{OptionId: optReject, Name: "Reject", Kind: sdk.PermissionOptionKindRejectOnce},
}

// errRejected is a tool's answer when the user says no; the model reads it.
var errRejected = tools.ErrRejected

// permissions is the session's approver: it asks the user with
// session/request_permission, showing an edit's diff, and remembers "allow
// always" for the rest of the session. A call of a tool that executes and
// that nothing may run (runnable) is refused without asking.
type permissions struct {
	sess     *session
	runnable map[string]bool // the tools that execute and may run
}

func (p permissions) Approve(ctx context.Context, a tools.Approval) (tools.Decision, error) {
	kind := permEdit
	if a.Spec.Effect == tools.EffectExecute {
		if !p.runnable[a.Name] {
			return tools.Deny, disabled(a.Name)
		}
		kind = permCommand
	}
	ok, err := p.sess.permit(ctx, toolCall{ID: a.ID, Name: a.Name, Args: string(a.Args)}, kind, p.sess.diffContent(a.Changes))
	if err != nil || !ok {
		return tools.Deny, err
	}
	return tools.Allow, nil
}

// permit asks the user to allow call, showing content (diffs, for edits),
// unless they allowed its kind always. A cancelled turn, a dismissed
// request or a failed request is a no. When allowed, the call is marked
// in progress.
func (sess *session) permit(ctx context.Context, call toolCall, kind permission, content []sdk.ToolCallContent) (bool, error) {
	sess.mu.Lock()
	always := sess.always[kind]
	sess.mu.Unlock()
	if !always {
		title, locs, raw := describe(call, sess.tools, sess.abs)
		resp, err := sess.srv.peer().RequestPermission(ctx, sdk.RequestPermissionRequest{
			SessionId: sess.id,
			ToolCall: sdk.ToolCallUpdate{
				ToolCallId: sdk.ToolCallId(call.ID),
				Title:      sdk.Ptr(title),
				Kind:       sdk.Ptr(toolKind(sess.tools, call.Name)),
				Status:     sdk.Ptr(sdk.ToolCallStatusPending),
				Locations:  locs,
				RawInput:   raw,
				Content:    content,
			},
			Options: permissionOptions,
		})
		if err != nil {
			if ctx.Err() != nil {
				return false, ctx.Err()
			}
			return false, fmt.Errorf("asking the user for permission failed: %w", err)
		}
		sel := resp.Outcome.Selected
		if sel == nil { // cancelled
			return false, nil
		}
		switch sel.OptionId {
		case optAllowOnce:
		case optAllowAlways:
			sess.mu.Lock()
			sess.always[kind] = true
			sess.mu.Unlock()
		default:
			return false, nil
		}
	}
	sess.send(ctx, sdk.UpdateToolCall(sdk.ToolCallId(call.ID), sdk.WithUpdateStatus(sdk.ToolCallStatusInProgress)))
	return true, nil
}

// currentCall is the gated call in progress. The agent runs a tool that
// is not read-only alone, between its ToolStarted and ToolFinished events,
// so the last gated ToolStarted names the call a gate runs for (tools are
// not told their call's ID).
func (sess *session) currentCall() toolCall {
	sess.mu.Lock()
	defer sess.mu.Unlock()
	return sess.current
}

func (sess *session) setCurrentCall(c toolCall) {
	sess.mu.Lock()
	sess.current = c
	sess.mu.Unlock()
}
