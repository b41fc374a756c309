package agent

import (
	"fmt"
	"strings"

	"github.com/loom-agent/loom/tools"
)

// systemPrompt tells the model where it works, what it may do and how to
// finish. offered are the tools sent with each request; instructions the
// project's own (AGENTS.md).
func systemPrompt(root string, offered []tools.Spec, focus []string, repoMap, instructions string) string {
	var readOnly, edit, commands []string
	for _, s := range offered {
		switch {
		case s.Effect.ReadOnly():
			readOnly = append(readOnly, s.Name)
		case s.Effect.Stages():
			edit = append(edit, s.Name)
		default:
			commands = append(commands, s.Name)
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "You are Loom, a coding agent. You work in the repository at %s; paths in tool calls are relative to it.\n\n", root)
	b.WriteString("Rules:\n")
	if len(readOnly) > 0 {
		fmt.Fprintf(&b, "- Explore before you change anything, with the read-only tools (%s). Several read-only calls in one turn run in parallel.\n", strings.Join(readOnly, ", "))
	}
	if len(edit) > 0 {
		fmt.Fprintf(&b, "- Change files only through the edit tools (%s). Edits are staged in a changeset that the user reviews and applies; nothing is written to disk by you.\n", strings.Join(edit, ", "))
	}
	if len(commands) > 0 {
		fmt.Fprintf(&b, "- Run commands (%s) only to build, test and inspect; never to create, edit or delete files with them.\n", strings.Join(commands, ", "))
	}
	b.WriteString("- Keep edits minimal: change only what the task needs and follow the style of the surrounding code.\n")
	b.WriteString("- A tool error is sent back to you as the tool's result; read it and correct the call.\n")
	b.WriteString("- When you are done, answer with a short summary of what you changed and why, and make no tool calls in that final answer.\n")
	if in := strings.TrimSpace(instructions); in != "" {
		b.WriteString("\nProject instructions (the repository's and the user's AGENTS.md; follow them unless they conflict with the rules above):\n")
		b.WriteString(in)
		b.WriteString("\n")
	}
	if len(focus) > 0 {
		b.WriteString("\nFiles in focus (the user is looking at these):\n")
		for _, f := range focus {
			fmt.Fprintf(&b, "- %s\n", f)
		}
	}
	if m := strings.TrimSpace(repoMap); m != "" {
		b.WriteString("\nRepository map:\n")
		b.WriteString(m)
		b.WriteString("\n")
	}
	return b.String()
}
