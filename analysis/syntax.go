package analysis

import (
	"context"
	"fmt"
	"strconv"
	"unicode/utf8"

	sitter "github.com/smacker/go-tree-sitter"
)

// SyntaxError is an ERROR or MISSING node of a parse.
type SyntaxError struct {
	Range   Range  `json:"range"`
	Message string `json:"message"`
	Missing bool   `json:"missing"` // the parser inserted a token that is absent
}

// maxSyntaxErrors caps the report; one typo can cascade.
const maxSyntaxErrors = 100

// Tree-sitter's grammars lag their languages (Go 1.26's new(expr), TypeScript's
// variance annotations) and do not expand C's macros (spdlog's SPDLOG_API), so
// an ERROR node in a file nobody edited is as likely the grammar's gap as the
// file's mistake: bench/syntax.sh finds one in 255 of 6,641 TypeScript files,
// 60 of 99 C++ files and 15 of 106 C files of valid code, and even in 2 of
// 6,495 Go files. What Loom reports as a syntax error is therefore an error
// an edit introduced into a text that parsed cleanly before: the grammar
// understood every construct there, and the edit broke it. That rule is
// IntroducedSyntaxErrors here, Document.SyntaxErrors for an editor's buffer
// (which keeps whether it ever parsed cleanly), and CheckSyntax for a file
// with no earlier text, where only languages whose grammar the corpora show
// to be reliable are reported at all.

// CheckSyntax reports the syntax errors of one file read without an earlier
// version to compare with: ParseErrors for a language whose grammar parses
// valid code reliably (see syntaxTrusted in the language table), none for
// the others, where an ERROR node is too often a construct or a macro the
// grammar does not know.
func CheckSyntax(ctx context.Context, path string, src []byte) ([]SyntaxError, error) {
	cl, err := compiledFor(path, src)
	if err != nil {
		return nil, err
	}
	if !SyntaxTrusted(cl.name) {
		return nil, nil
	}
	return ParseErrors(ctx, path, src)
}

// SyntaxTrusted says whether tree-sitter's grammar of a language reports
// errors in a file nobody edited that are worth showing (CheckSyntax).
func SyntaxTrusted(language string) bool {
	for _, l := range languageTable {
		if l.name == language {
			return l.syntaxTrusted
		}
	}
	return false
}

// IntroducedSyntaxErrors reports the syntax errors of after that an edit
// introduced: those of after when before parsed without error (nil before
// is a new file, whose empty text parses cleanly), none when before did not
// parse either, since the grammar then does not understand the file and its
// errors say nothing about the edit.
func IntroducedSyntaxErrors(ctx context.Context, path string, before, after []byte) ([]SyntaxError, error) {
	errs, err := ParseErrors(ctx, path, after)
	if err != nil || len(errs) == 0 || before == nil {
		return errs, err
	}
	prior, err := ParseErrors(ctx, path, before)
	if err != nil {
		return nil, err
	}
	if len(prior) > 0 {
		return nil, nil
	}
	return errs, nil
}

// ParseErrors parses one file and reports every ERROR and MISSING node of
// tree-sitter's parse in source order: the grammar's view, which can be
// wrong about valid code (see CheckSyntax).
func ParseErrors(ctx context.Context, path string, src []byte) ([]SyntaxError, error) {
	cl, err := compiledFor(path, src)
	if err != nil {
		return nil, err
	}
	p := parserPool.Get().(*sitter.Parser)
	defer parserPool.Put(p)
	t, err := parseSource(ctx, p, cl, src, nil, 0)
	if err != nil {
		return nil, err
	}
	defer t.Close()
	return syntaxErrors(t.RootNode(), src), nil
}

func syntaxErrors(root *sitter.Node, src []byte) []SyntaxError {
	if root == nil || !root.HasError() {
		return nil
	}
	li := newLineIndex(src)
	var out []SyntaxError
	// An explicit stack: error-ridden input can nest deeper than is wise to recurse.
	stack := []*sitter.Node{root}
	for len(stack) > 0 && len(out) < maxSyntaxErrors {
		n := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		switch {
		case n.IsMissing():
			out = append(out, SyntaxError{
				Range:   li.span(n.StartByte(), n.EndByte()),
				Message: "missing " + strconv.Quote(n.Type()),
				Missing: true,
			})
			continue
		case n.IsError():
			out = append(out, SyntaxError{
				Range:   li.span(n.StartByte(), n.EndByte()),
				Message: errorMessage(n, src),
			})
			continue
		}
		if !n.HasError() {
			continue
		}
		for i := int(n.ChildCount()) - 1; i >= 0; i-- {
			if c := n.Child(i); c != nil {
				stack = append(stack, c)
			}
		}
	}
	return out
}

func errorMessage(n *sitter.Node, src []byte) string {
	start, end := n.StartByte(), n.EndByte()
	if end > uint32(len(src)) || start >= end {
		return "syntax error"
	}
	text := src[start:end]
	const max = 40
	if len(text) > max {
		cut := max
		for cut > 0 && !utf8.RuneStart(text[cut]) {
			cut--
		}
		text = append(text[:cut:cut], "…"...)
	}
	return fmt.Sprintf("syntax error: unexpected %q", text)
}
