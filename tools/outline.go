package tools

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/loom-agent/loom/analysis"
)

// Outline lists the definitions of one file as a tree.
type Outline struct{}

type pathArgs struct {
	Path string `json:"path"`
}

func (Outline) Spec() Spec {
	return Spec{
		Name: "outline",
		Description: "List the definitions in one source file as a tree (functions, methods, classes, structs, " +
			"interfaces, types, top-level constants and variables) with their kinds, line ranges and signatures. " +
			"Cheaper than reading a whole file to find your way around it.",
		Schema: json.RawMessage(`{"type":"object","properties":{
"path":{"type":"string","description":"file path, relative to the workspace root"}},
"required":["path"],"additionalProperties":false}`),
		Effect:     EffectRead,
		PathArgs:   []string{"path"},
		Idempotent: true,
	}
}

func (Outline) Run(ctx context.Context, env *Env, raw json.RawMessage) (Result, error) {
	var a pathArgs
	if err := decodeArgs("outline", raw, &a); err != nil {
		return Result{}, err
	}
	if err := required("outline", "path", a.Path); err != nil {
		return Result{}, err
	}
	rel, src, err := readSource(env, a.Path)
	if err != nil {
		return Result{}, err
	}
	items, err := analysis.Outline(ctx, rel, src)
	if err != nil {
		return Result{}, fmt.Errorf("outline %s: %w", rel, err)
	}
	var b strings.Builder
	writeOutline(&b, items, 0)
	if b.Len() == 0 {
		b.WriteString(rel + " has no definitions.\n")
	}
	return Result{Text: b.String(), Data: items}, nil
}

// writeOutline prints one line per definition, indented by depth:
// "func main  L3-5  func main() {".
func writeOutline(b *strings.Builder, items []analysis.OutlineItem, depth int) {
	for _, it := range items {
		fmt.Fprintf(b, "%s%s %s  L%d-%d  %s\n", strings.Repeat("  ", depth), it.Kind, it.Name,
			it.Range.Start.Line+1, it.Range.End.Line+1, it.Signature)
		writeOutline(b, it.Children, depth+1)
	}
}

// Title says what one call does, for front ends to show.
func (Outline) Title(args json.RawMessage) string {
	return "Outline " + str(titleArgs(args), "path", ".")
}
