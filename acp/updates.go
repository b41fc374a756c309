package acp

import (
	"context"
	"encoding/json"
	"path/filepath"
	"sync"

	sdk "github.com/coder/acp-go-sdk"

	loomsession "github.com/loom-agent/loom/session"
	"github.com/loom-agent/loom/tools"
)

// toolKind is the ACP kind of a tool's calls, which clients use for icons
// and for what they show (a read, a diff, a terminal), from the tool's
// effect. Loom has no think or fetch tools; a name no tool has (one the
// model made up) is "other".
func toolKind(reg *tools.Registry, name string) sdk.ToolKind {
	t, ok := reg.Get(name)
	if !ok {
		return sdk.ToolKindOther
	}
	switch t.Spec().Effect {
	case tools.EffectRead:
		return sdk.ToolKindRead
	case tools.EffectSearch:
		return sdk.ToolKindSearch
	case tools.EffectEdit:
		return sdk.ToolKindEdit
	case tools.EffectMove:
		return sdk.ToolKindMove
	case tools.EffectDelete:
		return sdk.ToolKindDelete
	case tools.EffectExecute:
		return sdk.ToolKindExecute
	}
	return sdk.ToolKindOther
}

// gated reports whether a tool's calls ask the user before they take
// effect: edits (written only when accepted) and commands.
func gated(reg *tools.Registry, name string) bool {
	t, ok := reg.Get(name)
	return ok && t.Spec().Effect.NeedsConsent()
}

// stopReason maps how a run ended to the prompt's stopReason; ok is false
// for a failed run, which is answered with an error instead.
func stopReason(stop loomsession.StopReason) (sdk.StopReason, bool) {
	switch stop {
	case loomsession.StopDone:
		return sdk.StopReasonEndTurn, true
	case loomsession.StopMaxTurns:
		return sdk.StopReasonMaxTurnRequests, true
	case loomsession.StopMaxTokens:
		return sdk.StopReasonMaxTokens, true
	case loomsession.StopCancelled:
		return sdk.StopReasonCancelled, true
	case loomsession.StopRefusal:
		return sdk.StopReasonRefusal, true
	}
	return "", false
}

// toolCall is a call as the agent announced it.
type toolCall struct {
	ID, Name, Args string
}

// describe returns a call's title, the files it touches (absolute, as the
// client names them: the tool's path arguments) and its arguments as a
// JSON value for rawInput. A call's "offset", when it has one, is the line
// its first file is read from.
func describe(c toolCall, reg *tools.Registry, abs func(string) string) (string, []sdk.ToolCallLocation, any) {
	var a map[string]any
	if err := json.Unmarshal([]byte(c.Args), &a); err != nil {
		// Malformed arguments: the call will fail; show what arrived.
		return c.Name, nil, c.Args
	}
	t, ok := reg.Get(c.Name)
	if !ok {
		return c.Name, nil, a
	}
	args := json.RawMessage(c.Args)
	var locs []sdk.ToolCallLocation
	for i, p := range tools.Paths(t, args) {
		l := sdk.ToolCallLocation{Path: abs(p)}
		if n, ok := a["offset"].(float64); ok && n >= 1 && i == 0 {
			l.Line = sdk.Ptr(int(n))
		}
		locs = append(locs, l)
	}
	return tools.Title(t, args), locs, a
}

// translator turns a run's agent events into session updates. The gates
// (edit and command tools) attach content to their call (diffs, a
// terminal) while it runs; the update that finishes the call carries it.
type translator struct {
	abs   func(rel string) string
	tools *tools.Registry // what the calls' names are

	mu       sync.Mutex
	attached map[string][]sdk.ToolCallContent
}

func newTranslator(abs func(string) string, reg *tools.Registry) *translator {
	return &translator{abs: abs, tools: reg, attached: map[string][]sdk.ToolCallContent{}}
}

