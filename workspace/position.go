package workspace

import (
	"fmt"
	"sort"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	udiff "github.com/aymanbagabas/go-udiff"
)

// Encoding is how a position counts characters within a line, as LSP's
// positionEncoding negotiates it.
type Encoding string

const (
	UTF8  Encoding = "utf-8"
	UTF16 Encoding = "utf-16"
	UTF32 Encoding = "utf-32"
)

// Position is a zero-based line and character offset in an Encoding.
type Position struct {
	Line      int `json:"line"`
	Character int `json:"character"`
}

// Range is a half-open span of text.
type Range struct {
	Start Position `json:"start"`
	End   Position `json:"end"`
}

// TextEdit replaces Range with NewText.
type TextEdit struct {
	Range   Range  `json:"range"`
	NewText string `json:"newText"`
}

// FileEdit is one file's part of a changeset in the shape LSP's
// WorkspaceEdit needs: a create, delete or rename operation and/or text
// edits against the file's base content.
type FileEdit struct {
	Kind    Kind
	Path    string
	NewPath string
	Edits   []TextEdit // against the content before the change
}

// Lines indexes the line starts of a text so that byte offsets and
// positions convert both ways. Lines end at "\n", "\r\n" or a lone "\r",
// as LSP defines them.
type Lines struct {
	text   string
	starts []int
}

// NewLines indexes text.
func NewLines(text string) *Lines {
	// Sized once: a large buffer is indexed again after every keystroke.
	starts := make([]int, 1, 1+strings.Count(text, "\n"))
	for i := 0; i < len(text); i++ {
		switch text[i] {
		case '\n':
			starts = append(starts, i+1)
		case '\r':
			if i+1 < len(text) && text[i+1] == '\n' {
				i++
			}
			starts = append(starts, i+1)
		}
	}
	return &Lines{text: text, starts: starts}
}

// Count returns the number of lines (a final line break starts an empty
// last line, as editors count them).
func (l *Lines) Count() int { return len(l.starts) }

// Position converts a byte offset to a position in enc.
func (l *Lines) Position(offset int, enc Encoding) (Position, error) {
	if offset < 0 || offset > len(l.text) {
		return Position{}, fmt.Errorf("offset %d is outside the text (length %d)", offset, len(l.text))
	}
	line := sort.Search(len(l.starts), func(i int) bool { return l.starts[i] > offset }) - 1
	return Position{Line: line, Character: count(l.text[l.starts[line]:offset], enc)}, nil
}

// Offset converts a position in enc to a byte offset. A character past the
// end of its line clamps to the line end, as LSP asks; a line past the end
// is an error.
func (l *Lines) Offset(p Position, enc Encoding) (int, error) {
	if p.Line < 0 || p.Line >= len(l.starts) || p.Character < 0 {
		return 0, fmt.Errorf("position %d:%d is outside the text (%d lines)", p.Line, p.Character, len(l.starts))
	}
	start := l.starts[p.Line]
	end := len(l.text)
	if p.Line+1 < len(l.starts) {
		end = l.starts[p.Line+1]
	}
	// Exclude the line break itself.
	for end > start && (l.text[end-1] == '\n' || l.text[end-1] == '\r') {
		end--
	}
	n := 0
	for i := start; i < end; {
		if n >= p.Character {
			return i, nil
		}
		r, size := utf8.DecodeRuneInString(l.text[i:])
		n += width(r, size, enc)
		i += size
		if n > p.Character { // inside a surrogate pair: round to the rune end
			return i, nil
		}
	}
	return end, nil
}

// count returns the length of s in enc units. Invalid bytes count as one
// unit each, as U+FFFD does.
func count(s string, enc Encoding) int {
	if enc == UTF8 {
		return len(s)
	}
	n := 0
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		n += width(r, size, enc)
		i += size
	}
	return n
}

func width(r rune, size int, enc Encoding) int {
	switch enc {
	case UTF8:
		return size
	case UTF32:
		return 1
	}
	if r == utf8.RuneError && size == 1 {
		return 1
	}
	return utf16.RuneLen(r)
}

// TextEdits returns the changes as per-file LSP edits with positions in enc.
func (c *Changeset) TextEdits(enc Encoding) ([]FileEdit, error) {
	var out []FileEdit
	for _, ch := range c.Changes() {
		fe := FileEdit{Kind: ch.Kind, Path: ch.Path, NewPath: ch.NewPath}
		switch ch.Kind {
		case Create:
			if len(ch.New) > 0 {
				fe.Edits = []TextEdit{{NewText: string(ch.New)}}
			}
		case Modify, Rename:
			edits, err := ComputeEdits(string(ch.Old), string(ch.New), enc)
			if err != nil {
				return nil, fmt.Errorf("edits for %s: %w", ch.Path, err)
			}
			fe.Edits = edits
		}
		out = append(out, fe)
	}
	return out, nil
}

// ComputeEdits returns line-granular edits that turn old into new, with
// positions in old measured in enc.
func ComputeEdits(old, new string, enc Encoding) ([]TextEdit, error) {
	lines := NewLines(old)
	var out []TextEdit
	for _, e := range udiff.Lines(old, new) {
		start, err := lines.Position(e.Start, enc)
		if err != nil {
			return nil, err
		}
		end, err := lines.Position(e.End, enc)
		if err != nil {
			return nil, err
		}
		out = append(out, TextEdit{Range: Range{Start: start, End: end}, NewText: e.New})
	}
	return out, nil
}
