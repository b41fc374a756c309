package tools

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/loom-agent/loom/analysis"
	"github.com/loom-agent/loom/codeindex"
)

// FindSymbol finds where a name is defined across the workspace.
type FindSymbol struct{}

type findSymbolArgs struct {
	Name  string `json:"name"`
	Match string `json:"match,omitempty"`
	Limit int    `json:"limit,omitempty"`
}

func (FindSymbol) Spec() Spec {
	return Spec{
		Name: "find_symbol",
		Description: "Find where a function, method, type, class, constant or variable is defined, across the " +
			"whole workspace (a syntactic index, honouring .gitignore). match is exact (default), ignore_case or " +
			"fuzzy; an exact search with no result falls back to fuzzy.",
		Schema: json.RawMessage(`{"type":"object","properties":{
"name":{"type":"string","description":"the name to look for"},
"match":{"type":"string","enum":["exact","ignore_case","fuzzy"],"description":"how to match the name (default exact)"},
"limit":{"type":"integer","minimum":1,"description":"most results (default 50)"}},
"required":["name"],"additionalProperties":false}`),
		Effect:     EffectSearch,
		Idempotent: true,
	}
}

func (FindSymbol) Run(ctx context.Context, env *Env, raw json.RawMessage) (Result, error) {
	var a findSymbolArgs
	if err := decodeArgs("find_symbol", raw, &a); err != nil {
		return Result{}, err
	}
	if err := required("find_symbol", "name", a.Name); err != nil {
		return Result{}, err
	}
	mode, err := matchMode(a.Match)
	if err != nil {
		return Result{}, err
	}
	limit := a.Limit
	if limit <= 0 {
		limit = 50
	}
	defs, err := definitions(ctx, env, a.Name, mode, limit)
	if err != nil {
		return Result{}, err
	}
	note := ""
	if len(defs) == 0 && mode == analysis.MatchExact {
		if defs, err = definitions(ctx, env, a.Name, analysis.MatchFuzzy, limit); err != nil {
			return Result{}, err
		}
		note = fmt.Sprintf("No definition named exactly %q; closest names:\n", a.Name)
	}
	if len(defs) == 0 {
		return Result{Text: fmt.Sprintf("No definition matches %q.\n", a.Name), Data: defs}, nil
	}
	var b strings.Builder
	b.WriteString(note)
	if note == "" && mode == analysis.MatchExact {
		b.WriteString(ambiguity(a.Name, defs))
	}
	for _, d := range defs {
		fmt.Fprintf(&b, "%s:%d: %s %s  %s\n", d.Path, d.NameRange.Start.Line+1, d.Kind, d.Name, d.Signature)
	}
	return Result{Text: b.String(), Data: defs}, nil
}

func matchMode(s string) (analysis.MatchMode, error) {
	switch s {
	case "", "exact":
		return analysis.MatchExact, nil
	case "ignore_case":
		return analysis.MatchIgnoreCase, nil
	case "fuzzy":
		return analysis.MatchFuzzy, nil
	}
	return 0, fmt.Errorf("invalid arguments: match %q: want exact, ignore_case or fuzzy", s)
}

// ambiguity says when a name has more than one definition: the name alone
// does not tell which one a use means (resolving a use at its position is
// the LSP server's definition, not these tools').
func ambiguity(name string, defs []analysis.Definition) string {
	if len(defs) < 2 {
		return ""
	}
	files := map[string]bool{}
	for _, d := range defs {
		files[d.Path] = true
	}
	return fmt.Sprintf("Ambiguous: %d definitions named %q in %d files; a use of the name may mean any of them.\n", len(defs), name, len(files))
}

// definitions asks the workspace's index, which reads staged and buffered
// files from the changeset rather than the disk.
func definitions(ctx context.Context, env *Env, name string, mode analysis.MatchMode, limit int) ([]analysis.Definition, error) {
	return codeindex.For(env.Workspace()).Definitions(ctx, env.Changes, name, mode, limit)
}

// Title says what one call does, for front ends to show.
func (FindSymbol) Title(args json.RawMessage) string {
	return "Find the symbol " + quoteTitle(str(titleArgs(args), "name", ""))
}
