package tools

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/loom-agent/loom/analysis"
)

// SyntaxCheck reports the syntax errors tree-sitter finds in a file.
type SyntaxCheck struct{}

func (SyntaxCheck) Spec() Spec {
	return Spec{
		Name: "syntax_check",
		Description: "Parse one source file (as staged, with your edits) and report its syntax errors with " +
			"line and column, or say that it parses cleanly. Fast; no compiler needed.",
		Schema: json.RawMessage(`{"type":"object","properties":{
"path":{"type":"string","description":"file path, relative to the workspace root"}},
"required":["path"],"additionalProperties":false}`),
		Effect:     EffectRead,
		PathArgs:   []string{"path"},
		Idempotent: true,
	}
}

func (SyntaxCheck) Run(ctx context.Context, env *Env, raw json.RawMessage) (Result, error) {
	var a pathArgs
	if err := decodeArgs("syntax_check", raw, &a); err != nil {
		return Result{}, err
	}
	if err := required("syntax_check", "path", a.Path); err != nil {
		return Result{}, err
	}
	rel, src, err := readSource(env, a.Path)
	if err != nil {
		return Result{}, err
	}
	// A staged file is judged against its text before the changeset, as
	// the check after each edit is; an untouched one on its own.
	var errs []analysis.SyntaxError
	if before, staged := stagedBase(env, rel); staged {
		errs, err = analysis.IntroducedSyntaxErrors(ctx, rel, before, src)
	} else {
		errs, err = analysis.CheckSyntax(ctx, rel, src)
	}
	if err != nil {
		return Result{}, fmt.Errorf("syntax_check %s: %w", rel, err)
	}
	if len(errs) > 0 {
		return Result{Text: fmt.Sprintf("%s has %d syntax error(s):\n%s", rel, len(errs), formatSyntaxErrors(rel, errs)), Data: errs}, nil
	}
	// Errors tree-sitter finds but Loom does not vouch for are mentioned,
	// not reported: the grammar may not know a construct or a macro.
	if parse, err := analysis.ParseErrors(ctx, rel, src); err == nil && len(parse) > 0 {
		return Result{Text: fmt.Sprintf("%s: no syntax errors reported. Tree-sitter's %s grammar cannot parse %d place(s) of it, "+
			"but the file did not parse cleanly before the changeset either, so they may be constructs or macros "+
			"the grammar does not know (first at line %d); syntax errors are reported where an edit breaks a file that parsed cleanly.\n",
			rel, analysis.DetectLanguage(rel, src), len(parse), parse[0].Range.Start.Line+1), Data: errs}, nil
	}
	return Result{Text: rel + " parses without syntax errors.\n", Data: errs}, nil
}

// stagedBase returns the text path had before the changeset (nil for a
// file the changeset creates) and whether the changeset changed it.
func stagedBase(env *Env, rel string) ([]byte, bool) {
	for _, ch := range env.Changes.Changes() {
		if ch.NewPath == rel && ch.New != nil {
			return ch.Old, true
		}
	}
	return nil, false
}

// formatSyntaxErrors prints "path:line:col: message" lines.
func formatSyntaxErrors(rel string, errs []analysis.SyntaxError) string {
	var b strings.Builder
	for _, e := range errs {
		fmt.Fprintf(&b, "%s:%d:%d: %s\n", rel, e.Range.Start.Line+1, e.Range.Start.Column+1, e.Message)
	}
	return b.String()
}

// syntaxWarning returns a note for the model when an edit made a file that
// parsed cleanly stop parsing; the edit stays staged and the model decides.
func syntaxWarning(ctx context.Context, rel string, old, new []byte) string {
	if analysis.DetectLanguage(rel, new) == "" {
		return ""
	}
	after, err := analysis.IntroducedSyntaxErrors(ctx, rel, old, new)
	if err != nil || len(after) == 0 {
		return ""
	}
	if len(after) > 3 {
		after = after[:3]
	}
	return fmt.Sprintf("\nWarning: %s parsed cleanly before this edit and now has syntax errors (the edit is staged; fix it if it was not intended):\n%s",
		rel, formatSyntaxErrors(rel, after))
}

// Title says what one call does, for front ends to show.
func (SyntaxCheck) Title(args json.RawMessage) string {
	return "Check the syntax of " + str(titleArgs(args), "path", ".")
}
