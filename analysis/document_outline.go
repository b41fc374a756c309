package analysis

import (
	"errors"
	"math"
	"sync/atomic"
)

// A Document keeps its outline between edits. Definitions never span two
// children of the root (the tags patterns match below a node, and a
// language with definition patterns starting at the root is not kept
// incrementally), so the outline is a concatenation of per-child pieces.
// After an edit, a root child keeps its items, moved by the edit's byte and
// line deltas, when it lies wholly on lines before or after the edited ones
// and is the very same subtree as before at the moved place; every other
// child is walked again. Whole lines count because an item's signature is
// the line holding its name. Subtree identity is exact and cheaper than
// tree-sitter's changed ranges, which compare every visible child too and
// miss text changes that keep the structure.

// outlineState is a Document's cached outline.
type outlineState struct {
	ok      bool          // items describe the current tree
	incr    bool          // kids and owner are valid, so edits can update items
	items   []OutlineItem // top-level, shared with callers: never modified
	stamps  []uint64      // parallel to items
	owner   []span        // parallel to items: the root child holding each
	kids    []topKid      // every child of the root of the current tree
	rootSym uint16
	count   int // symbols in items, nested ones included
}

// stampCounter numbers freshly extracted top-level items process-wide, so a
// stamp never recurs even across documents.
var stampCounter atomic.Uint64

func newStamps(dst []uint64, n int) []uint64 {
	base := stampCounter.Add(uint64(n)) - uint64(n)
	for i := range n {
		dst = append(dst, base+uint64(i)+1)
	}
	return dst
}

// errNotIncremental makes an outline update fall back to a full extraction.
var errNotIncremental = errors.New("analysis: outline needs a full extraction")

// OutlineStamped returns Outline's items with a stamp for each top-level
// one. An item that keeps its stamp across edits only moved: the whole lines
// it spans kept their text, every line and offset in it shifted by the same
// amounts and columns did not. A new stamp marks an item extracted afresh.
// Both slices are shared: callers must not modify them.
func (d *Document) OutlineStamped() ([]OutlineItem, []uint64, error) {
	if !d.ol.ok {
		if err := d.fullOutline(); err != nil {
			return nil, nil, err
		}
	}
	return d.ol.items, d.ol.stamps, nil
}

// fullOutline extracts the outline of the whole tree.
func (d *Document) fullOutline() error {
	st := outlineState{}
	err := walkTop(d.tree, d.cl.outlineWant, d.cl.skip, true, nil, true, func(recs []walkRec, kids []topKid, rootSym uint16) {
		d.x.run(d.cl, recs, d.src, true)
		syms := buildSymbols(d.src, d.lines, d.x.defs)
		st.items, st.count, st.rootSym = nest(syms), len(syms), rootSym
		st.stamps = newStamps(make([]uint64, 0, len(st.items)), len(st.items))
		st.incr = !rootPatterns(d.cl, rootSym) && !zeroWidth(d.x.defs)
		if st.incr {
			st.kids = append([]topKid(nil), kids...)
			st.owner, st.incr = owners(st.items, kids, make([]span, 0, len(st.items)))
		}
	})
	if err != nil {
		return err
	}
	st.ok = true
	if !st.incr {
		st.kids, st.owner = nil, nil
	}
	d.ol = st
	return nil
}

// rootPatterns reports whether a definition pattern starts at the root: its
// matches are enumerated (and capped) over all children together.
func rootPatterns(cl *compiledLang, rootSym uint16) bool {
	if int(rootSym) >= len(cl.roots) {
		return false
	}
	for _, rp := range cl.roots[rootSym] {
		if rp.role == roleDefinition {
			return true
		}
	}
	return false
}

// zeroWidth reports an empty definition, which could sort before or after a
// neighbour at the same offset depending on which children were walked.
func zeroWidth(defs []rawDef) bool {
	for _, d := range defs {
		if d.start == d.end {
			return true
		}
	}
	return false
}

// owners appends to dst the span of the entered root child holding each
// item (both in order); ok is false if an item lies in none.
func owners(items []OutlineItem, kids []topKid, dst []span) ([]span, bool) {
	k := 0
	for _, it := range items {
		s, e := uint32(it.Range.Start.Offset), uint32(it.Range.End.Offset)
		for k < len(kids) && (kids[k].end < e || kids[k].entered == 0) {
			k++
		}
		if k == len(kids) || kids[k].start > s {
			return dst, false
		}
		dst = append(dst, span{kids[k].start, kids[k].end})
	}
	return dst, true
}

