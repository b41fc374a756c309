package tools

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Effect is what a tool's call does. Front ends derive from it, never from
// a tool's name, whether a call may run beside others, whether it needs the
// user's consent, how it is shown and how protocols annotate it, so that a
// new tool is handled correctly by declaring its effect.
type Effect int

// A tool declares one effect; the zero value is no effect, which the
// registry refuses.
const (
	// EffectRead reads what the call names and changes nothing.
	EffectRead Effect = iota + 1
	// EffectSearch looks through the workspace and changes nothing.
	EffectSearch
	// EffectEdit stages new content for files in the changeset.
	EffectEdit
	// EffectMove stages a rename in the changeset.
	EffectMove
	// EffectDelete stages a removal in the changeset.
	EffectDelete
	// EffectExecute runs a command on the machine, outside the changeset.
	EffectExecute
)

var effectNames = [...]string{EffectRead: "read", EffectSearch: "search", EffectEdit: "edit",
	EffectMove: "move", EffectDelete: "delete", EffectExecute: "execute"}

func (e Effect) String() string {
	if e.valid() {
		return effectNames[e]
	}
	return fmt.Sprintf("Effect(%d)", int(e))
}

// MarshalText names the effect in JSON ("read", "edit", …).
func (e Effect) MarshalText() ([]byte, error) {
	if !e.valid() {
		return nil, fmt.Errorf("tools: no such effect %d", int(e))
	}
	return []byte(e.String()), nil
}

func (e Effect) valid() bool { return e >= EffectRead && e <= EffectExecute }

// ReadOnly reports whether a call changes nothing, not even the changeset:
// the agent runs such calls of one turn in parallel.
func (e Effect) ReadOnly() bool { return e == EffectRead || e == EffectSearch }

// Stages reports whether a call writes into the changeset (and only there):
// its result is an edit a front end can show as a diff and apply.
func (e Effect) Stages() bool { return e == EffectEdit || e == EffectMove || e == EffectDelete }

// NeedsConsent reports whether a call takes effect only once the user
// allows it, where a front end asks: staged edits and commands.
func (e Effect) NeedsConsent() bool { return e.Stages() || e == EffectExecute }

// OpenWorld reports whether a call reaches beyond the workspace: a command
// can touch anything the user can.
func (e Effect) OpenWorld() bool { return e == EffectExecute }

// PathNamer is a tool whose arguments name workspace paths inside their
// content (a patch's file headers) as well as in its Spec.PathArgs.
type PathNamer interface {
	// PathsOf lists the paths named in args' content, in order, once each;
	// none when args are malformed.
	PathsOf(args json.RawMessage) []string
}

// Paths lists the workspace paths a call of t names, as given (relative or
// absolute): the values of its Spec.PathArgs in their order (a string, or
// each string of an array), then the paths its content names (PathNamer).
// Malformed arguments name none; the call fails with the reason.
func Paths(t Tool, args json.RawMessage) []string {
	var out []string
	if names := t.Spec().PathArgs; len(names) > 0 {
		var m map[string]json.RawMessage
		if json.Unmarshal(args, &m) == nil {
			for _, k := range names {
				var one string
				var many []string
				switch {
				case json.Unmarshal(m[k], &one) == nil && one != "":
					out = append(out, one)
				case json.Unmarshal(m[k], &many) == nil:
					for _, p := range many {
						if p != "" {
							out = append(out, p)
						}
					}
				}
			}
		}
	}
	if n, ok := t.(PathNamer); ok {
		out = append(out, n.PathsOf(args)...)
	}
	return out
}

// Titler is a tool that says in a few words what one call does ("Search for
// `TODO` in cmd"), for front ends to show.
type Titler interface {
	Title(args json.RawMessage) string
}

// Title says what a call of t does: the tool's own title when it has one,
// else its effect and the paths it names ("Edit a.go"), else its name.
func Title(t Tool, args json.RawMessage) string {
	if ti, ok := t.(Titler); ok {
		return ti.Title(args)
	}
	sp := t.Spec()
	paths := Paths(t, args)
	if len(paths) == 0 || !sp.Effect.valid() {
		return sp.Name
	}
	verb := [...]string{EffectRead: "Read", EffectSearch: "Search", EffectEdit: "Edit",
		EffectMove: "Move", EffectDelete: "Delete", EffectExecute: "Run in"}[sp.Effect]
	return verb + " " + strings.Join(paths, ", ")
}

// titleArgs decodes a call's arguments for a title, leniently: a title is
// shown before the call is checked, and shows what it can.
func titleArgs(args json.RawMessage) map[string]any {
	var m map[string]any
	_ = json.Unmarshal(args, &m)
	return m
}

// str returns the string argument k, or def when absent or not a string.
func str(m map[string]any, k, def string) string {
	if s, ok := m[k].(string); ok && s != "" {
		return s
	}
	return def
}

// quoteTitle shows an argument in a title, shortened to keep titles to one
// line.
func quoteTitle(s string) string {
	if r := []rune(s); len(r) > 60 {
		s = string(r[:57]) + "..."
	}
	return "`" + s + "`"
}

// Commander is an EffectExecute tool whose call runs one command line: a
// front end may run it elsewhere (in an editor's terminal) under the same
// checks and bounds.
type Commander interface {
	// Command checks a call's arguments and returns the command it runs.
	Command(env *Env, args json.RawMessage) (Command, error)
}

// Command is one command line to run with /bin/sh -c.
type Command struct {
	Line string
	// Dir is the folder to run in, relative to the workspace root, checked
	// to be a folder inside it.
	Dir string
	// Timeout bounds the command; it is killed after it.
	Timeout time.Duration
}
