package mcp

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
	"unicode/utf8"

	mcpgo "github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/loom-agent/loom/workspace"
)

// Bounds of what a prompt quotes: the selection as the editor's code
// actions quote it, and the file embedded whole only when it is small.
const (
	maxSelectionInPrompt = 8 << 10
	maxFileInPrompt      = 256 << 10
	// maxCompletions is MCP's cap on completion values.
	maxCompletions = 100
)

// maxCompletionWalk bounds the entries a completion looks at, so a huge
// tree with few matches answers in bounded time (with hasMore). A variable
// for the test.
var maxCompletionWalk = 100_000

// prompt is one of Loom's actions offered as an MCP prompt, worded as the
// editor's "Loom: …" code actions (lsp/codeaction.go).
type prompt struct {
	name, title, description string
	// task phrases the instruction for the code in where; instruction is
	// the user's own, required only by "edit".
	task func(where, instruction string) string
	// needsInstruction marks the action whose instruction the user gives.
	needsInstruction bool
}

var prompts = []prompt{
	{name: "fix", title: "Loom: Fix", description: "Fix the bugs in a file or a selection of it",
		task: func(where, _ string) string { return "Fix the bugs in " + where + "." }},
	{name: "explain", title: "Loom: Explain", description: "Explain what the code does and why",
		task: func(where, _ string) string {
			return "Explain what the code in " + where + " does and why, in Markdown. Do not edit any file."
		}},
	{name: "document", title: "Loom: Add documentation", description: "Add documentation comments to the code",
		task: func(where, _ string) string {
			return "Add documentation comments to the code in " + where + ", in the language's usual style. Change nothing else."
		}},
	{name: "write_tests", title: "Loom: Write tests", description: "Write tests for the code in the project's test style",
		task: func(where, _ string) string {
			return "Write tests for the code in " + where + ", in the project's test style, next to the existing tests."
		}},
	{name: "edit", title: "Loom: Edit with instruction", description: "Edit the code as instructed", needsInstruction: true,
		task: func(where, instruction string) string {
			return instruction + "\n\n(This is about the code in " + where + ".)"
		}},
}

func (s *Server) promptList() []server.ServerPrompt {
	out := make([]server.ServerPrompt, 0, len(prompts))
	for _, p := range prompts {
		opts := []mcpgo.PromptOption{
			mcpgo.WithPromptDescription(p.description),
			mcpgo.WithArgument("file", mcpgo.RequiredArgument(),
				mcpgo.ArgumentDescription("the file in question, relative to the first root or absolute inside a root")),
			mcpgo.WithArgument("selection", mcpgo.ArgumentDescription("the selected code, when the action is about a part of the file")),
		}
		if p.needsInstruction {
			// Not marked required: a client that can ask its user
			// (elicitation) may leave it out, and the server asks.
			opts = append(opts, mcpgo.WithArgument("instruction",
				mcpgo.ArgumentDescription("what to change, in plain words; when left out, asked of the user through the client (elicitation), where it can")))
		}
		mp := mcpgo.NewPrompt(p.name, opts...)
		mp.Title = p.title
		out = append(out, server.ServerPrompt{Prompt: mp, Handler: s.promptHandler(p)})
	}
	return out
}

