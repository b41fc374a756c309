package lsp

import (
	"context"
	"fmt"
	"strings"
	"unicode/utf8"

	"go.lsp.dev/jsonrpc2"
	"go.lsp.dev/protocol"
	"go.lsp.dev/uri"

	"github.com/loom-agent/loom/analysis"
	"github.com/loom-agent/loom/codeindex"
	"github.com/loom-agent/loom/workspace"
)

// maxWorkspaceSymbols bounds a workspace/symbol answer; clients filter
// further as the user types.
const maxWorkspaceSymbols = 256

// DocumentSymbol returns the outline of a document: from its live parse
// when it is open (so unsaved edits count), else from the file.
func (s *Server) DocumentSymbol(ctx context.Context, params *protocol.DocumentSymbolParams) (protocol.DocumentSymbolResult, error) {
	enc := s.encoding()
	if d := s.doc(params.TextDocument.URI); d != nil {
		d.mu.Lock()
		defer d.mu.Unlock()
		if d.parsed == nil {
			return protocol.DocumentSymbolSlice{}, nil
		}
		items, stamps, err := d.parsed.OutlineStamped()
		if err != nil {
			return nil, fmt.Errorf("documentSymbol: %w", err)
		}
		return d.symbols.build(items, stamps, d.text, d.lines, enc), nil
	}
	rel, src, err := s.readClosed(params.TextDocument.URI)
	if err != nil {
		return nil, fmt.Errorf("documentSymbol: %w", err)
	}
	var items []analysis.OutlineItem
	if _, ok := analysis.LanguageForPath(rel); ok {
		if items, err = analysis.Outline(ctx, rel, src); err != nil {
			return nil, fmt.Errorf("documentSymbol: %w", err)
		}
	}
	lines := workspace.NewLines(string(src))
	out := make(protocol.DocumentSymbolSlice, 0, len(items))
	for _, it := range items {
		out = append(out, documentSymbol(it, lines, enc))
	}
	return out, nil
}

// readClosed reads a document the editor has not opened.
func (s *Server) readClosed(u uri.URI) (string, []byte, error) {
	ws := s.workspace()
	rel := s.relPath(u)
	if rel == "" || ws == nil {
		return "", nil, jsonrpc2.Errorf(jsonrpc2.InvalidParams, "%s is neither open nor in the workspace", u)
	}
	src, err := ws.ReadFile(rel)
	if err != nil {
		return "", nil, jsonrpc2.Errorf(jsonrpc2.InvalidParams, "%v", err)
	}
	return rel, src, nil
}

// symbolCache keeps a document's last documentSymbol answer with the stamps
// of its top-level items: an item that kept its stamp only moved by whole
// lines, so its symbol is shifted rather than converted again (which costs
// a line lookup and a character count per position).
type symbolCache struct {
	enc    workspace.Encoding
	cr     bool     // the text held a '\r', which LSP but not analysis ends lines at
	stamps []uint64 // the analysis outline's, never modified
	lines  []int    // parallel to stamps: each item's analysis start line
	syms   protocol.DocumentSymbolSlice
	max    uint64 // the largest stamp in stamps
}

// build converts a stamped outline of text, reusing the symbols of items
// already converted. The answer becomes the cache; neither is modified
// afterwards, since it is marshalled after the document's lock is released.
func (c *symbolCache) build(items []analysis.OutlineItem, stamps []uint64, text string, lines *workspace.Lines, enc workspace.Encoding) protocol.DocumentSymbolSlice {
	if c.enc != enc {
		*c = symbolCache{enc: enc}
	}
	// Without a '\r' on either side, LSP lines are analysis lines, so an
	// item's shift is known without looking its position up.
	cr := strings.IndexByte(text, '\r') >= 0
	sameLines := !cr && !c.cr
	out := make(protocol.DocumentSymbolSlice, len(items))
	starts := make([]int, len(items))
	var max uint64
	j := 0
	for i, it := range items {
		st := stamps[i]
		max = maxStamp(max, st)
		starts[i] = it.Range.Start.Line
		reused := false
		// Stamps come from a counter, so one above the cache's largest is
		// new; kept items stay in order, so the search resumes where the
		// last one was found.
		if st <= c.max {
			k := j
			for k < len(c.stamps) && c.stamps[k] != st {
				k++
			}
			if k < len(c.stamps) {
				j = k + 1
				if sameLines {
					out[i], reused = shiftSymbol(c.syms[k], it.Range.Start.Line-c.lines[k]), true
				} else {
					out[i], reused = moveSymbol(c.syms[k], it, lines, enc)
				}
			}
		}
		if !reused {
			out[i] = documentSymbol(it, lines, enc)
		}
	}
	*c = symbolCache{enc: enc, cr: cr, stamps: stamps, lines: starts, syms: out, max: max}
	return out
}

