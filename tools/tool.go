// Package tools defines the Tool interface, the registry that lists and
// dispatches tools, and Loom's built-in tools. Tools read through the
// workspace (confined to its root, overlay first) and write only into the
// run's changeset, never to disk.
package tools

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/loom-agent/loom/workspace"
)

// Spec describes a tool to models and protocol clients.
type Spec struct {
	Name        string
	Description string
	// Schema is the JSON schema of the arguments object.
	Schema json.RawMessage
	// Effect is what a call does; front ends derive from it how they run,
	// gate, show and annotate the tool.
	Effect Effect
	// PathArgs names the arguments that hold workspace paths (a string or
	// an array of strings), which front ends check against their roots and
	// show as the call's locations. A tool that names paths inside an
	// argument's content says so with PathsOf (PathNamer).
	PathArgs []string
	// Destructive tools may remove or overwrite content (once applied).
	Destructive bool
	// Idempotent tools give the same result when called twice.
	Idempotent bool
	// OwnTimeout says the tool bounds its calls itself (another MCP
	// server's tool ends when the server falls silent for too long, and
	// its progress keeps it going), so the agent does not cut it at its
	// fixed tool timeout; cancelling the run still ends it.
	OwnTimeout bool
}

// Tool is one capability the agent and the protocol servers expose.
type Tool interface {
	Spec() Spec
	// Run executes the tool. An error is a failure the caller reports back
	// (to a model, as the tool's result); it never leaves a partial edit.
	Run(ctx context.Context, env *Env, args json.RawMessage) (Result, error)
}

// Env is what a tool runs against.
type Env struct {
	// Changes is the run's changeset; its workspace is the root.
	Changes *workspace.Changeset
	// Approver answers whether a call that executes may run (Registry.Run
	// asks it); nil is "never": such tools refuse to run.
	Approver Approver
	// ShellTimeout bounds one shell command; zero means DefaultShellTimeout.
	ShellTimeout time.Duration
	// Progress, when set, receives how far a long call has got (another
	// MCP server's notifications/progress), for front ends to show. The
	// agent sets it per call; it must return quickly.
	Progress func(Progress)
}

// Progress is how far a call has got: Progress of Total (0 when unknown),
// and what it is doing.
type Progress struct {
	Progress float64
	Total    float64
	Message  string
}

// Workspace returns the workspace the tool works in.
func (e *Env) Workspace() *workspace.Workspace { return e.Changes.Workspace() }

// Result is a tool's answer: text a model can read and structured data for
// programs.
type Result struct {
	Text string `json:"text"`
	Data any    `json:"data,omitempty"`
	// Changed lists the files the call staged edits for.
	Changed []string `json:"changed,omitempty"`
}

// decodeArgs decodes a tool's JSON arguments strictly, so a model that
// misspells a field hears about it instead of being silently ignored.
func decodeArgs(name string, raw json.RawMessage, v any) error {
	if len(bytes.TrimSpace(raw)) == 0 {
		raw = json.RawMessage("{}")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("invalid arguments for %s: %v", name, err)
	}
	if dec.More() {
		return fmt.Errorf("invalid arguments for %s: trailing data after the JSON object", name)
	}
	return nil
}

// maxQuote bounds how much of an argument a message quotes: enough to
// recognise it, never the megabytes a caller may have sent.
const maxQuote = 200

// QuoteArg quotes an argument for a message, cut to its first maxQuote
// bytes (with the full length) when longer.
func QuoteArg(s string) string {
	if len(s) <= maxQuote {
		return strconv.Quote(s)
	}
	return fmt.Sprintf("%s… (%d bytes)", strconv.Quote(cutRunes(s, maxQuote)), len(s))
}

// shorten cuts s to about n bytes, saying how much was left out.
func shorten(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return fmt.Sprintf("%s… (%d more bytes)", cutRunes(s, n), len(s)-len(cutRunes(s, n)))
}

// cutRunes returns s's first n bytes, less a rune cut in two.
func cutRunes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// required reports a missing required string argument.
func required(tool, field, value string) error {
	if value == "" {
		return fmt.Errorf("invalid arguments for %s: %q is required", tool, field)
	}
	return nil
}
