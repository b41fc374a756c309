package tui

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/x/ansi"

	"github.com/loom-agent/loom/agent"
	"github.com/loom-agent/loom/llm"
)

// price is what a model charges, in US dollars per million tokens.
type price struct{ in, out, cacheRead float64 }

// prices are the list prices of models often used, by the start of their
// name (the longest start that matches wins); a model not here shows no
// cost rather than a guess. Checked against the providers' price pages
// in 2026; a dated snapshot name matches its family.
var prices = map[string]price{
	"gpt-4o":            {2.50, 10, 1.25},
	"gpt-4o-mini":       {0.15, 0.60, 0.075},
	"gpt-4.1":           {2, 8, 0.50},
	"gpt-4.1-mini":      {0.40, 1.60, 0.10},
	"gpt-4.1-nano":      {0.10, 0.40, 0.025},
	"gpt-5":             {1.25, 10, 0.125},
	"gpt-5-mini":        {0.25, 2, 0.025},
	"gpt-5-nano":        {0.05, 0.40, 0.005},
	"o3":                {2, 8, 0.50},
	"o4-mini":           {1.10, 4.40, 0.275},
	"claude-opus-4":     {15, 75, 1.50},
	"claude-sonnet-4":   {3, 15, 0.30},
	"claude-3-7-sonnet": {3, 15, 0.30},
	"claude-3-5-haiku":  {0.80, 4, 0.08},
	"claude-haiku-4":    {1, 5, 0.10},
}

// cost is what usage cost on model, and whether its price is known.
func cost(model string, u llm.Usage) (float64, bool) {
	best := ""
	for name := range prices {
		if strings.HasPrefix(model, name) && len(name) > len(best) {
			best = name
		}
	}
	if best == "" {
		return 0, false
	}
	p := prices[best]
	uncached := u.PromptTokens - u.CacheReadTokens
	return (float64(uncached)*p.in + float64(u.CacheReadTokens)*p.cacheRead + float64(u.CompletionTokens)*p.out) / 1e6, true
}

// status is the status line: the model and its provider, the workspace,
// the tokens spent in this session, their cost where the price is known,
// the share of the context the last call filled, and the staged files.
func (m *Model) status() string {
	name := m.conv.Model()
	if m.opts.Provider != "" {
		name += " (" + m.opts.Provider + ")"
	}
	s := fmt.Sprintf("%s · tokens %d in, %d out", name, m.tokensIn, m.tokensOut)
	if c, ok := cost(m.conv.Model(), m.usage); ok {
		s += " · " + dollars(c)
	}
	if m.contextUsed > 0 {
		window := m.opts.ContextWindow
		if window <= 0 {
			window = agent.DefaultContextWindow
		}
		s += fmt.Sprintf(" · context %d%%", min(100, m.contextUsed*100/window))
	}
	if m.staged > 0 {
		s += fmt.Sprintf(" · %d file(s) staged", m.staged)
	}
	// The workspace last: a long path is what the width cuts.
	s += " · " + m.conv.Root()
	return ansi.Truncate(s, max(m.width-1, 20), "…")
}

// dollars prints a cost: cents and their fractions while it is small.
func dollars(c float64) string {
	if c < 1 {
		return fmt.Sprintf("$%.4f", c)
	}
	return fmt.Sprintf("$%.2f", c)
}
