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

// CheckSyntax parses one file and reports its syntax errors in source order.
func CheckSyntax(ctx context.Context, path string, src []byte) ([]SyntaxError, error) {
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