func maxStamp(a, b uint64) uint64 {
	if a > b {
		return a
	}
	return b
}

// moveSymbol shifts prev, converted from an earlier position of it, to
// where it is now. Only lines move: the lines' text is unchanged, so are
// the characters, which the item's start confirms.
func moveSymbol(prev protocol.DocumentSymbol, it analysis.OutlineItem, lines *workspace.Lines, enc workspace.Encoding) (protocol.DocumentSymbol, bool) {
	p, err := lines.Position(it.Range.Start.Offset, enc)
	if err != nil || uint32(p.Character) != prev.Range.Start.Character {
		return prev, false
	}
	return shiftSymbol(prev, p.Line-int(prev.Range.Start.Line)), true
}

// shiftSymbol returns ds dl lines away, children copied when they move.
func shiftSymbol(ds protocol.DocumentSymbol, dl int) protocol.DocumentSymbol {
	if dl == 0 {
		return ds
	}
	shift := func(r *protocol.Range) {
		r.Start.Line = uint32(int(r.Start.Line) + dl)
		r.End.Line = uint32(int(r.End.Line) + dl)
	}
	shift(&ds.Range)
	shift(&ds.SelectionRange)
	if len(ds.Children) > 0 {
		kids := make([]protocol.DocumentSymbol, len(ds.Children))
		for i, c := range ds.Children {
			kids[i] = shiftSymbol(c, dl)
		}
		ds.Children = kids
	}
	return ds
}

func documentSymbol(it analysis.OutlineItem, lines *workspace.Lines, enc workspace.Encoding) protocol.DocumentSymbol {
	full, _ := rangeOf(lines, it.Range.Start.Offset, it.Range.End.Offset, enc)
	name, _ := rangeOf(lines, it.NameRange.Start.Offset, it.NameRange.End.Offset, enc)
	ds := protocol.DocumentSymbol{Name: it.Name, Kind: symbolKind(it.Kind), Range: full, SelectionRange: name}
	if it.Signature != "" {
		ds.Detail = ptr(it.Signature)
	}
	for _, c := range it.Children {
		ds.Children = append(ds.Children, documentSymbol(c, lines, enc))
	}
	return ds
}

func symbolKind(k analysis.Kind) protocol.SymbolKind {
	switch k {
	case analysis.KindFunction:
		return protocol.SymbolKindFunction
	case analysis.KindMethod:
		return protocol.SymbolKindMethod
	case analysis.KindConstructor:
		return protocol.SymbolKindConstructor
	case analysis.KindClass, analysis.KindImpl:
		return protocol.SymbolKindClass
	case analysis.KindStruct:
		return protocol.SymbolKindStruct
	case analysis.KindInterface:
		return protocol.SymbolKindInterface
	case analysis.KindEnum:
		return protocol.SymbolKindEnum
	case analysis.KindEnumMember:
		return protocol.SymbolKindEnumMember
	case analysis.KindType:
		// LSP has no kind for a named type; TypeParameter means a generic's
		// parameter. gopls shows other named types as classes too.
		return protocol.SymbolKindClass
	case analysis.KindField:
		return protocol.SymbolKindField
	case analysis.KindConstant:
		return protocol.SymbolKindConstant
	case analysis.KindModule:
		return protocol.SymbolKindModule
	case analysis.KindNamespace:
		return protocol.SymbolKindNamespace
	case analysis.KindMacro:
		return protocol.SymbolKindFunction
	}
	return protocol.SymbolKindVariable
}