// updateOutline brings the cached outline from the tree before edit e
// (whose text had line index oldLines; that tree must still be alive) to
// the current tree.
func (d *Document) updateOutline(e InputEdit, oldLines lineIndex) error {
	old := &d.ol
	// Old children wholly on lines before the edit stay put; those wholly
	// on lines after it move by delta bytes and dl lines; the others are
	// gone.
	l0 := oldLines.position(e.StartByte).Line
	l1 := oldLines.position(e.OldEndByte).Line
	keepBefore := oldLines[l0]
	keepAfter := uint32(math.MaxUint32)
	if l1+1 < len(oldLines) {
		keepAfter = oldLines[l1+1]
	}
	delta := int(e.NewEndByte) - int(e.OldEndByte)
	newEndLine := d.lines.position(e.NewEndByte).Line
	dl := newEndLine - l1
	mapSpan := func(s span) (span, bool) {
		switch {
		case s.end < keepBefore:
			return s, true
		case s.start >= keepAfter:
			return span{uint32(int(s.start) + delta), uint32(int(s.end) + delta)}, true
		}
		return span{}, false
	}
	moved := d.movedKids[:0]
	for _, k := range old.kids {
		if m, ok := mapSpan(span{k.start, k.end}); ok {
			k.start, k.end = m.start, m.end
			moved = append(moved, k)
		}
	}
	d.movedKids = moved
	var st outlineState
	failed := false
	err := walkTop(d.tree, d.cl.outlineWant, d.cl.skip, true, moved, false, func(recs []walkRec, kids []topKid, rootSym uint16) {
		if rootSym != old.rootSym {
			failed = true
			return
		}
		d.x.run(d.cl, recs, d.src, true)
		if zeroWidth(d.x.defs) {
			failed = true
			return
		}
		syms := buildSymbols(d.src, d.lines, d.x.defs)
		fresh := nest(syms)
		freshOwner, ok := owners(fresh, kids, make([]span, 0, len(fresh)))
		if !ok {
			failed = true
			return
		}
		freshStamps := newStamps(make([]uint64, 0, len(fresh)), len(fresh))
		st.kids = append(d.spareKids[:0], kids...)
		st.rootSym = rootSym
		// Merge child by child: the walked ones bring their fresh items,
		// the others (each the same subtree as an old child, moved) their
		// old items.
		n := len(old.items) + len(fresh)
		st.items = make([]OutlineItem, 0, n)
		st.stamps = make([]uint64, 0, n)
		st.owner = make([]span, 0, n)
		p, q := 0, 0
		for _, k := range kids {
			ks := span{k.start, k.end}
			if k.entered != 0 {
				for ; p < len(fresh) && freshOwner[p] == ks; p++ {
					st.add(fresh[p], freshStamps[p], ks, 0, 0)
				}
				continue
			}
			for ; q < len(old.items); q++ {
				m, ok := mapSpan(old.owner[q])
				if !ok || m.start < ks.start || m.start == ks.start && m.end < ks.end {
					continue // its child was edited or walked again
				}
				if m != ks {
					break
				}
				if old.owner[q].start >= keepAfter {
					st.add(old.items[q], old.stamps[q], ks, delta, dl)
				} else {
					st.add(old.items[q], old.stamps[q], ks, 0, 0)
				}
			}
		}
		failed = p != len(fresh)
	})
	if err != nil {
		return err
	}
	if failed {
		return errNotIncremental
	}
	if len(st.items) == 0 {
		st.items = nil // as nest returns an empty outline
	}
	st.ok, st.incr = true, true
	d.spareKids = old.kids
	d.ol = st
	return nil
}

// add appends a top-level item, moved by delta bytes and dl lines, and
// renumbers its descendants' Parent indices to where it now lands in the
// flat symbol list.
func (st *outlineState) add(it OutlineItem, stamp uint64, owner span, delta, dl int) {
	at := st.count
	st.count += 1 + countItems(it.Children)
	dp := 0
	if len(it.Children) > 0 {
		dp = at - it.Children[0].Parent
	}
	if delta != 0 || dl != 0 || dp != 0 {
		it = moveItem(it, delta, dl, dp)
	}
	st.items = append(st.items, it)
	st.stamps = append(st.stamps, stamp)
	st.owner = append(st.owner, owner)
}

func countItems(items []OutlineItem) int {
	n := len(items)
	for _, it := range items {
		n += countItems(it.Children)
	}
	return n
}

// moveItem returns a copy of it (children copied too) with offsets moved by
// delta, lines by dl and parent indices by dp; the top-level Parent (-1)
// stays.
func moveItem(it OutlineItem, delta, dl, dp int) OutlineItem {
	moveRange(&it.Range, delta, dl)
	moveRange(&it.NameRange, delta, dl)
	if it.Parent >= 0 {
		it.Parent += dp
	}
	if len(it.Children) > 0 {
		kids := make([]OutlineItem, len(it.Children))
		for i, c := range it.Children {
			kids[i] = moveItem(c, delta, dl, dp)
		}
		it.Children = kids
	}
	return it
}

func moveRange(r *Range, delta, dl int) {
	r.Start.Offset += delta
	r.End.Offset += delta
	r.Start.Line += dl
	r.End.Line += dl
}

// flatten lists an outline's symbols in source order with Parent indices,
// as Symbols returns them.
func flatten(items []OutlineItem, n int) []Symbol {
	out := make([]Symbol, 0, n)
	var walk func(items []OutlineItem, parent int)
	walk = func(items []OutlineItem, parent int) {
		for _, it := range items {
			s := it.Symbol
			s.Parent = parent
			out = append(out, s)
			walk(it.Children, len(out)-1)
		}
	}
	walk(items, -1)
	return out
}

// reparseOutline updates the cached outline after a reparse, or drops it
// to be extracted afresh when next asked for. The tree before the edit
// must still be alive.
func (d *Document) reparseOutline(e InputEdit, oldLines lineIndex) {
	if !d.ol.ok || !d.ol.incr || d.updateOutline(e, oldLines) != nil {
		d.ol = outlineState{}
	}
}

// span is a byte range [start, end).
type span struct{ start, end uint32 }
