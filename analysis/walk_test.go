package analysis

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strings"
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

// TestWalksAgreeOnGoroot holds the subtree walks (over a binding tree and
// in an arena) to the cursor walk on real code: the Go files under
// $GOROOT/src/go and every file of another supported language in
// $GOROOT/src (C, C++ headers, JavaScript, Python).
func TestWalksAgreeOnGoroot(t *testing.T) {
	if testing.Short() {
		t.Skip("parses a thousand files")
	}
	root := filepath.Join(runtime.GOROOT(), "src")
	p := sitter.NewParser()
	defer p.Close()
	a, err := newParseArena(arenaLimit)
	if err != nil {
		t.Fatal(err)
	}
	defer a.close()
	per := map[string]int{}
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		lang, ok := LanguageForPath(path)
		rel, _ := filepath.Rel(root, path)
		if !ok || (lang == "go" && !strings.HasPrefix(rel, "go"+string(filepath.Separator))) {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		cl, err := compiled(lang)
		if err != nil {
			return err
		}
		tree, err := parseSource(context.Background(), p, cl, src, nil, 0)
		if err != nil {
			return nil // too slow to parse: not this test's concern
		}
		defer tree.Close()
		per[lang]++
		var cursor, direct, arena []walkRec
		for _, w := range []struct {
			dst    *[]walkRec
			cursor bool
		}{{&cursor, true}, {&direct, false}} {
			if err := walkTreeWith(w.cursor, tree, cl.want, cl.skip, false, func(r []walkRec) { *w.dst = slices.Clone(r) }); err != nil {
				return err
			}
		}
		if err := a.parseWalk(cl, src, 0, cl.want, cl.skip, false, func(r []walkRec) { arena = slices.Clone(r) }); err != nil {
			return err
		}
		if !slices.Equal(direct, cursor) || !slices.Equal(arena, cursor) {
			t.Errorf("%s: the cursor walk records %d nodes, the direct walk %d, the arena walk %d", rel, len(cursor), len(direct), len(arena))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if per["go"] < 100 || per["c"] == 0 {
		t.Fatalf("too few files compared: %v", per)
	}
	t.Logf("files compared: %v", per)
}
