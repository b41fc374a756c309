package analysis

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
)

// defs lists every definition of ix as "path:name", sorted.
func defs(ix *Index) []string {
	var out []string
	for _, f := range ix.Files() {
		for _, s := range f.Symbols {
			out = append(out, f.Path+":"+s.Name)
		}
	}
	slices.Sort(out)
	return out
}

// TestUpdateMatchesFreshBuild: after a change on disk, Changed names the
// files that moved, and Update of the changed files gives the index a
// fresh build would, while the old index keeps its answers.
func TestUpdateMatchesFreshBuild(t *testing.T) {
	base := map[string]string{
		"a.go":     "package a\n\nfunc Alpha() {}\n",
		"b.py":     "def beta():\n    pass\n",
		"sub/c.go": "package sub\n\nfunc Gamma() {}\n",
	}
	tests := []struct {
		name    string
		write   map[string]string // "" removes
		update  []string          // what Update is told
		changed []string          // what Changed must find
	}{
		{"modified", map[string]string{"a.go": "package a\n\nfunc AlphaTwo() {}\n"}, []string{"a.go"}, []string{"a.go"}},
		{"deleted", map[string]string{"b.py": ""}, []string{"b.py"}, []string{"b.py"}},
		{"created", map[string]string{"sub/d.go": "package sub\n\nfunc Delta() {}\n"}, []string{"sub/d.go"}, nil},
		{"unsupported and escaping names", map[string]string{"notes.txt": "x"}, []string{"notes.txt", "../a.go", "/etc/passwd"}, nil},
		{"several", map[string]string{"a.go": "", "sub/c.go": "package sub\n\nfunc Gamma() {}\nfunc Eta() {}\n", "e.go": "package a\n\nvar Epsilon = 1\n"},
			[]string{"a.go", "sub/c.go", "e.go"}, []string{"a.go", "sub/c.go"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			root, paths := writeTree(t, base)
			old, err := BuildIndex(ctx, root, paths, Options{NoCache: true})
			if err != nil {
				t.Fatal(err)
			}
			before := defs(old)
			for name, data := range tc.write {
				p := filepath.Join(root, filepath.FromSlash(name))
				if data == "" {
					err = os.Remove(p)
				} else {
					err = os.WriteFile(p, []byte(data), 0o644)
				}
				if err != nil {
					t.Fatal(err)
				}
				if data != "" && !slices.Contains(paths, name) {
					paths = append(paths, name)
				}
			}
			changed, err := old.Changed(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(changed, tc.changed) {
				t.Errorf("Changed = %v, want %v", changed, tc.changed)
			}
			got, err := old.Update(ctx, tc.update)
			if err != nil {
				t.Fatal(err)
			}
			fresh, err := BuildIndex(ctx, root, paths, Options{NoCache: true})
			if err != nil {
				t.Fatal(err)
			}
			if g, w := defs(got), defs(fresh); !slices.Equal(g, w) {
				t.Errorf("updated index %v, fresh build %v", g, w)
			}
			if g := defs(old); !slices.Equal(g, before) {
				t.Errorf("the old index changed: %v, was %v", g, before)
			}
			if st := got.Stats(); st.Files != len(got.Files()) || st.Parsed+st.Reused != st.Files {
				t.Errorf("stats %+v of %d files", st, len(got.Files()))
			}
		})
	}
}

// TestRefreshSavesWhatUpdateLeft: Update leaves the disk cache alone; the
// next Refresh reuses every entry unchanged and saves the cache, so a new
// process starts from the updated entries. The old index, still decoding
// its cached bodies, is queried while the new ones are derived (-race).
func TestRefreshSavesWhatUpdateLeft(t *testing.T) {
	ctx := context.Background()
	cache := t.TempDir()
	files := map[string]string{}
	for i := range 20 {
		files[fmt.Sprintf("f%d.go", i)] = fmt.Sprintf("package f\n\nfunc F%d() {}\n", i)
	}
	root, paths := writeTree(t, files)
	opts := Options{CacheDir: cache}
	if _, err := BuildIndex(ctx, root, paths, opts); err != nil {
		t.Fatal(err)
	}
	old, err := BuildIndex(ctx, root, paths, opts) // entries still in the cache
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "f0.go"), []byte("package f\n\nfunc Renamed() {}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() { old.Definitions("F1", MatchExact, 0) })
	}
	updated, err := old.Update(ctx, []string{"f0.go"})
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if st := updated.Stats(); st.Parsed != 1 || st.Reused != 19 || st.CacheSaved {
		t.Fatalf("Update stats %+v: want 1 parsed, 19 reused, no cache written", st)
	}
	refreshed, err := updated.Refresh(ctx, paths)
	if err != nil {
		t.Fatal(err)
	}
	if st := refreshed.Stats(); st.Parsed != 0 || st.Reused != 20 || !st.CacheSaved {
		t.Fatalf("Refresh stats %+v: want all 20 reused and the cache saved", st)
	}
	again, err := refreshed.Refresh(ctx, paths)
	if err != nil {
		t.Fatal(err)
	}
	if st := again.Stats(); st.CacheSaved {
		t.Fatalf("a Refresh with nothing new wrote the cache: %+v", st)
	}
	next, err := BuildIndex(ctx, root, paths, opts)
	if err != nil {
		t.Fatal(err)
	}
	if st := next.Stats(); st.Parsed != 0 || len(next.Definitions("Renamed", MatchExact, 0)) != 1 {
		t.Fatalf("a new build from the cache: %+v, Renamed %v", st, next.Definitions("Renamed", MatchExact, 0))
	}
}
