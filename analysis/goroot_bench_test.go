package analysis

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	sitter "github.com/smacker/go-tree-sitter"
)

// goFilesUnder lists the .go files below root, relative to it.
func goFilesUnder(b *testing.B, root string) []string {
	var files []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && filepath.Ext(p) == ".go" {
			rel, _ := filepath.Rel(root, p)
			files = append(files, rel)
		}
		return nil
	})
	if err != nil || len(files) == 0 {
		b.Skipf("no Go sources under %s: %v", root, err)
	}
	return files
}

// BenchmarkBuildIndexGOROOT indexes $GOROOT/src: cold (no cache, every file
// parsed) and warm (cache present, nothing changed: stat and load only).
// Compare with: time ctags -R --languages=Go -f /tmp/tags $(go env GOROOT)/src
func BenchmarkBuildIndexGOROOT(b *testing.B) {
	root := filepath.Join(runtime.GOROOT(), "src")
	files := goFilesUnder(b, root)
	ctx := context.Background()
	b.Run("cold", func(b *testing.B) {
		for b.Loop() {
			ix, err := BuildIndex(ctx, root, files, Options{NoCache: true})
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(ix.Stats().Symbols), "symbols")
		}
	})
	// The floor under "cold": tree-sitter parsing alone, with as many
	// workers, freeing each tree, extracting nothing.
	b.Run("parse-only", func(b *testing.B) {
		cl, err := compiled("go")
		if err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			err := parallel(ctx, runtime.GOMAXPROCS(0), len(files), func(_ int, next func() (int, bool)) {
				p := sitter.NewParser()
				defer p.Close()
				for i, ok := next(); ok; i, ok = next() {
					src, err := os.ReadFile(filepath.Join(root, files[i]))
					if err != nil {
						continue
					}
					if t, err := parseSource(ctx, p, cl, src, nil, 0); err == nil {
						t.Close()
					}
				}
			})
			if err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("warm", func(b *testing.B) {
		warmIndex(b, root, files, func(ix *Index) {
			if st := ix.Stats(); st.Parsed != 0 {
				b.Fatalf("warm run parsed %d files", st.Parsed)
			}
		})
	})
}

// BenchmarkFirstWorkspaceSymbolGOROOT is what `loom lsp` does before its
// first workspace/symbol answer on $GOROOT/src with the disk cache warm:
// load the index, then the fuzzy search that needs every name.
func BenchmarkFirstWorkspaceSymbolGOROOT(b *testing.B) {
	warmGOROOT(b, func(ix *Index) {
		if defs := ix.Definitions("NewReader", MatchFuzzy, 256); len(defs) == 0 {
			b.Fatal("no definitions")
		}
	})
}

// BenchmarkListDefinitionsGOROOT is `loom analyze symbols` on $GOROOT/src
// with the disk cache warm: load the index, list every definition.
func BenchmarkListDefinitionsGOROOT(b *testing.B) {
	warmGOROOT(b, func(ix *Index) {
		n := 0
		err := ix.ListDefinitions(func(_ string, defs []Brief) error { n += len(defs); return nil })
		if err != nil || n != ix.Stats().Symbols {
			b.Fatalf("listed %d of %d: %v", n, ix.Stats().Symbols, err)
		}
	})
}

// warmGOROOT is warmIndex on $GOROOT/src's Go files.
func warmGOROOT(b *testing.B, use func(*Index)) {
	root := filepath.Join(runtime.GOROOT(), "src")
	warmIndex(b, root, goFilesUnder(b, root), use)
}

// warmIndex builds the index of files once into a fresh disk cache, then
// times loading it from that cache and use on each.
func warmIndex(b *testing.B, root string, files []string, use func(*Index)) {
	ctx := context.Background()
	opts := Options{CacheDir: b.TempDir()}
	if _, err := BuildIndex(ctx, root, files, opts); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		ix, err := BuildIndex(ctx, root, files, opts)
		if err != nil {
			b.Fatal(err)
		}
		use(ix)
	}
}
