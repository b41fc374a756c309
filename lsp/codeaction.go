package lsp

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"go.lsp.dev/jsonrpc2"
	"go.lsp.dev/protocol"
	"go.lsp.dev/uri"
)

// kindExplain is the kind of the one action that answers in text.
const kindExplain protocol.CodeActionKind = "loom.explain"

// maxSelectionInPrompt bounds the selected text quoted in an instruction;
// the agent reads longer spans itself.
const maxSelectionInPrompt = 8 << 10

// action is one of the "Loom: …" code actions. Every action is a loom.run
// command, so the agent runs only when the user picks one.
type action struct {
	id    string
	title string
	kind  protocol.CodeActionKind
	// answer: the run's result is text for the user; edits are discarded.
	answer bool
	// task phrases the instruction; nil means the user must supply it.
	task func(where string, diags []string) string
}

var actions = []action{
	{id: "fix", title: "Loom: Fix", kind: protocol.CodeActionKindQuickFix, task: func(where string, diags []string) string {
		if len(diags) == 0 {
			return "Fix the bugs in " + where + "."
		}
		return "Fix these problems in " + where + ":\n- " + strings.Join(diags, "\n- ")
	}},
	{id: "explain", title: "Loom: Explain", kind: kindExplain, answer: true, task: func(where string, _ []string) string {
		return "Explain what the code in " + where + " does and why, in Markdown. Do not edit any file."
	}},
	{id: "document", title: "Loom: Add documentation", kind: protocol.CodeActionKindRefactorRewrite, task: func(where string, _ []string) string {
		return "Add documentation comments to the code in " + where + ", in the language's usual style. Change nothing else."
	}},
	{id: "tests", title: "Loom: Write tests", kind: protocol.CodeActionKindRefactorRewrite, task: func(where string, _ []string) string {
		return "Write tests for the code in " + where + ", in the project's test style, next to the existing tests."
	}},
	{id: "edit", title: "Loom: Edit with instruction…", kind: protocol.CodeActionKindRefactorRewrite},
}

// RunArgs is the argument object of the loom.run command.
type RunArgs struct {
	// Instruction is what the agent should do. Clients prompt for it when
	// a code action's command carries none ("Edit with instruction…").
	Instruction string `json:"instruction,omitempty"`
	// URI and Range locate the code in question (optional); the file is
	// put in the agent's focus.
	URI   string          `json:"uri,omitempty"`
	Range *protocol.Range `json:"range,omitempty"`
	// Answer marks a run whose result is the model's text, shown to the
	// user, rather than edits.
	Answer bool `json:"answer,omitempty"`
	// Described marks an instruction that already names the code in
	// question (the code actions' own); otherwise loom.run adds it.
	Described bool `json:"described,omitempty"`
	// ThreadID continues an earlier thread.
	ThreadID string `json:"threadId,omitempty"`
}

// actionData travels in a code action between codeAction and resolve.
type actionData struct {
	Action string         `json:"action"`
	URI    string         `json:"uri"`
	Range  protocol.Range `json:"range"`
}

// CodeAction offers the Loom actions for a range. With resolve support the
// literal carries only data and the command is built when the user picks
// it; otherwise the command comes at once.
func (s *Server) CodeAction(ctx context.Context, params *protocol.CodeActionParams) ([]protocol.CommandOrCodeAction, error) {
	s.mu.Lock()
	caps := s.caps
	s.mu.Unlock()
	diags := params.Context.Diagnostics
	out := []protocol.CommandOrCodeAction{}
	for _, a := range actions {
		if !wanted(a.kind, params.Context.Only) {
			continue
		}
		data := actionData{Action: a.id, URI: string(params.TextDocument.URI), Range: params.Range}
		if !caps.codeActionLiterals {
			cmd := s.command(a, data, diags)
			out = append(out, &cmd)
			continue
		}
		ca := &protocol.CodeAction{Title: a.title, Kind: ptr(a.kind)}
		if a.id == "fix" && len(diags) > 0 {
			ca.Diagnostics = diags
			ca.IsPreferred = ptr(true)
		}
		if caps.resolveCommand {
			raw, err := json.Marshal(data)
			if err != nil {
				return nil, err
			}
			ca.Data = raw
		} else {
			ca.Command = s.command(a, data, diags)
		}
		out = append(out, ca)
	}
	return out, nil
}

