package acp

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"sync"

	sdk "github.com/coder/acp-go-sdk"

	"github.com/loom-agent/loom/agent"
)

// toolKinds maps Loom's tools to ACP tool kinds, which clients use for
// icons and for what they show (a read, a diff, a terminal). Loom has no
// think or fetch tools; a tool not listed here (a future one, or an
// unknown name the model made up) is "other".
var toolKinds = map[string]sdk.ToolKind{
	"read_file":       sdk.ToolKindRead,
	"outline":         sdk.ToolKindRead,
	"repo_map":        sdk.ToolKindRead,
	"syntax_check":    sdk.ToolKindRead,
	"list_dir":        sdk.ToolKindSearch,
	"glob":            sdk.ToolKindSearch,
	"grep":            sdk.ToolKindSearch,
	"find_symbol":     sdk.ToolKindSearch,
	"find_references": sdk.ToolKindSearch,
	"write_file":      sdk.ToolKindEdit,
	"edit_file":       sdk.ToolKindEdit,
	"apply_patch":     sdk.ToolKindEdit,
	"move_file":       sdk.ToolKindMove,
	"delete_file":     sdk.ToolKindDelete,
	"shell":           sdk.ToolKindExecute,
}

func toolKind(name string) sdk.ToolKind {
	if k, ok := toolKinds[name]; ok {
		return k
	}
	return sdk.ToolKindOther
}

// gated reports whether a tool asks the user before it takes effect:
// edits (written only when accepted) and commands.
func gated(name string) bool {
	switch toolKind(name) {
	case sdk.ToolKindEdit, sdk.ToolKindMove, sdk.ToolKindDelete, sdk.ToolKindExecute:
		return true
	}
	return false
}

// stopReason maps how a run ended to the prompt's stopReason; ok is false
// for a failed run, which is answered with an error instead.
func stopReason(stop agent.StopReason) (sdk.StopReason, bool) {
	switch stop {
	case agent.StopDone:
		return sdk.StopReasonEndTurn, true
	case agent.StopMaxTurns:
		return sdk.StopReasonMaxTurnRequests, true
	case agent.StopMaxTokens:
		return sdk.StopReasonMaxTokens, true
	case agent.StopCancelled:
		return sdk.StopReasonCancelled, true
	case agent.StopRefusal:
		return sdk.StopReasonRefusal, true
	}
	return "", false
}

// toolCall is a call as the agent announced it.
type toolCall struct {
	ID, Name, Args string
}

// describe returns a call's title, the files it touches (absolute, as the
// client names them) and its arguments as a JSON value for rawInput.
func describe(c toolCall, abs func(string) string) (string, []sdk.ToolCallLocation, any) {
	var a map[string]any
	if err := json.Unmarshal([]byte(c.Args), &a); err != nil {
		// Malformed arguments: the call will fail; show what arrived.
		return c.Name, nil, c.Args
	}
	str := func(k string) string { s, _ := a[k].(string); return s }
	loc := func(p string) sdk.ToolCallLocation { return sdk.ToolCallLocation{Path: abs(p)} }
	var locs []sdk.ToolCallLocation
	if p := str("path"); p != "" {
		l := loc(p)
		if n, ok := a["offset"].(float64); ok && n >= 1 {
			l.Line = sdk.Ptr(int(n))
		}
		locs = append(locs, l)
	}
	path := or(str("path"), ".")
	var title string
	switch c.Name {
	case "read_file":
		title = "Read " + path
	case "list_dir":
		title = "List " + path
	case "glob":
		title = fmt.Sprintf("Find files matching %s in %s", quote(str("pattern")), path)
	case "grep":
		title = fmt.Sprintf("Search for %s in %s", quote(str("pattern")), path)
	case "outline":
		title = "Outline " + path
	case "syntax_check":
		title = "Check the syntax of " + path
	case "find_symbol":
		title = "Find the symbol " + quote(str("name"))
	case "find_references":
		title = "Find references to " + quote(str("name"))
	case "repo_map":
		title = "Map the repository"
	case "write_file":
		title = "Write " + path
	case "edit_file":
		title = "Edit " + path
	case "delete_file":
		title = "Delete " + path
	case "move_file":
		title = fmt.Sprintf("Move %s to %s", str("from"), str("to"))
		for _, p := range []string{str("from"), str("to")} {
			if p != "" {
				locs = append(locs, loc(p))
			}
		}
	case "apply_patch":
		files := patchFiles(str("patch"))
		title = "Patch " + or(strings.Join(files, ", "), "files")
		for _, p := range files {
			locs = append(locs, loc(p))
		}
	case "shell":
		title = "Run " + quote(str("command"))
	default:
		title = c.Name
	}
	return title, locs, a
}

