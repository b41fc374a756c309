package analysis

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestRepoMapKeptBesideTheCache: a process that finds the index unchanged
// reads the map back without decoding a cached body; a changed file, a
// damaged maps file or another budget make it compute the map again, the
// same as one computed from scratch.
func TestRepoMapKeptBesideTheCache(t *testing.T) {
	files := map[string]string{
		"util.go": "package p\n\nfunc ParseConfigFile(path string) error { return nil }\n",
		"a.go":    "package p\n\nfunc A() { _ = ParseConfigFile(\"x\") }\n",
		"b.go":    "package p\n\nfunc B() { _ = ParseConfigFile(\"y\") }\n",
	}
	root, paths := writeTree(t, files)
	opts := Options{CacheDir: t.TempDir()}
	ctx := context.Background()
	build := func() *Index {
		t.Helper()
		ix, err := BuildIndex(ctx, root, paths, opts)
		if err != nil {
			t.Fatal(err)
		}
		return ix
	}
	fresh := func(tokens int) string {
		t.Helper()
		ix, err := BuildIndex(ctx, root, paths, Options{NoCache: true})
		if err != nil {
			t.Fatal(err)
		}
		return ix.RepoMap(RepoMapOptions{MaxTokens: tokens})
	}
	lazy := func(ix *Index) bool {
		for _, f := range ix.all {
			if f.lazy == nil {
				return false
			}
		}
		return true
	}

	first := build().RepoMap(RepoMapOptions{MaxTokens: 1024})
	if first != fresh(1024) || !strings.Contains(first, "ParseConfigFile") {
		t.Fatalf("first map:\n%s", first)
	}
	warm := build()
	if got := warm.RepoMap(RepoMapOptions{MaxTokens: 1024}); got != first {
		t.Fatalf("kept map:\n%s\nwant:\n%s", got, first)
	}
	if !lazy(warm) {
		t.Fatal("the kept map was computed again: bodies were decoded")
	}
	if got, want := warm.RepoMap(RepoMapOptions{MaxTokens: 8}), fresh(8); got != want {
		t.Fatalf("another budget: %q, want %q", got, want)
	}

	// A file changes: the map is computed again and shows it.
	later := time.Now().Add(time.Second)
	p := filepath.Join(root, "b.go")
	// The same size: only the time tells.
	if err := os.WriteFile(p, []byte("package p\n\nfunc C() { _ = ParseConfigFile(\"z\") }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	os.Chtimes(p, later, later)
	changed := build().RepoMap(RepoMapOptions{MaxTokens: 1024})
	if changed != fresh(1024) || !strings.Contains(changed, "func C()") {
		t.Fatalf("map after a change:\n%s", changed)
	}

	// A damaged maps file is ignored and replaced.
	maps, _ := filepath.Glob(filepath.Join(opts.CacheDir, "*.maps"))
	if len(maps) != 1 {
		t.Fatalf("maps files: %v", maps)
	}
	for _, junk := range []string{"LOOMMAP\x01" + strings.Repeat("\xff", 40), "LOOMMAP\x01short", "garbage"} {
		if err := os.WriteFile(maps[0], []byte(junk), 0o600); err != nil {
			t.Fatal(err)
		}
		if got := build().RepoMap(RepoMapOptions{MaxTokens: 1024}); got != changed {
			t.Fatalf("with a damaged maps file %q:\n%s", junk, got)
		}
	}
}

// TestKeptMapsBounded: however many budgets are asked for, the file keeps
// the most recent few.
func TestKeptMapsBounded(t *testing.T) {
	root, paths := writeTree(t, map[string]string{"a.go": "package p\n\nfunc A() {}\n"})
	opts := Options{CacheDir: t.TempDir()}
	ix, err := BuildIndex(context.Background(), root, paths, opts)
	if err != nil {
		t.Fatal(err)
	}
	for tokens := 1; tokens <= 3*maxKeptMaps; tokens++ {
		ix.RepoMap(RepoMapOptions{MaxTokens: tokens})
	}
	if n := len(readMaps(ix.mapsFile())); n != maxKeptMaps {
		t.Fatalf("%d maps kept, want %d", n, maxKeptMaps)
	}
}
