package analysis

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"testing"

	sitter "github.com/smacker/go-tree-sitter"
)

// TestDirectTopWalkMatchesCursor compares the outline's top-level walk
// over subtrees with the cursor walk: entering every child of the root,
// none (all known), and all but every third.
func TestDirectTopWalkMatchesCursor(t *testing.T) {
	type source struct {
		path string
		src  []byte
	}
	var sources []source
	for _, fx := range loadFixtures(t) {
		sources = append(sources, source{fx.src.Name, fx.src.Data}, source{fx.broken.Name, fx.broken.Data})
	}
	big := filepath.Join(runtime.GOROOT(), "src", "go", "types", "expr.go")
	if src, err := os.ReadFile(big); err == nil {
		sources = append(sources, source{big, src})
	}
	p := sitter.NewParser()
	defer p.Close()
	type result struct {
		recs    []walkRec
		kids    []topKid
		rootSym uint16
	}
	walk := func(cursor bool, tree *sitter.Tree, cl *compiledLang, old []topKid, all bool) result {
		var r result
		err := walkTopWith(cursor, tree, cl.outlineWant, cl.skip, true, old, all, func(recs []walkRec, kids []topKid, rootSym uint16) {
			r = result{slices.Clone(recs), slices.Clone(kids), rootSym}
		})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	for _, s := range sources {
		cl, err := compiledFor(s.path, s.src)
		if err != nil {
			t.Fatal(err)
		}
		tree, err := parseSource(context.Background(), p, cl, s.src, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		every := walk(true, tree, cl, nil, true)
		if len(every.kids) == 0 {
			t.Fatalf("%s: no children of the root", s.path)
		}
		var some []topKid
		for i, k := range every.kids {
			if i%3 != 0 {
				some = append(some, k)
			}
		}
		for _, c := range []struct {
			name string
			old  []topKid
			all  bool
		}{{"all", nil, true}, {"known", every.kids, false}, {"some known", some, false}} {
			want := walk(true, tree, cl, c.old, c.all)
			got := walk(false, tree, cl, c.old, c.all)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("%s (%s): direct walk gives %d records, %d children; cursor %d, %d",
					s.path, c.name, len(got.recs), len(got.kids), len(want.recs), len(want.kids))
			}
		}
		tree.Close()
	}
}
