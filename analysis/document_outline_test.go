package analysis

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"
	"unicode/utf8"
)

// editPool holds lines that make or break definitions in the fixture
// languages, so random edits open and close comments, strings and blocks.
var editPool = []string{
	"", "// note", "# note", "func Extra() {}", "type Extra struct{ Q int }", "/*", "*/", "}", "{", `"`, "`", "'''",
	"class Extra:", "    def m(self): pass", "def extra():", "  x = 1", "var v = 1", "const (", ")", "(",
	"fn extra() {}", "struct S { a: i32 }", "int extra(void) { return 0; }", "end", "\t", "é🙂 x",
	"interface I { void f(); }", "module M", "impl S { fn g(&self) {} }", "let z = () => 1;",
}

// randomEdit picks a one-line edit of src: insert, delete, replace,
// duplicate or join lines, or type a snippet inside one.
func randomEdit(r *rand.Rand, src []byte) (start, end int, text string) {
	var starts []int
	starts = append(starts, 0)
	for i, b := range src {
		if b == '\n' {
			starts = append(starts, i+1)
		}
	}
	ln := r.IntN(len(starts))
	ls := starts[ln]
	le := len(src)
	if ln+1 < len(starts) {
		le = starts[ln+1]
	}
	pool := editPool[r.IntN(len(editPool))]
	switch r.IntN(6) {
	case 0: // insert a line
		return ls, ls, pool + "\n"
	case 1: // delete a line
		return ls, le, ""
	case 2: // replace a line
		if le > ls && src[le-1] == '\n' {
			return ls, le - 1, pool
		}
		return ls, le, pool
	case 3: // type inside a line, or overtype a letter so the line keeps its length
		at := ls + r.IntN(le-ls+1)
		for at > ls && at < len(src) && !utf8.RuneStart(src[at]) {
			at--
		}
		if at < le && src[at] >= 'a' && src[at] <= 'z' && r.IntN(2) == 0 {
			return at, at + 1, string(rune('a' + r.IntN(26)))
		}
		return at, at, pool
	case 4: // join with the next line
		if le > ls && src[le-1] == '\n' {
			return le - 1, le, " "
		}
		return ls, ls, pool
	default: // duplicate a line
		return ls, ls, string(src[ls:le])
	}
}

// TestDocumentIncrementalSharedLine: an item's signature is its whole line,
// so editing one definition changes a neighbour's on the same line even
// though the neighbour's own subtree and span are untouched.
func TestDocumentIncrementalSharedLine(t *testing.T) {
	ctx := context.Background()
	src := []byte("package p\n\ntype A int; type B struct{ X, Y, Z int }\n\nfunc C() {}\n")
	d, err := NewDocument(ctx, "p.go", src)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if _, err := d.Outline(); err != nil {
		t.Fatal(err)
	}
	at := bytes.Index(src, []byte("Z int"))
	if err := d.Apply(ctx, at, at+len("Z"), []byte("Zed")); err != nil {
		t.Fatal(err)
	}
	got, _ := d.Outline()
	want, _ := Outline(ctx, "p.go", d.Source())
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("incremental outline\n%s\nfull parse\n%s", outlineText(got), outlineText(want))
	}
	if got[0].Signature != "type A int; type B struct{ X, Y, Zed int }" {
		t.Errorf("A's signature is %q", got[0].Signature)
	}
}

// TestDocumentIncrementalRandomEdits checks, over seeded random one-line
// edits (and their undos) to every fixture and a large Go file, that the
// incrementally kept outline and symbols equal a fresh full parse's, and
// that an item keeping its stamp only moved.
func TestDocumentIncrementalRandomEdits(t *testing.T) {
	ctx := context.Background()
	type doc struct {
		name string
		src  []byte
	}
	var docs []doc
	for _, fx := range loadFixtures(t) {
		docs = append(docs, doc{fx.src.Name, fx.src.Data}, doc{"broken-" + fx.broken.Name, fx.broken.Data})
	}
	big := tenThousandLines()
	docs = append(docs, doc{"big.go", big[:bytes.Index(big, []byte("func F300("))]})
	steps := 250
	if testing.Short() {
		steps = 60
	}
	for di, dc := range docs {
		t.Run(dc.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(uint64(di), 7))
			d, err := NewDocument(ctx, dc.name, dc.src)
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			prevItems, prevStamps, err := d.OutlineStamped()
			if err != nil {
				t.Fatal(err)
			}
			prevSrc := d.Source()
			for step := range steps {
				src := d.Source()
				start, end, text := randomEdit(r, src)
				if err := d.Apply(ctx, start, end, []byte(text)); err != nil {
					t.Fatal(err)
				}
				what := fmt.Sprintf("step %d: [%d,%d) -> %q", step, start, end, text)
				if r.IntN(4) == 0 { // undo, as an editor does
					if err := d.Apply(ctx, start, start+len(text), src[start:end]); err != nil {
						t.Fatal(err)
					}
					what += " and undone"
				}
				if r.IntN(5) == 0 {
					continue // several edits between two outlines
				}
				items, stamps, err := d.OutlineStamped()
				if err != nil {
					t.Fatal(err)
				}
				want, err := Outline(ctx, dc.name, d.Source())
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(items, want) {
					t.Fatalf("%s: incremental outline\n%s\nfull parse\n%s\nsource:\n%s", what, outlineText(items), outlineText(want), d.Source())
				}
				syms, _ := d.Symbols()
				wantSyms, _ := Symbols(ctx, dc.name, d.Source())
				if !reflect.DeepEqual(syms, wantSyms) {
					t.Fatalf("%s: incremental symbols %+v\nfull parse %+v", what, syms, wantSyms)
				}
				checkStamps(t, what, prevSrc, prevItems, prevStamps, d.Source(), items, stamps)
				prevSrc, prevItems, prevStamps = d.Source(), items, stamps
			}
		})
	}
}