// gated reports whether the tool named asks the user before it acts.
func (t *translator) gated(name string) bool { return gated(t.tools, name) }

// attach records content for call id, shown when the call finishes.
func (t *translator) attach(id string, c ...sdk.ToolCallContent) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.attached[id] = append(t.attached[id], c...)
}

// updates returns the session updates for one agent event (none for the
// events ACP has no place for: turn and state changes).
func (t *translator) updates(ev loomsession.Event) []sdk.SessionUpdate {
	switch e := ev.(type) {
	case loomsession.TextDelta:
		if e.Text == "" {
			return nil
		}
		return []sdk.SessionUpdate{sdk.UpdateAgentMessageText(e.Text)}
	case loomsession.Retrying:
		// Text already streamed cannot be taken back; say why it repeats.
		return []sdk.SessionUpdate{sdk.UpdateAgentThoughtText(e.Message() + "\n")}
	case loomsession.ToolStarted:
		c := toolCall{ID: e.ID, Name: e.Name, Args: e.Args}
		title, locs, raw := describe(c, t.tools, t.abs)
		start := sdk.StartToolCall(sdk.ToolCallId(e.ID), title,
			sdk.WithStartKind(toolKind(t.tools, e.Name)),
			sdk.WithStartStatus(sdk.ToolCallStatusPending),
			sdk.WithStartLocations(locs),
			sdk.WithStartRawInput(raw))
		if t.gated(e.Name) {
			return []sdk.SessionUpdate{start} // the gate moves it on once allowed
		}
		return []sdk.SessionUpdate{start, sdk.UpdateToolCall(sdk.ToolCallId(e.ID), sdk.WithUpdateStatus(sdk.ToolCallStatusInProgress))}
	case loomsession.ToolFinished:
		t.mu.Lock()
		content := t.attached[e.ID]
		delete(t.attached, e.ID)
		t.mu.Unlock()
		status := sdk.ToolCallStatusCompleted
		var raw map[string]any
		switch {
		case e.Err != nil:
			status = sdk.ToolCallStatusFailed
			raw = map[string]any{"error": e.Err.Error()}
			content = append(content, sdk.ToolContent(sdk.TextBlock(e.Err.Error())))
		case len(content) == 0 && e.Result != "":
			raw = map[string]any{"result": e.Result}
			content = append(content, sdk.ToolContent(sdk.TextBlock(e.Result)))
		default:
			raw = map[string]any{"result": e.Result}
		}
		return []sdk.SessionUpdate{sdk.UpdateToolCall(sdk.ToolCallId(e.ID),
			sdk.WithUpdateStatus(status), sdk.WithUpdateContent(content), sdk.WithUpdateRawOutput(raw))}
	}
	return nil
}

// absUnder returns a function making paths absolute under root, as the
// client names them; absolute paths are kept.
func absUnder(root string) func(string) string {
	return func(p string) string {
		if filepath.IsAbs(p) {
			return filepath.Clean(p)
		}
		return filepath.Join(root, filepath.FromSlash(p))
	}
}

// observe starts the turn's translator and returns the run's observer: it
// sends each event's updates, and tells the gates which call a gated
// tool's request belongs to.
func (sess *session) observe(ctx context.Context) func(loomsession.Event) {
	tr := newTranslator(sess.abs, sess.tools)
	sess.setTranslator(tr)
	return func(ev loomsession.Event) {
		if e, ok := ev.(loomsession.ToolStarted); ok && tr.gated(e.Name) {
			sess.setCurrentCall(toolCall{ID: e.ID, Name: e.Name, Args: e.Args})
		}
		for _, u := range tr.updates(ev) {
			sess.send(ctx, u)
		}
	}
}

func (sess *session) translator() *translator {
	sess.mu.Lock()
	defer sess.mu.Unlock()
	return sess.tr
}

func (sess *session) setTranslator(t *translator) {
	sess.mu.Lock()
	sess.tr = t
	sess.mu.Unlock()
}