// patchFiles lists the files a unified diff names, in order, once each.
func patchFiles(patch string) []string {
	var files []string
	seen := map[string]bool{}
	for line := range strings.Lines(patch) {
		var name string
		switch {
		case strings.HasPrefix(line, "--- "), strings.HasPrefix(line, "+++ "):
			name = strings.TrimSpace(line[4:])
		default:
			continue
		}
		if i := strings.IndexByte(name, '\t'); i >= 0 {
			name = name[:i] // a timestamp follows the name
		}
		if name == "/dev/null" || name == "" {
			continue
		}
		if strings.HasPrefix(name, "a/") || strings.HasPrefix(name, "b/") {
			name = name[2:]
		}
		if !seen[name] {
			seen[name] = true
			files = append(files, name)
		}
	}
	return files
}

// quote shows an argument in a title, shortened to keep titles one line.
func quote(s string) string {
	if r := []rune(s); len(r) > 60 {
		s = string(r[:57]) + "..."
	}
	return "`" + s + "`"
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// translator turns a run's agent events into session updates. The gates
// (edit and command tools) attach content to their call (diffs, a
// terminal) while it runs; the update that finishes the call carries it.
type translator struct {
	abs func(rel string) string

	mu       sync.Mutex
	attached map[string][]sdk.ToolCallContent
}

func newTranslator(abs func(string) string) *translator {
	return &translator{abs: abs, attached: map[string][]sdk.ToolCallContent{}}
}

// attach records content for call id, shown when the call finishes.
func (t *translator) attach(id string, c ...sdk.ToolCallContent) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.attached[id] = append(t.attached[id], c...)
}

// updates returns the session updates for one agent event (none for the
// events ACP has no place for: turn and state changes).
func (t *translator) updates(ev agent.Event) []sdk.SessionUpdate {
	switch e := ev.(type) {
	case agent.TextDelta:
		if e.Text == "" {
			return nil
		}
		return []sdk.SessionUpdate{sdk.UpdateAgentMessageText(e.Text)}
	case agent.Retrying:
		// Text already streamed cannot be taken back; say why it repeats.
		return []sdk.SessionUpdate{sdk.UpdateAgentThoughtText(fmt.Sprintf(
			"The model call failed (%v); trying again (attempt %d) in %s.", e.Err, e.Attempt, e.Delay))}
	case agent.ToolStarted:
		c := toolCall{ID: e.ID, Name: e.Name, Args: e.Args}
		title, locs, raw := describe(c, t.abs)
		start := sdk.StartToolCall(sdk.ToolCallId(e.ID), title,
			sdk.WithStartKind(toolKind(e.Name)),
			sdk.WithStartStatus(sdk.ToolCallStatusPending),
			sdk.WithStartLocations(locs),
			sdk.WithStartRawInput(raw))
		if gated(e.Name) {
			return []sdk.SessionUpdate{start} // the gate moves it on once allowed
		}
		return []sdk.SessionUpdate{start, sdk.UpdateToolCall(sdk.ToolCallId(e.ID), sdk.WithUpdateStatus(sdk.ToolCallStatusInProgress))}
	case agent.ToolFinished:
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