func outlineText(items []OutlineItem) string {
	var b bytes.Buffer
	var walk func([]OutlineItem, string)
	walk = func(items []OutlineItem, ind string) {
		for _, it := range items {
			fmt.Fprintf(&b, "%s%s %s %v %v p%d %q\n", ind, it.Kind, it.Name, it.Range, it.NameRange, it.Parent, it.Signature)
			walk(it.Children, ind+"  ")
		}
	}
	walk(items, "")
	return b.String()
}

// checkStamps verifies the promise of OutlineStamped: an item whose stamp
// survived is the old one moved by whole lines, over the same line text.
func checkStamps(t *testing.T, what string, oldSrc []byte, old []OutlineItem, oldStamps []uint64, src []byte, cur []OutlineItem, stamps []uint64) {
	t.Helper()
	if len(stamps) != len(cur) {
		t.Fatalf("%s: %d stamps for %d items", what, len(stamps), len(cur))
	}
	byStamp := map[uint64]OutlineItem{}
	for i, s := range oldStamps {
		byStamp[s] = old[i]
	}
	seen := map[uint64]bool{}
	for i, s := range stamps {
		if seen[s] {
			t.Fatalf("%s: stamp %d twice", what, s)
		}
		seen[s] = true
		o, ok := byStamp[s]
		if !ok {
			continue
		}
		it := cur[i]
		dOff := it.Range.Start.Offset - o.Range.Start.Offset
		dLine := it.Range.Start.Line - o.Range.Start.Line
		moved := moveItem(o, dOff, dLine, 0)
		if !reflect.DeepEqual(withoutParents(moved), withoutParents(it)) {
			t.Fatalf("%s: item %s kept its stamp but changed:\n%s\nwas\n%s", what, it.Name, outlineText([]OutlineItem{it}), outlineText([]OutlineItem{o}))
		}
		if a, b := linesOf(oldSrc, o.Range), linesOf(src, it.Range); a != b {
			t.Fatalf("%s: item %s kept its stamp but its lines changed: %q to %q", what, it.Name, a, b)
		}
	}
}

func withoutParents(it OutlineItem) OutlineItem {
	it.Parent = 0
	if it.Children != nil {
		kids := make([]OutlineItem, len(it.Children))
		for i, c := range it.Children {
			kids[i] = withoutParents(c)
		}
		it.Children = kids
	}
	return it
}

// linesOf returns the whole lines r touches.
func linesOf(src []byte, r Range) string {
	s := bytes.LastIndexByte(src[:r.Start.Offset], '\n') + 1
	e := len(src)
	if i := bytes.IndexByte(src[r.End.Offset:], '\n'); i >= 0 {
		e = r.End.Offset + i
	}
	return string(src[s:e])
}

// TestSubtreeIdentity checks walk.h's reading of the runtime: after an edit,
// a root child reused by the incremental parse shows the same subtree
// value, and one parsed again (here with its span unchanged) a different
// one.
func TestSubtreeIdentity(t *testing.T) {
	ctx := context.Background()
	src := []byte("package p\n\nfunc A() int { return 1 }\n\nfunc B() int { return 1 }\n\nfunc C() int { return 1 }\n")
	d, err := NewDocument(ctx, "p.go", src)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	kidsOf := func() []topKid {
		var out []topKid
		if err := walkTop(d.tree, d.cl.outlineWant, d.cl.skip, true, nil, true, func(_ []walkRec, kids []topKid, _ uint16) {
			out = append(out, kids...)
		}); err != nil {
			t.Fatal(err)
		}
		return out
	}
	before := kidsOf()
	prev := d.tree.Copy() // keeps the old subtrees alive for the comparison
	defer prev.Close()
	at := bytes.Index(src, []byte("B() int { return 1")) + len("B() int { return ")
	if err := d.Apply(ctx, at, at+1, []byte("2")); err != nil {
		t.Fatal(err)
	}
	after := kidsOf()
	if len(after) != len(before) {
		t.Fatalf("%d children before the edit, %d after", len(before), len(after))
	}
	for i := range before {
		b, a := before[i], after[i]
		if a.start != b.start || a.end != b.end || a.sym != b.sym {
			t.Fatalf("child %d moved: %+v to %+v", i, b, a)
		}
		edited := bytes.Contains(d.Source()[a.start:a.end], []byte("B()"))
		if edited == (a.subtree == b.subtree) {
			t.Errorf("child %q: subtree %#x before, %#x after", d.Source()[a.start:a.end], b.subtree, a.subtree)
		}
	}
}
