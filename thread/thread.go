package thread

import (
	"errors"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/loom-agent/loom/llm"
	"github.com/loom-agent/loom/workspace"
)

// ErrNotFound is returned (wrapped) for an ID that names no thread.
var ErrNotFound = errors.New("no such thread")

// Status is where a thread's latest run stands.
type Status string

// The statuses; all but StatusRunning are final. They match the agent's
// stop reasons.
const (
	StatusRunning   Status = "running"
	StatusDone      Status = "done"
	StatusFailed    Status = "failed"
	StatusCancelled Status = "cancelled"
	StatusMaxTurns  Status = "max_turns"
	StatusMaxTokens Status = "max_tokens"
)

// Statuses lists every status, for validation and help texts.
var Statuses = []Status{StatusRunning, StatusDone, StatusFailed, StatusCancelled, StatusMaxTurns, StatusMaxTokens}

// Valid reports whether s is one of Statuses.
func (s Status) Valid() bool {
	for _, x := range Statuses {
		if s == x {
			return true
		}
	}
	return false
}

// Thread is one conversation with the agent, possibly over several runs.
type Thread struct {
	ID      string    `json:"id"`
	Created time.Time `json:"created"`
	Updated time.Time `json:"updated"`
	// Workspace is the root folder the agent worked in.
	Workspace string `json:"workspace"`
	// Title is the first line of the first instruction.
	Title  string `json:"title"`
	Model  string `json:"model"`
	Status Status `json:"status"`
	// Error is why the latest run failed, if it did.
	Error string `json:"error,omitempty"`
	// Diff is the unified diff the latest run staged.
	Diff string `json:"diff,omitempty"`
	// Changes are the staged edits nobody applied yet, with their base
	// hashes; filled by Get only.
	Changes []workspace.FileChange `json:"changes,omitempty"`
	// Usage sums the tokens of every turn.
	Usage llm.Usage `json:"usage"`
	// TurnCount is the number of turns, filled by Get and List.
	TurnCount int `json:"turn_count"`
	// ModelTurns counts the turns that hold a model's answer, the turns a
	// run reports (`loom run`'s "3 turns"), filled by Get, List and Search.
	ModelTurns int `json:"model_turns"`
	// Unapplied: the thread keeps staged edits nobody applied (Changes),
	// filled by Get, List and Search.
	Unapplied bool `json:"unapplied"`
	// Turns is filled by Get only.
	Turns []Turn `json:"turns,omitempty"`
}

// Turn is one step of a thread, stored in one transaction: the user's
// instruction, or one model answer with the results of the tools it
// called.
type Turn struct {
	N        int           `json:"n"`
	Created  time.Time     `json:"created"`
	Usage    llm.Usage     `json:"usage"`
	Messages []llm.Message `json:"messages"`
}

// Meta describes a new thread.
type Meta struct {
	Workspace string
	Model     string
	// Title defaults to "(untitled)"; TitleFrom makes one from an
	// instruction.
	Title string
}

// Outcome is how a run ended, recorded by Finish.
type Outcome struct {
	Status Status
	Diff   string
	// Changes are the staged edits not applied, kept with the thread.
	Changes []workspace.FileChange
	// Error is the failure's message for a failed run.
	Error string
	// Usage, when not zero, replaces the thread's token totals (which
	// AppendTurn keeps as the sum of its turns).
	Usage llm.Usage
}

// Filter narrows List and Search. Zero fields do not filter.
type Filter struct {
	// Workspace keeps threads of this exact root folder.
	Workspace string
	// Workspaces, when not nil, keeps threads of these root folders only
	// (none when empty): the scope of a server that must not show other
	// projects' threads.
	Workspaces []string
	Status     Status
	// Since keeps threads updated at or after this time.
	Since time.Time
	// Limit bounds the number of results (default 50).
	Limit int
}

// DefaultLimit is the number of results when Filter.Limit is 0.
const DefaultLimit = 50

// titleLen bounds a title, in runes.
const titleLen = 80

// TitleFrom makes a title from an instruction: its first non-blank line,
// spaces collapsed, cut at 80 characters.
func TitleFrom(instruction string) string {
	line := ""
	for l := range strings.Lines(instruction) {
		if strings.TrimSpace(l) != "" {
			line = l
			break
		}
	}
	line = strings.Join(strings.FieldsFunc(strings.ToValidUTF8(line, "\uFFFD"), func(r rune) bool {
		return unicode.IsSpace(r) || unicode.IsControl(r)
	}), " ")
	if utf8.RuneCountInString(line) > titleLen {
		r := []rune(line)
		line = strings.TrimSpace(string(r[:titleLen-1])) + "…"
	}
	if line == "" {
		return "(untitled)"
	}
	return line
}
