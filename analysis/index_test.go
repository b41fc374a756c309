package analysis

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// writeTree writes files under a fresh temporary root and returns the root
// and the relative paths.
func writeTree(t *testing.T, files map[string]string) (string, []string) {
	t.Helper()
	root := t.TempDir()
	var paths []string
	for name, data := range files {
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, name)
	}
	return root, paths
}

func TestIndexDefinitionsAcrossLanguages(t *testing.T) {
	files := map[string]string{}
	for _, fx := range loadFixtures(t) {
		files[fx.src.Name] = string(fx.src.Data)
	}
	root, paths := writeTree(t, files)
	ix, err := BuildIndex(context.Background(), root, paths, Options{NoCache: true})
	if err != nil {
		t.Fatal(err)
	}
	if st := ix.Stats(); st.Files != len(files) || st.Parsed != len(files) || st.Skipped != 0 {
		t.Fatalf("stats %+v, want %d files all parsed", st, len(files))
	}
	checked := 0
	for _, f := range ix.Files() {
		want, err := Symbols(context.Background(), f.Path, []byte(files[f.Path]))
		if err != nil {
			t.Fatal(err)
		}
		if len(want) == 0 || len(f.Symbols) != len(want) {
			t.Fatalf("%s: index has %d symbols, Symbols() %d", f.Path, len(f.Symbols), len(want))
		}
		for _, s := range want {
			tests := []struct {
				mode  MatchMode
				query string
			}{
				{MatchExact, s.Name},
				{MatchIgnoreCase, strings.ToUpper(s.Name)},
				{MatchFuzzy, fuzzyQuery(s.Name)},
			}
			for _, tc := range tests {
				found := false
				for _, d := range ix.Definitions(tc.query, tc.mode, 0) {
					if d.Path == f.Path && d.NameRange == s.NameRange && d.Kind == s.Kind {
						found = true
					}
				}
				if !found {
					t.Errorf("Definitions(%q, %v) misses %s %s in %s", tc.query, tc.mode, s.Kind, s.Name, f.Path)
				}
				checked++
			}
		}
	}
	if got := ix.Definitions("NoSuchName", MatchExact, 0); len(got) != 0 {
		t.Errorf("unexpected definitions %v", got)
	}
	t.Logf("checked %d lookups", checked)
}

// fuzzyQuery keeps every other byte of a name: a subsequence, as typed in a hurry.
func fuzzyQuery(name string) string {
	var b strings.Builder
	for i := 0; i < len(name); i += 2 {
		b.WriteByte(name[i])
	}
	return b.String()
}

func TestFuzzyRanksClosestFirst(t *testing.T) {
	root, paths := writeTree(t, map[string]string{
		"a.go": "package a\nfunc NewServer() {}\nfunc ServeNewsEverywhere() {}\nfunc NewServerConfigFactory() {}\n",
	})
	ix, err := BuildIndex(context.Background(), root, paths, Options{NoCache: true})
	if err != nil {
		t.Fatal(err)
	}
	got := ix.Definitions("newserver", MatchFuzzy, 0)
	if len(got) != 2 || got[0].Name != "NewServer" || got[1].Name != "NewServerConfigFactory" {
		t.Fatalf("fuzzy order %v", got)
	}
}