// CodeActionResolve fills in the command of an action picked by the user.
func (s *Server) CodeActionResolve(ctx context.Context, ca *protocol.CodeAction) (*protocol.CodeAction, error) {
	// Clients such as Neovim 0.7 send every action without an edit to be
	// resolved, including those that already carry their command.
	if ca.Command.Command != "" {
		return ca, nil
	}
	var data actionData
	if err := json.Unmarshal(ca.Data, &data); err != nil {
		return nil, jsonrpc2.Errorf(jsonrpc2.InvalidParams, "codeAction/resolve: not a Loom action: %v", err)
	}
	for _, a := range actions {
		if a.id == data.Action {
			ca.Command = s.command(a, data, ca.Diagnostics)
			return ca, nil
		}
	}
	return nil, jsonrpc2.Errorf(jsonrpc2.InvalidParams, "codeAction/resolve: unknown Loom action %q", data.Action)
}

// wanted applies the client's context.only filter (kinds are hierarchical:
// "refactor" admits "refactor.rewrite").
func wanted(k protocol.CodeActionKind, only []protocol.CodeActionKind) bool {
	if len(only) == 0 {
		return true
	}
	for _, o := range only {
		if k == o || strings.HasPrefix(string(k), string(o)+".") {
			return true
		}
	}
	return false
}

// command builds the loom.run command of an action.
func (s *Server) command(a action, data actionData, diags []protocol.Diagnostic) protocol.Command {
	args := RunArgs{URI: data.URI, Range: &data.Range, Answer: a.answer, Described: a.task != nil}
	if a.task != nil {
		args.Instruction = a.task(s.describe(data), diagnosticLines(diags))
	}
	raw, err := json.Marshal(args)
	if err != nil { // plain strings and numbers: cannot fail
		raw = []byte("{}")
	}
	return protocol.Command{Title: a.title, Command: CommandRun, Arguments: []protocol.LSPAny{raw}}
}

// describe names the code an action is about for the model: the file, the
// lines, and the selected text when it is short.
func (s *Server) describe(data actionData) string {
	u := uri.URI(data.URI)
	name := s.relPath(u)
	if name == "" {
		name = u.FsPath()
	}
	from, to := data.Range.Start.Line+1, data.Range.End.Line+1
	if data.Range.End.Character == 0 && to > from {
		to-- // a selection of whole lines ends at the start of the next
	}
	where := fmt.Sprintf("%s, line %d", name, from)
	if to > from {
		where = fmt.Sprintf("%s, lines %d-%d", name, from, to)
	}
	if d := s.doc(u); d != nil {
		d.mu.Lock()
		start, err1 := d.lines.Offset(fromProto(data.Range.Start), s.encoding())
		end, err2 := d.lines.Offset(fromProto(data.Range.End), s.encoding())
		if err1 == nil && err2 == nil && start < end && end-start <= maxSelectionInPrompt {
			where += fmt.Sprintf(" (the selection:\n```\n%s\n```\n)", strings.TrimRight(d.text[start:end], "\n"))
		}
		d.mu.Unlock()
	}
	return where
}

// diagnosticLines renders diagnostics for an instruction.
func diagnosticLines(diags []protocol.Diagnostic) []string {
	out := make([]string, 0, len(diags))
	for _, d := range diags {
		msg := ""
		switch m := d.Message.(type) {
		case protocol.String:
			msg = string(m)
		case *protocol.MarkupContent:
			msg = m.Value
		}
		src := ""
		if v, ok := d.Source.Get(); ok && v != "" {
			src = v + ": "
		}
		out = append(out, fmt.Sprintf("line %d: %s%s", d.Range.Start.Line+1, src, msg))
	}
	return out
}
