package acp

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"

	sdk "github.com/coder/acp-go-sdk"

	"github.com/loom-agent/loom/tools"
	"github.com/loom-agent/loom/workspace"
)

// syncFiles reads the files a call of t names (its path arguments) through
// the client's fs/read_text_file, when it offers it, into the workspace
// overlay: the agent then sees the editor's unsaved text. A file the client
// cannot read (it does not exist, say) is left to the disk, and folders to
// the workspace.
func (sess *session) syncFiles(ctx context.Context, t tools.Tool, args json.RawMessage) {
	if !sess.srv.clientCaps().Fs.ReadTextFile {
		return
	}
	for _, p := range tools.Paths(t, args) {
		rel, err := sess.ws.Resolve(p)
		if err != nil {
			continue // the tool refuses it with the reason
		}
		// A folder, FIFO or device is not the client's to read (a FIFO
		// would hang it); the tool refuses it with the reason.
		if fi, err := os.Stat(sess.ws.Abs(rel)); err == nil && !fi.Mode().IsRegular() {
			continue
		}
		resp, err := sess.srv.peer().ReadTextFile(ctx, sdk.ReadTextFileRequest{SessionId: sess.id, Path: sess.abs(rel)})
		if err != nil {
			sess.srv.log.Debug("acp: fs/read_text_file failed; using the disk", "path", rel, "err", err)
			_ = sess.ws.ClearBuffer(rel)
			continue
		}
		_ = sess.ws.SetBuffer(rel, []byte(resp.Content))
	}
}

// readGate runs a read-only tool that names paths after reading the files
// among them through the client.
type readGate struct {
	tools.Tool
	sess *session
}

func (g readGate) Run(ctx context.Context, env *tools.Env, args json.RawMessage) (tools.Result, error) {
	g.sess.syncFiles(ctx, g.Tool, args)
	return g.Tool.Run(ctx, env, args)
}

// editGate runs a tool that stages edits against a changeset of its own, reports the
// diff, asks the user and writes the edit only if they accept. Each call
// thus stands alone: an accepted edit is on disk (or in the editor) when
// the next call reads, and a rejected one leaves no trace but the model's
// knowledge that it was rejected.
type editGate struct {
	tools.Tool
	sess *session
	ask  tools.Approver
}

func (g editGate) Run(ctx context.Context, env *tools.Env, args json.RawMessage) (tools.Result, error) {
	sess := g.sess
	sess.syncFiles(ctx, g.Tool, args)
	cs := env.Workspace().NewChangeset()
	own := *env
	own.Changes = cs
	res, err := g.Tool.Run(ctx, &own, args)
	if err != nil {
		return res, err
	}
	changes := cs.Changes()
	if len(changes) == 0 {
		return res, nil // the edit changed nothing
	}
	call := sess.currentCall()
	diffs := sess.diffContent(changes)
	sess.translator().attach(call.ID, diffs...)
	sess.send(ctx, sdk.UpdateToolCall(sdk.ToolCallId(call.ID), sdk.WithUpdateContent(diffs)))
	diff, err := cs.Diff()
	if err != nil {
		return tools.Result{}, err
	}
	d, err := g.ask.Approve(ctx, tools.Approval{Call: tools.Call{ID: call.ID, Name: call.Name, Args: json.RawMessage(call.Args)},
		Spec: g.Spec(), Preview: diff, Changes: changes})
	if err != nil {
		return tools.Result{}, err
	}
	if d != tools.Allow {
		return tools.Result{}, fmt.Errorf("%w: the edit of %s was not made; do not retry it unchanged, ask the user or take another approach",
			errRejected, strings.Join(changedPaths(changes), ", "))
	}
	if err := sess.write(ctx, cs, changes); err != nil {
		return tools.Result{}, err
	}
	res.Text += "\nThe user accepted this edit; it is written."
	return res, nil
}

// diffContent is the ACP diff content of staged changes: per file its
// path and the text before and after (no old text for a new file, empty
// new text for a deleted one).
func (sess *session) diffContent(changes []workspace.FileChange) []sdk.ToolCallContent {
	if len(changes) == 0 {
		return nil
	}
	out := make([]sdk.ToolCallContent, 0, len(changes))
	for _, ch := range changes {
		path := sess.abs(ch.NewPath)
		switch ch.Kind {
		case workspace.Create:
			out = append(out, sdk.ToolDiffContent(path, string(ch.New)))
		case workspace.Delete:
			out = append(out, sdk.ToolDiffContent(sess.abs(ch.Path), "", string(ch.Old)))
		default:
			out = append(out, sdk.ToolDiffContent(path, string(ch.New), string(ch.Old)))
		}
	}
	return out
}

// write makes accepted changes real: new and modified files through the
// client's fs/write_text_file when it offers it (the editor's buffer then
// holds them, saved or not), everything else with Changeset.Apply (the
// protocol has no call to delete or move a file). Disk changes go first:
// they are all-or-nothing and refuse files changed meanwhile.
func (sess *session) write(ctx context.Context, cs *workspace.Changeset, changes []workspace.FileChange) error {
	if !sess.srv.clientCaps().Fs.WriteTextFile {
		_, err := cs.Apply()
		return err
	}
	var disk, client []workspace.FileChange
	for _, ch := range changes {
		if ch.Kind == workspace.Create || ch.Kind == workspace.Modify {
			client = append(client, ch)
		} else {
			disk = append(disk, ch)
		}
	}
	if len(disk) > 0 {
		if err := sess.ws.ApplyChanges(disk); err != nil {
			return err
		}
		for _, ch := range disk {
			_ = sess.ws.ClearBuffer(ch.Path)
			_ = sess.ws.ClearBuffer(ch.NewPath)
		}
	}
	for i, ch := range client {
		_, err := sess.srv.peer().WriteTextFile(ctx, sdk.WriteTextFileRequest{SessionId: sess.id, Path: sess.abs(ch.NewPath), Content: string(ch.New)})
		if err != nil {
			done := changedPaths(client[:i])
			return fmt.Errorf("the editor could not write %s (written before it: %v): %w", ch.NewPath, done, err)
		}
		// Later reads see what the editor now holds, saved or not.
		_ = sess.ws.SetBuffer(ch.NewPath, ch.New)
	}
	return nil
}

func changedPaths(changes []workspace.FileChange) []string {
	out := make([]string, 0, len(changes))
	for _, ch := range changes {
		if ch.Kind == workspace.Rename {
			out = append(out, ch.Path+" → "+ch.NewPath)
		} else {
			out = append(out, ch.NewPath)
		}
	}
	return out
}
