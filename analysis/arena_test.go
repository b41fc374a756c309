package analysis

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	sitter "github.com/smacker/go-tree-sitter"
)

// TestParseWalkMatchesTreeWalk checks the index's one-call parse and
// direct walk in an arena against the binding's parse and the cursor walk,
// record for record: with room to spare, and with a limit so small that
// the parse spills to the heap and is freed object by object.
func TestParseWalkMatchesTreeWalk(t *testing.T) {
	type source struct {
		path string
		src  []byte
	}
	var sources []source
	for _, fx := range loadFixtures(t) {
		sources = append(sources, source{fx.src.Name, fx.src.Data}, source{fx.broken.Name, fx.broken.Data})
	}
	// A large file, so the arena grows past its first chunk.
	big := filepath.Join(runtime.GOROOT(), "src", "go", "types", "expr.go")
	if src, err := os.ReadFile(big); err == nil {
		sources = append(sources, source{big, src})
	}
	sources = append(sources, source{"empty.go", nil}, source{"bad.py", []byte("def f(:\n\x00\xff\xfe")})

	roomy, err := newParseArena(arenaLimit)
	if err != nil {
		t.Fatal(err)
	}
	defer roomy.close()
	tiny, err := newParseArena(4 << 10)
	if err != nil {
		t.Fatal(err)
	}
	defer tiny.close()
	p := sitter.NewParser()
	defer p.Close()
	ctx := context.Background()

	for _, s := range sources {
		cl, err := compiledFor(s.path, s.src)
		if err != nil {
			t.Fatalf("%s: %v", s.path, err)
		}
		for _, withRefs := range []bool{false, true} {
			want, prune := analysisWant(cl, withRefs)
			tree, err := parseSource(ctx, p, cl, s.src, nil, 0)
			if err != nil {
				t.Fatalf("%s: %v", s.path, err)
			}
			var expected []walkRec
			if err := walkTreeWith(true, tree, want, cl.skip, prune, func(recs []walkRec) { expected = slices.Clone(recs) }); err != nil {
				t.Fatal(err)
			}
			var direct []walkRec
			if err := walkTreeWith(false, tree, want, cl.skip, prune, func(recs []walkRec) { direct = slices.Clone(recs) }); err != nil {
				t.Fatal(err)
			}
			tree.Close()
			if !slices.Equal(direct, expected) {
				t.Fatalf("%s (refs %v): the direct walk gives %d records, the cursor %d", s.path, withRefs, len(direct), len(expected))
			}
			if len(expected) == 0 && withRefs && len(s.src) > 0 {
				t.Fatalf("%s: the walk recorded nothing", s.path)
			}
			for name, a := range map[string]*parseArena{"roomy": roomy, "tiny": tiny} {
				for range 2 { // the second run reuses the reset arena
					var got []walkRec
					if err := a.parseWalk(cl, s.src, 0, want, cl.skip, prune, func(recs []walkRec) { got = slices.Clone(recs) }); err != nil {
						t.Fatalf("%s (%s arena): %v", s.path, name, err)
					}
					if !slices.Equal(got, expected) {
						t.Fatalf("%s (%s arena, refs %v): %d records, want %d", s.path, name, withRefs, len(got), len(expected))
					}
				}
			}
		}
	}
}

// TestParseWalkTimesOut gives a parse no time at all: it fails with a
// clear error, and the arena serves the next parse.
func TestParseWalkTimesOut(t *testing.T) {
	a, err := newParseArena(arenaLimit)
	if err != nil {
		t.Fatal(err)
	}
	defer a.close()
	cl, err := compiled("go")
	if err != nil {
		t.Fatal(err)
	}
	src := []byte("package p\n" + strings.Repeat("func f() { x := []int{1, 2, 3}; _ = x }\n", 20000))
	err = a.parseWalk(cl, src, time.Microsecond, cl.want, cl.skip, false, func([]walkRec) {})
	if err == nil || !strings.Contains(err.Error(), "timed out") {
		t.Fatalf("err = %v, want a timeout", err)
	}
	n := 0
	if err := a.parseWalk(cl, src[:200], 0, cl.want, cl.skip, false, func(recs []walkRec) { n = len(recs) }); err != nil || n == 0 {
		t.Fatalf("after a timeout: %d records, %v", n, err)
	}
}