// TestFuzzyOrderAndLimit: the one-pass fuzzy search answers what a table
// of lower-cased names did: best score first, then by lower-cased name,
// path and position; a limit keeps the best of them.
func TestFuzzyOrderAndLimit(t *testing.T) {
	root, paths := writeTree(t, map[string]string{
		"a.go": "package a\n\nfunc NewReader() {}\nfunc newReader() {}\nfunc NR() {}\ntype Reader struct{}\nfunc (Reader) Read() {}\nfunc Été() {}\nfunc NEWREADER() {}\n",
		"b.go": "package b\n\nfunc NewReader() {}\nfunc ReaderNew() {}\nfunc new_reader() {}\nvar nr, Nr, ÉTÉ int\n",
		"c.py": "def new_reader():\n    pass\nclass NewReaderFactory:\n    def read(self): pass\n",
	})
	ix, err := BuildIndex(context.Background(), root, paths, Options{NoCache: true})
	if err != nil {
		t.Fatal(err)
	}
	// The reference: every distinct lower-cased name, sorted, ranked by a
	// stable sort on the score, each name's symbols in index order.
	want := func(query string, limit int) []Definition {
		lower := map[string][]Definition{}
		var keys []string
		for _, f := range ix.Files() {
			for _, s := range f.Symbols {
				k := strings.ToLower(s.Name)
				if lower[k] == nil {
					keys = append(keys, k)
				}
				lower[k] = append(lower[k], Definition{Path: f.Path, Symbol: s})
			}
		}
		slices.Sort(keys)
		type scored struct {
			key   string
			score int
		}
		var ranked []scored
		for _, k := range keys {
			if sc, ok := fuzzyScore(strings.ToLower(query), k); ok {
				ranked = append(ranked, scored{k, sc})
			}
		}
		slices.SortStableFunc(ranked, func(a, b scored) int { return b.score - a.score })
		out := []Definition{}
		for _, r := range ranked {
			for _, d := range lower[r.key] {
				if limit > 0 && len(out) == limit {
					return out
				}
				out = append(out, d)
			}
		}
		return out
	}
	for _, query := range []string{"", "nr", "NewReader", "newreader", "read", "été", "ÉT", "zz"} {
		for _, limit := range []int{0, 1, 2, 3, 5, 100} {
			got := ix.Definitions(query, MatchFuzzy, limit)
			if w := want(query, limit); !reflect.DeepEqual(append([]Definition{}, got...), w) {
				t.Errorf("Definitions(%q, fuzzy, %d):\n got %v\nwant %v", query, limit, defNames(got), defNames(w))
			}
		}
	}
}

func defNames(defs []Definition) []string {
	var out []string
	for _, d := range defs {
		out = append(out, d.Path+":"+d.Name)
	}
	return out
}

func TestIndexReferences(t *testing.T) {
	root, paths := writeTree(t, map[string]string{
		"lib/util.go": "package lib\n\n// Helper in a comment\nfunc Helper() int { return 1 }\n",
		"main.go":     "package main\n\nfunc main() {\n\tx := lib.Helper()\n\t_ = \"Helper\"\n\t_ = x\n\tf := lib.Helper\n\t_ = f\n}\n",
		"other.go":    "package main\n\nfunc other() {}\n",
	})
	ix, err := BuildIndex(context.Background(), root, paths, Options{NoCache: true})
	if err != nil {
		t.Fatal(err)
	}
	refs, err := ix.References(context.Background(), "Helper")
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		kind RefKind
		line int
		col  int
	}{{RefCall, 3, 10}, {RefReference, 6, 10}}
	if len(refs) != len(want) {
		t.Fatalf("refs %+v, want %d", refs, len(want))
	}
	for i, w := range want {
		r := refs[i]
		if r.Path != "main.go" || r.Kind != w.kind || r.Range.Start.Line != w.line || r.Range.Start.Column != w.col {
			t.Errorf("ref %d = %+v, want %v at %d:%d", i, r, w.kind, w.line, w.col)
		}
	}
}