// promptHandler builds the action's messages: the task, the selection
// quoted, and the file embedded as a resource (read through the
// workspace, so a file outside the roots is an error).
func (s *Server) promptHandler(p prompt) server.PromptHandlerFunc {
	return func(ctx context.Context, req mcpgo.GetPromptRequest) (*mcpgo.GetPromptResult, error) {
		args := req.Params.Arguments
		file := strings.TrimSpace(args["file"])
		if file == "" {
			return nil, fmt.Errorf("prompt %s: the argument \"file\" is required", p.name)
		}
		instruction := strings.TrimSpace(args["instruction"])
		if p.needsInstruction && instruction == "" && !canElicitForm(ctx) {
			return nil, fmt.Errorf("prompt %s: the argument \"instruction\" is required (this client cannot be asked for it: it offers no form elicitation)", p.name)
		}
		roots, err := s.requestRoots(ctx)
		if err != nil {
			return nil, err
		}
		ws, err := workspace.New(pickRoot(roots, []string{file}))
		if err != nil {
			return nil, err
		}
		rel, err := ws.Resolve(file)
		if err != nil {
			return nil, fmt.Errorf("prompt %s: %w", p.name, err)
		}
		data, err := ws.ReadFile(rel)
		if err != nil {
			return nil, fmt.Errorf("prompt %s: %w", p.name, err)
		}
		where := rel
		sel := args["selection"]
		if strings.TrimSpace(sel) != "" {
			where = "the selected code of " + rel
		}
		if p.needsInstruction && instruction == "" {
			// Asked only once the file is known to be readable: the user
			// is not asked for an edit that cannot happen.
			if instruction, err = s.elicitInstruction(ctx, where); err != nil {
				return nil, fmt.Errorf("prompt %s: %w", p.name, err)
			}
		}
		text := p.task(where, instruction)
		if strings.TrimSpace(sel) != "" {
			text += "\n\nThe selected code:\n```\n" + truncateUTF8(sel, maxSelectionInPrompt) + "\n```"
		}
		if s.offersAgent() {
			text += "\n\nLoom's loom_agent tool can do this: pass the text above as its task and " + rel + " in files."
		}
		msgs := []mcpgo.PromptMessage{mcpgo.NewPromptMessage(mcpgo.RoleUser, mcpgo.NewTextContent(text))}
		if len(data) <= maxFileInPrompt && utf8.Valid(data) {
			msgs = append(msgs, mcpgo.NewPromptMessage(mcpgo.RoleUser, mcpgo.NewEmbeddedResource(mcpgo.TextResourceContents{
				URI: fileURI(ws.Abs(rel)), MIMEType: mimeType(rel), Text: string(data)})))
		}
		return mcpgo.NewGetPromptResult(p.title, msgs), nil
	}
}

// truncateUTF8 cuts s to at most n bytes on a character boundary.
func truncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "\n… (cut)"
}

// fileURI is the file:// URI of an absolute path.
func fileURI(abs string) string {
	return (&url.URL{Scheme: "file", Path: filepath.ToSlash(abs)}).String()
}

// CompletePromptArgument completes a prompt's "file" argument with the
// workspace files whose path (relative to the first root) or name starts
// with what was typed; the walk skips what .gitignore ignores and stops
// after one value past MCP's cap of 100, or after maxCompletionWalk
// entries.
func (s *Server) CompletePromptArgument(ctx context.Context, _ string, arg mcpgo.CompleteArgument, _ mcpgo.CompleteContext) (*mcpgo.Completion, error) {
	if arg.Name != "file" {
		return &mcpgo.Completion{Values: []string{}}, nil
	}
	roots, err := s.requestRoots(ctx)
	if err != nil {
		return nil, err
	}
	ws, err := workspace.New(roots[0].given)
	if err != nil {
		return nil, err
	}
	errEnough := errors.New("enough")
	values := []string{}
	more := false
	seen := 0
	err = ws.NewChangeset().Walk(ctx, ".", func(rel string, isDir bool) error {
		if seen++; seen > maxCompletionWalk {
			more = true
			return errEnough
		}
		if isDir || !(strings.HasPrefix(rel, arg.Value) || strings.HasPrefix(filepath.Base(rel), arg.Value)) {
			return nil
		}
		if len(values) == maxCompletions {
			more = true
			return errEnough
		}
		values = append(values, rel)
		return nil
	})
	if err != nil && !errors.Is(err, errEnough) {
		return nil, err
	}
	return &mcpgo.Completion{Values: values, HasMore: more}, nil
}