// Symbols answers workspace/symbol: live symbols of the open buffers, then
// the index's fuzzy matches for every other file.
func (s *Server) Symbols(ctx context.Context, params *protocol.WorkspaceSymbolParams) (protocol.WorkspaceSymbolResult, error) {
	ix, err := s.symbolIndex(ctx)
	if err != nil {
		return nil, fmt.Errorf("workspace/symbol: %w", err)
	}
	enc := s.encoding()
	out := protocol.SymbolInformationSlice{}
	open := map[string]bool{}
	for _, d := range s.openDocs() {
		d.mu.Lock()
		if d.rel != "" {
			open[d.rel] = true
		}
		if d.parsed != nil {
			syms, _ := d.parsed.Symbols()
			for _, sym := range syms {
				if len(out) < maxWorkspaceSymbols && fuzzyMatch(params.Query, sym.Name) {
					out = append(out, symbolInformation(d.uri, sym, d.lines, enc))
				}
			}
		}
		d.mu.Unlock()
	}
	lc := newLineCache(s.workspace())
	for _, def := range ix.Definitions(params.Query, analysis.MatchFuzzy, maxWorkspaceSymbols) {
		if len(out) >= maxWorkspaceSymbols {
			break
		}
		if open[def.Path] {
			continue
		}
		if lines := lc.get(def.Path); lines != nil {
			out = append(out, symbolInformation(lc.uri(def.Path), def.Symbol, lines, enc))
		}
	}
	return out, nil
}

func symbolInformation(u uri.URI, sym analysis.Symbol, lines *workspace.Lines, enc workspace.Encoding) protocol.SymbolInformation {
	rng, _ := rangeOf(lines, sym.NameRange.Start.Offset, sym.NameRange.End.Offset, enc)
	return protocol.SymbolInformation{
		BaseSymbolInformation: protocol.BaseSymbolInformation{Name: sym.Name, Kind: symbolKind(sym.Kind)},
		Location:              protocol.Location{URI: u, Range: rng},
	}
}

// fuzzyMatch reports whether query's characters appear in name in order,
// ignoring case (what workspace/symbol clients expect).
func fuzzyMatch(query, name string) bool {
	name = strings.ToLower(name)
	for _, r := range strings.ToLower(query) {
		i := strings.IndexRune(name, r)
		if i < 0 {
			return false
		}
		name = name[i+utf8.RuneLen(r):]
	}
	return true
}

// openDocs lists the open documents.
func (s *Server) openDocs() []*document {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*document, 0, len(s.docs))
	for _, d := range s.docs {
		out = append(out, d)
	}
	return out
}

// symbolIndex returns the workspace's index, the one the agent's tools
// share (codeindex keeps it per root): built on first use, checked against
// the disk and refreshed before each answer.
func (s *Server) symbolIndex(ctx context.Context) (*analysis.Index, error) {
	ws := s.workspace()
	if ws == nil {
		return nil, jsonrpc2.Errorf(jsonrpc2.InvalidRequest, "no workspace")
	}
	return codeindex.For(ws).Index(ctx)
}

// invalidateIndex tells the index that files changed on disk (a save, a
// watched-file event): it reads them again at the next query, even if
// their size and time look the same. It never blocks on a build.
func (s *Server) invalidateIndex(rels ...string) {
	if ws := s.workspace(); ws != nil {
		codeindex.For(ws).Invalidate(rels...)
	}
}

// lineCache indexes the lines of the files the index answers with, read as
// the index read them (from disk), so positions convert to the client's
// encoding.
type lineCache struct {
	ws    *workspace.Workspace
	lines map[string]*workspace.Lines
}

func newLineCache(ws *workspace.Workspace) *lineCache {
	return &lineCache{ws: ws, lines: map[string]*workspace.Lines{}}
}

func (c *lineCache) get(rel string) *workspace.Lines {
	if l, ok := c.lines[rel]; ok {
		return l
	}
	var l *workspace.Lines
	if b, err := c.ws.ReadDiskInto(rel, nil); err == nil {
		l = workspace.NewLines(string(b))
	}
	c.lines[rel] = l
	return l
}

func (c *lineCache) uri(rel string) uri.URI { return uri.File(c.ws.Abs(rel)) }
