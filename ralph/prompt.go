package ralph

import (
	"fmt"
	"os"
	"strings"

	"github.com/loom-agent/loom/workspace"
)

// maxAgentsMD caps how much of AGENTS.md goes into each prompt.
const maxAgentsMD = 32 << 10

// prompt is iteration n's instruction: the user's prompt, how the loop
// works (the plan, the checks, the promise, the commit message), the
// previous iteration's feedback, and AGENTS.md.
func (c Config) prompt(ws *workspace.Workspace, n int, feedback string) string {
	var b strings.Builder
	b.WriteString(strings.TrimSpace(c.Prompt))
	fmt.Fprintf(&b, "\n\n## This loop\nThis is iteration %d of a loop: each iteration is a fresh session that does one item of the work.\n", n)
	if c.Plan != "" {
		fmt.Fprintf(&b, "- The plan is %s: read it, do the next item not ticked, then tick it off (`- [x]`) and add what you found to do.\n", c.Plan)
	}
	if len(c.Checks) > 0 {
		b.WriteString("- After your edits are applied these checks run; all must pass:")
		for _, ch := range c.Checks {
			fmt.Fprintf(&b, " `%s`", ch)
		}
		b.WriteString("\n")
	}
	if c.Promise != "" {
		fmt.Fprintf(&b, "- Only when all the work is done and the checks will pass, end your final answer with <promise>%s</promise>.\n", c.Promise)
	}
	if c.Commit {
		b.WriteString("- Your edits are committed: put the commit message in <commit>…</commit> in your final answer.\n")
	}
	if feedback != "" {
		b.WriteString("\n## What the previous iteration left\n")
		b.WriteString(feedback)
	}
	if data, err := ws.ReadFile("AGENTS.md"); err == nil && len(data) > 0 {
		b.WriteString("\n## AGENTS.md\n")
		if len(data) > maxAgentsMD {
			data = data[:maxAgentsMD]
		}
		b.Write(data)
	}
	return b.String()
}

// MaxPromptSize refuses a prompt file no person wrote.
const MaxPromptSize = 1 << 20

// ReadPrompt reads the prompt file name, inside the workspace.
func ReadPrompt(ws *workspace.Workspace, name string) (string, error) {
	rel, err := ws.Resolve(name)
	if err != nil {
		return "", fmt.Errorf("the prompt: %w", err)
	}
	fi, err := os.Stat(ws.Abs(rel))
	if err != nil {
		return "", fmt.Errorf("the prompt: %w", err)
	}
	if fi.Size() > MaxPromptSize {
		return "", fmt.Errorf("the prompt %s is over 1 MiB", rel)
	}
	b, err := ws.ReadFile(rel)
	if err != nil {
		return "", fmt.Errorf("the prompt: %w", err)
	}
	return string(b), nil
}
