package analysis

import (
	"context"
	"fmt"

	sitter "github.com/smacker/go-tree-sitter"
)

// InputEdit describes one change to a document in tree-sitter's terms:
// bytes [StartByte, OldEndByte) of the old text became [StartByte,
// NewEndByte) of the new one, with the matching positions (Offset is ignored).
type InputEdit struct {
	StartByte, OldEndByte, NewEndByte    uint32
	StartPoint, OldEndPoint, NewEndPoint Position
}

// Document is one file kept parsed across edits. It is not safe for
// concurrent use.
type Document struct {
	path   string
	cl     *compiledLang
	parser *sitter.Parser
	src    []byte
	tree   *sitter.Tree
	lines  lineIndex // of src
	// parsedClean: some text of the document parsed without error, so the
	// grammar understood it and errors since are the edits' (SyntaxErrors).
	parsedClean bool
	x           extractor
	ol          outlineState
	// movedKids and spareKids are updateOutline's buffers, kept to spare
	// the allocations.
	movedKids, spareKids []topKid
}

// NewDocument parses src as the file at path.
func NewDocument(ctx context.Context, path string, src []byte) (*Document, error) {
	cl, err := compiledFor(path, src)
	if err != nil {
		return nil, err
	}
	p := sitter.NewParser()
	t, err := parseSource(ctx, p, cl, src, nil, 0)
	if err != nil {
		p.Close()
		return nil, err
	}
	return &Document{path: path, cl: cl, parser: p, src: src, tree: t, lines: newLineIndex(src), parsedClean: !t.RootNode().HasError()}, nil
}

// Replace parses newSrc afresh as the document's whole text (an editor
// that sends the full text on each change), keeping what the document
// remembers of earlier parses. On error the document keeps its state.
func (d *Document) Replace(ctx context.Context, newSrc []byte) error {
	t, err := parseSource(ctx, d.parser, d.cl, newSrc, nil, 0)
	if err != nil {
		return err
	}
	d.tree.Close()
	d.tree, d.src, d.lines = t, newSrc, newLineIndex(newSrc)
	d.parsedClean = d.parsedClean || !t.RootNode().HasError()
	d.ol = outlineState{}
	return nil
}

// Source returns the current text; callers must not modify it.
func (d *Document) Source() []byte { return d.src }

// Language returns the document's language name.
func (d *Document) Language() string { return d.cl.name }

// Apply replaces bytes [start, oldEnd) with newText and reparses
// incrementally, reusing the unchanged parts of the previous tree.
func (d *Document) Apply(ctx context.Context, start, oldEnd int, newText []byte) error {
	if start < 0 || oldEnd < start || oldEnd > len(d.src) {
		return fmt.Errorf("analysis: edit [%d,%d) outside document of %d bytes", start, oldEnd, len(d.src))
	}
	next := make([]byte, 0, len(d.src)-(oldEnd-start)+len(newText))
	next = append(next, d.src[:start]...)
	next = append(next, newText...)
	next = append(next, d.src[oldEnd:]...)
	li := d.lines
	e := InputEdit{
		StartByte:   uint32(start),
		OldEndByte:  uint32(oldEnd),
		NewEndByte:  uint32(start + len(newText)),
		StartPoint:  li.position(uint32(start)),
		OldEndPoint: li.position(uint32(oldEnd)),
	}
	e.NewEndPoint = advance(e.StartPoint, newText)
	return d.Reparse(ctx, e, next)
}

// advance returns the position reached by writing text at p.
func advance(p Position, text []byte) Position {
	for _, b := range text {
		if b == '\n' {
			p.Line++
			p.Column = 0
		} else {
			p.Column++
		}
	}
	p.Offset += len(text)
	return p
}

// Reparse applies an edit already expressed as an InputEdit, with newSrc the
// full text after it. On error the document keeps its previous state.
func (d *Document) Reparse(ctx context.Context, e InputEdit, newSrc []byte) error {
	if e.OldEndByte < e.StartByte || e.NewEndByte < e.StartByte || int(e.OldEndByte) > len(d.src) || int(e.NewEndByte) > len(newSrc) {
		return fmt.Errorf("analysis: inconsistent edit %+v", e)
	}
	// Edit a copy so a failed or cancelled parse leaves the old tree intact.
	old := d.tree.Copy()
	editTree(old, e)
	reuse := old
	if d.cl.prepare != nil && macrosMoved(d.src, newSrc, e) {
		reuse = nil // what the parser read outside the edit changed
	}
	t, err := parseSource(ctx, d.parser, d.cl, newSrc, reuse, 0)
	if err != nil {
		old.Close()
		return err
	}
	prev, oldLines := d.tree, d.lines
	d.tree, d.src, d.lines = t, newSrc, newLineIndex(newSrc)
	d.parsedClean = d.parsedClean || !t.RootNode().HasError()
	// The outline compares children with prev's, so prev lives until then.
	d.reparseOutline(e, oldLines)
	prev.Close()
	old.Close()
	return nil
}

// Symbols returns the document's definitions, flat with Parent indices.
func (d *Document) Symbols() ([]Symbol, error) {
	items, _, err := d.OutlineStamped()
	if err != nil {
		return nil, err
	}
	return flatten(items, d.ol.count), nil
}

// Outline returns the document's definitions as a tree. The result is
// shared with later calls: callers must not modify it.
func (d *Document) Outline() ([]OutlineItem, error) {
	items, _, err := d.OutlineStamped()
	return items, err
}

// SyntaxErrors reports the syntax errors edits introduced: the ERROR and
// MISSING nodes of the current tree once some text of the document parsed
// cleanly, none while it never did (the grammar does not understand the
// file, and its errors would be as likely false; see CheckSyntax).
func (d *Document) SyntaxErrors() []SyntaxError {
	if !d.parsedClean {
		return nil
	}
	return d.ParseErrors()
}

// ParseErrors reports every ERROR and MISSING node of the current tree.
func (d *Document) ParseErrors() []SyntaxError {
	return syntaxErrors(d.tree.RootNode(), d.src)
}

// Close frees the tree and parser now rather than at garbage collection.
func (d *Document) Close() {
	if d.tree != nil {
		d.tree.Close()
		d.tree = nil
	}
	if d.parser != nil {
		d.parser.Close()
		d.parser = nil
	}
}