func TestCacheReparsesOnlyChangedFiles(t *testing.T) {
	root, paths := writeTree(t, map[string]string{
		"a.go":          "package a\nfunc A() {}\n",
		"b.py":          "def b():\n    pass\n",
		"c.rs":          "fn c() {}\n",
		"tool":          "#!/usr/bin/env python3\ndef tool():\n    pass\n",
		"README":        "no shebang here\n",
		"notes.txt":     "unsupported extension\n",
		"sub/d.ts":      "export function d() {}\n",
		"sub/e.rb":      "def e; end\n",
		"sub/gone.java": "class Gone {}\n",
	})
	cacheDir := t.TempDir()
	opts := Options{CacheDir: cacheDir}
	ctx := context.Background()

	first, err := BuildIndex(ctx, root, paths, opts)
	if err != nil {
		t.Fatal(err)
	}
	st := first.Stats()
	if st.Files != 7 || st.Parsed != 7 || st.Reused != 0 || !st.CacheSaved || st.CacheError != "" {
		t.Fatalf("cold stats %+v", st)
	}
	if f := first.File("tool"); f == nil || f.Language != "python" || len(f.Symbols) != 1 {
		t.Fatalf("shebang script not indexed: %+v", f)
	}

	second, err := BuildIndex(ctx, root, paths, opts)
	if err != nil {
		t.Fatal(err)
	}
	if st := second.Stats(); st.Parsed != 0 || st.Reused != 7 || !st.CacheLoaded || st.CacheSaved {
		t.Fatalf("warm stats %+v", st)
	}
	if got, want := second.Definitions("tool", MatchExact, 0), first.Definitions("tool", MatchExact, 0); len(got) != 1 || got[0] != want[0] {
		t.Fatalf("cached definition %+v differs from parsed %+v", got, want)
	}

	// Same size, new content and modification time: only this file is reparsed.
	changed := filepath.Join(root, "a.go")
	if err := os.WriteFile(changed, []byte("package a\nfunc Z() {}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	later := time.Now().Add(2 * time.Second)
	if err := os.Chtimes(changed, later, later); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(root, "sub/gone.java")); err != nil {
		t.Fatal(err)
	}
	third, err := BuildIndex(ctx, root, paths, opts)
	if err != nil {
		t.Fatal(err)
	}
	if st := third.Stats(); st.Parsed != 1 || st.Reused != 5 || st.Files != 6 || !st.CacheSaved {
		t.Fatalf("incremental stats %+v", st)
	}
	if len(third.Definitions("Z", MatchExact, 0)) != 1 || len(third.Definitions("A", MatchExact, 0)) != 0 {
		t.Fatal("changed file not reindexed")
	}
	if len(third.Definitions("d", MatchExact, 0)) != 1 {
		t.Fatal("reused entry lost its symbols")
	}
	fourth, err := BuildIndex(ctx, root, paths, opts)
	if err != nil {
		t.Fatal(err)
	}
	if st := fourth.Stats(); st.Parsed != 0 || st.Reused != 6 {
		t.Fatalf("stats after rewrite %+v", st)
	}
}

func TestCacheSurvivesDamageAndMissingHome(t *testing.T) {
	root, paths := writeTree(t, map[string]string{"a.go": "package a\nfunc A() {}\n"})
	cacheDir := t.TempDir()
	ctx := context.Background()
	ix, err := BuildIndex(ctx, root, paths, Options{CacheDir: cacheDir})
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(ix.Stats().CachePath)
	if err != nil {
		t.Fatal(err)
	}
	for _, damaged := range [][]byte{data[:len(data)/2], append(bytes.Clone(data), 0xff), []byte("garbage")} {
		if err := os.WriteFile(ix.Stats().CachePath, damaged, 0o644); err != nil {
			t.Fatal(err)
		}
		again, err := BuildIndex(ctx, root, paths, Options{CacheDir: cacheDir})
		if err != nil {
			t.Fatal(err)
		}
		if st := again.Stats(); st.CacheLoaded || st.CacheError == "" || st.Parsed != 1 || len(again.Definitions("A", MatchExact, 0)) != 1 {
			t.Fatalf("damaged cache: stats %+v", st)
		}
	}

	// A cache from another Loom version, or for other options, is rebuilt
	// without being reported as a problem.
	if _, err := BuildIndex(ctx, root, paths, Options{CacheDir: cacheDir}); err != nil {
		t.Fatal(err)
	}
	older := append([]byte(cacheFamily+"\x02"), data[len(cacheMagic):]...)
	for _, c := range []struct {
		name  string
		write []byte
		opts  Options
	}{
		{"older format", older, Options{CacheDir: cacheDir}},
		{"other options", nil, Options{CacheDir: cacheDir, MaxLineLength: 999}},
	} {
		if c.write != nil {
			if err := os.WriteFile(ix.Stats().CachePath, c.write, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		again, err := BuildIndex(ctx, root, paths, c.opts)
		if err != nil {
			t.Fatal(err)
		}
		if st := again.Stats(); st.CacheLoaded || st.CacheError != "" || st.Parsed != 1 || !st.CacheSaved {
			t.Fatalf("%s: stats %+v", c.name, st)
		}
	}

	t.Setenv("HOME", "")
	t.Setenv("XDG_CACHE_HOME", "")
	ix, err = BuildIndex(ctx, root, paths, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if st := ix.Stats(); st.CachePath != "" || st.CacheSaved || st.Parsed != 1 {
		t.Fatalf("without HOME: %+v", st)
	}
}

func TestIndexSurvivesHostileFiles(t *testing.T) {
	var minified bytes.Buffer
	for minified.Len() < 10<<20 {
		minified.WriteString("var a=function(b){return b*2};if(a(1)){console.log('x')}")
	}
	// Under the size cap but a single enormous line.
	oneLine := strings.Repeat("x=1;", 64<<10)
	invalid := []byte("package bad\n\nfunc Good() {}\n\nvar s = \"\xff\xfe\xc3\x28\"\n\nfunc \xe2\x28\xa1() {}\n\nfunc After() {}\n")
	root, paths := writeTree(t, map[string]string{
		"dist/bundle.min.js": minified.String(),
		"dist/one.js":        oneLine,
		"bad.go":             string(invalid),
		"blob.c":             "int x;\x00\x01\x02binary",
		"ok.js":              "function ok() {}\n",
	})
	// The deadline only guards against a hang: the index must end, not
	// meet a time on a loaded machine.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ix, err := BuildIndex(ctx, root, paths, Options{NoCache: true})
	if err != nil {
		t.Fatal(err)
	}
	skipped := map[string]string{}
	for _, f := range ix.Files() {
		skipped[f.Path] = f.Skipped
	}
	want := map[string]string{
		"dist/bundle.min.js": "too large",
		"dist/one.js":        "minified",
		"blob.c":             "binary",
		"bad.go":             "",
		"ok.js":              "",
	}
	for p, reason := range want {
		if got, ok := skipped[p]; !ok || got != reason {
			t.Errorf("%s: skipped=%q (present %v), want %q", p, got, ok, reason)
		}
	}
	for _, name := range []string{"Good", "After", "ok"} {
		if len(ix.Definitions(name, MatchExact, 0)) != 1 {
			t.Errorf("definition %s missing", name)
		}
	}
	// The per-file functions must cope with the same bytes.
	if _, err := Outline(ctx, "bad.go", invalid); err != nil {
		t.Fatal(err)
	}
	// The first megabyte of the bundle is the same kind of line; the whole
	// of it takes seconds of CPU to parse, which on a loaded machine
	// passes the parse timeout (a wall-clock bound in tree-sitter).
	if _, err := CheckSyntax(ctx, "bundle.min.js", minified.Bytes()[:1<<20]); err != nil {
		t.Fatal(err)
	}
}

func TestLanguageDetection(t *testing.T) {
	tests := []struct {
		path, src, want string
	}{
		{"a.go", "", "go"},
		{"A.PY", "", "python"},
		{"x.tsx", "", "tsx"},
		{"x.h", "", "cpp"},
		{"x.txt", "#!/usr/bin/env python3\n", ""},
		{"script", "#!/usr/bin/env python3\n", "python"},
		{"script", "#!/usr/bin/python3.12 -u\n", "python"},
		{"script", "#!/usr/bin/env -S node --no-warnings\n", "javascript"},
		{"script", "#!/usr/bin/ruby\n", "ruby"},
		{"script", "#!/bin/sh\n", ""},
		{"script", "#!", ""},
		{"script", "no shebang", ""},
	}
	for _, tc := range tests {
		if got := DetectLanguage(tc.path, []byte(tc.src)); got != tc.want {
			t.Errorf("DetectLanguage(%q, %q) = %q, want %q", tc.path, tc.src, got, tc.want)
		}
	}
	if _, err := Outline(context.Background(), "x.txt", []byte("x")); err == nil {
		t.Error("unsupported file accepted")
	}
}

// TestListDefinitions: the listing read from the cache's bodies is the
// one the decoded symbols give, before and after they are decoded, warm
// and cold.
func TestListDefinitions(t *testing.T) {
	root, paths := writeTree(t, map[string]string{
		"a.go":     "package a\n\ntype T struct{ F int }\n\nfunc (T) M() {}\n\nconst C = 1\n",
		"b/b.py":   "class K:\n    def m(self): pass\n\ndef f(): pass\n",
		"c/c.rs":   "struct S;\nimpl S { fn new() -> S { S } }\nenum E { A, B }\n",
		"empty.go": "package a\n",
	})
	opts := Options{CacheDir: t.TempDir()}
	ctx := context.Background()
	list := func(ix *Index) []string {
		var out []string
		err := ix.ListDefinitions(func(path string, defs []Brief) error {
			for _, d := range defs {
				out = append(out, fmt.Sprintf("%s:%d %s %s", path, d.Line, d.Kind, d.Name))
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	decoded := func(ix *Index) []string {
		var out []string
		for _, f := range ix.Files() {
			for _, s := range f.Symbols {
				out = append(out, fmt.Sprintf("%s:%d %s %s", f.Path, s.NameRange.Start.Line, s.Kind, s.Name))
			}
		}
		return out
	}
	cold, err := BuildIndex(ctx, root, paths, opts)
	if err != nil {
		t.Fatal(err)
	}
	want := decoded(cold)
	if len(want) < 8 {
		t.Fatalf("too few definitions: %v", want)
	}
	if got := list(cold); !reflect.DeepEqual(got, want) {
		t.Errorf("cold listing:\n%v\nwant\n%v", got, want)
	}
	warm, err := BuildIndex(ctx, root, paths, opts)
	if err != nil {
		t.Fatal(err)
	}
	if st := warm.Stats(); st.Reused != 4 {
		t.Fatalf("warm build: %+v", st)
	}
	if got := list(warm); !reflect.DeepEqual(got, want) {
		t.Errorf("warm listing:\n%v\nwant\n%v", got, want)
	}
	if got := decoded(warm); !reflect.DeepEqual(got, want) {
		t.Errorf("decoded after the listing:\n%v\nwant\n%v", got, want)
	}
	if got := list(warm); !reflect.DeepEqual(got, want) {
		t.Errorf("listing after decoding:\n%v\nwant\n%v", got, want)
	}
	stop := errors.New("stop")
	if err := warm.ListDefinitions(func(string, []Brief) error { return stop }); err != stop {
		t.Errorf("ListDefinitions = %v, want fn's error", err)
	}
}

// TestFuzzyOnCachedBodies: a warm index answers fuzzy queries from the
// cache's bodies in place, as a decoded one does, and decodes what it
// answers with; the rest decodes later all the same.
func TestFuzzyOnCachedBodies(t *testing.T) {
	root, paths := writeTree(t, map[string]string{
		"a.go":   "package a\n\nfunc NewReader() {}\nfunc newReader() {}\ntype Reader struct{ R int }\n",
		"b/b.go": "package b\n\nfunc NewReader() {}\nfunc ReaderNew() {}\nvar nr int\n",
		"c.py":   "def new_reader():\n    pass\nclass NewReaderFactory:\n    def read(self): pass\n",
	})
	opts := Options{CacheDir: t.TempDir()}
	ctx := context.Background()
	cold, err := BuildIndex(ctx, root, paths, opts)
	if err != nil {
		t.Fatal(err)
	}
	for _, query := range []string{"", "nr", "NewReader", "read", "zz"} {
		for _, limit := range []int{0, 1, 3} {
			warm, err := BuildIndex(ctx, root, paths, opts)
			if err != nil {
				t.Fatal(err)
			}
			if warm.decoded.Load() {
				t.Fatal("a warm build decoded its bodies")
			}
			got := warm.Definitions(query, MatchFuzzy, limit)
			if want := cold.Definitions(query, MatchFuzzy, limit); !reflect.DeepEqual(append([]Definition{}, got...), append([]Definition{}, want...)) {
				t.Errorf("Definitions(%q, fuzzy, %d) warm:\n got %v\nwant %v", query, limit, defNames(got), defNames(want))
			}
			if !reflect.DeepEqual(warm.Files(), cold.Files()) {
				t.Errorf("%q: the files decoded after a fuzzy query differ", query)
			}
		}
	}
}

// TestCachedBodiesConcurrently: fuzzy queries, listings and decoding on
// one warm index from several goroutines (run with -race).
func TestCachedBodiesConcurrently(t *testing.T) {
	files := map[string]string{}
	for i := range 40 {
		files[fmt.Sprintf("p%d/f.go", i)] = fmt.Sprintf("package p\n\nfunc NewReader%d() {}\ntype R%d struct{}\n", i, i)
	}
	root, paths := writeTree(t, files)
	opts := Options{CacheDir: t.TempDir()}
	ctx := context.Background()
	if _, err := BuildIndex(ctx, root, paths, opts); err != nil {
		t.Fatal(err)
	}
	warm, err := BuildIndex(ctx, root, paths, opts)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan int, 4)
	go func() { done <- len(warm.Definitions("newreader", MatchFuzzy, 5)) }()
	go func() {
		n := 0
		warm.ListDefinitions(func(_ string, defs []Brief) error { n += len(defs); return nil })
		done <- n
	}()
	go func() { done <- len(warm.Files()) }()
	go func() { done <- len(warm.Definitions("R7", MatchExact, 0)) }()
	got := map[int]bool{}
	for range 4 {
		got[<-done] = true
	}
	if !got[5] || !got[80] || !got[40] || !got[1] {
		t.Errorf("results %v, want 5 fuzzy, 80 listed, 40 files, 1 exact", got)
	}
}

// TestBuildIndexIfLeavesTheCacheToRefresh: a build from a list found stale
// meanwhile (BuildIndexIf's current false) does not write the disk cache
// though a file changed; the Refresh with the new list writes it, once,
// and the next build reuses every entry. With current true it writes as
// BuildIndex does.
func TestBuildIndexIfLeavesTheCacheToRefresh(t *testing.T) {
	root, paths := writeTree(t, map[string]string{"a.go": "package a\nfunc A() {}\n", "b.go": "package b\nfunc B() {}\n"})
	opts := Options{CacheDir: t.TempDir()}
	ctx := context.Background()
	if _, err := BuildIndex(ctx, root, paths, opts); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "a.go"), []byte("package a\nfunc A2() {}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "c.go"), []byte("package c\nfunc C() {}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	asked := 0
	stale, err := BuildIndexIf(ctx, root, paths, opts, func() bool { asked++; return false })
	if err != nil {
		t.Fatal(err)
	}
	if st := stale.Stats(); asked != 1 || st.CacheSaved || st.Parsed != 1 || len(stale.Definitions("A2", MatchExact, 0)) != 1 {
		t.Fatalf("stale build: asked %d, stats %+v", asked, st)
	}
	fresh, err := stale.Refresh(ctx, append(paths, "c.go"))
	if err != nil {
		t.Fatal(err)
	}
	if st := fresh.Stats(); !st.CacheSaved || st.Parsed != 1 || st.Files != 3 {
		t.Fatalf("refresh after a stale build: %+v", st)
	}
	next, err := BuildIndexIf(ctx, root, append(paths, "c.go"), opts, func() bool { t.Error("asked with nothing to write"); return true })
	if err != nil {
		t.Fatal(err)
	}
	if st := next.Stats(); st.Parsed != 0 || st.Reused != 3 || st.CacheSaved {
		t.Fatalf("the build after: %+v", st)
	}
}
