package tools

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/loom-agent/loom/analysis"
	"github.com/loom-agent/loom/codeindex"
)

// FindReferences lists the syntactic uses of an identifier.
type FindReferences struct{}

type findReferencesArgs struct {
	Name  string `json:"name"`
	Limit int    `json:"limit,omitempty"`
}

func (FindReferences) Spec() Spec {
	return Spec{
		Name: "find_references",
		Description: "List every syntactic occurrence of an identifier across the workspace, marked as a call or a " +
			"reference, with the line it is on. Never matches inside comments or strings. Syntactic: it does not " +
			"tell apart two different things with the same name: when the name has several definitions it says so and lists them.",
		Schema: json.RawMessage(`{"type":"object","properties":{
"name":{"type":"string","description":"the identifier"},
"limit":{"type":"integer","minimum":1,"description":"most results (default 200)"}},
"required":["name"],"additionalProperties":false}`),
		Effect:     EffectSearch,
		Idempotent: true,
	}
}

func (FindReferences) Run(ctx context.Context, env *Env, raw json.RawMessage) (Result, error) {
	var a findReferencesArgs
	if err := decodeArgs("find_references", raw, &a); err != nil {
		return Result{}, err
	}
	if err := required("find_references", "name", a.Name); err != nil {
		return Result{}, err
	}
	limit := a.Limit
	if limit <= 0 {
		limit = 200
	}
	refs, err := codeindex.For(env.Workspace()).References(ctx, env.Changes, a.Name)
	if err != nil {
		return Result{}, err
	}
	sources := map[string][]byte{}
	total := len(refs)
	if len(refs) > limit {
		refs = refs[:limit]
	}
	if total == 0 {
		return Result{Text: fmt.Sprintf("No references to %q.\n", a.Name), Data: refs}, nil
	}
	var b strings.Builder
	// By name, the occurrences of a name defined twice mix both.
	if defs, err := definitions(ctx, env, a.Name, analysis.MatchExact, 50); err == nil && len(defs) > 1 {
		b.WriteString(ambiguity(a.Name, defs))
		fmt.Fprintf(&b, "The occurrences below are by name: each may refer to any of %s.\n", definedAt(defs))
	}
	for _, r := range refs {
		src, ok := sources[r.Path]
		if !ok {
			if src, err = env.Changes.ReadFile(r.Path); err == nil {
				sources[r.Path] = src
			}
		}
		fmt.Fprintf(&b, "%s:%d:%d: %s: %s\n", r.Path, r.Range.Start.Line+1, r.Range.Start.Column+1, r.Kind, lineAt(src, r.Range.Start.Offset))
	}
	if total > len(refs) {
		fmt.Fprintf(&b, "[showing the first %d of %d references]\n", len(refs), total)
	}
	return Result{Text: b.String(), Data: refs}, nil
}

// definedAt lists where definitions are, a few of them.
func definedAt(defs []analysis.Definition) string {
	var parts []string
	for i, d := range defs {
		if i == 5 {
			parts = append(parts, fmt.Sprintf("%d more", len(defs)-i))
			break
		}
		parts = append(parts, fmt.Sprintf("%s:%d", d.Path, d.NameRange.Start.Line+1))
	}
	return strings.Join(parts, ", ")
}

// lineAt returns the trimmed line of src holding offset.
func lineAt(src []byte, off int) string {
	if off < 0 || off > len(src) {
		return ""
	}
	start := strings.LastIndexByte(string(src[:off]), '\n') + 1
	end := strings.IndexByte(string(src[off:]), '\n')
	if end < 0 {
		end = len(src) - off
	}
	line := strings.TrimSpace(string(src[start : off+end]))
	if len(line) > 200 {
		line = line[:200] + "…"
	}
	return line
}

// Title says what one call does, for front ends to show.
func (FindReferences) Title(args json.RawMessage) string {
	return "Find references to " + quoteTitle(str(titleArgs(args), "name", ""))
}
