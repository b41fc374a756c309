package resolve

import (
	"context"
	"fmt"
	"go/build"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/loom-agent/loom/resolve/resolvetest"
)

func newTestResolver(t *testing.T, dir string) *Resolver {
	goroot := build.Default.GOROOT
	fsys := NewRootsFS(dir, goroot)
	t.Cleanup(func() { fsys.Close() })
	r := New(fsys, Config{GOROOT: goroot, GOMODCACHE: filepath.Join(dir, "modcache")})
	t.Cleanup(r.Close)
	return r
}

func fixtures(t *testing.T, lang string) []string {
	files, err := filepath.Glob(filepath.Join("testdata", lang, "*.txtar"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	return files
}

func show(l resolvetest.Mark) string {
	if l.Path == "" {
		return "nothing"
	}
	src, _ := os.ReadFile(l.Path)
	name := ""
	if l.End <= len(src) {
		name = string(src[l.Start:l.End])
	}
	return fmt.Sprintf("%s@%d %q", filepath.Base(l.Path), l.Start, name)
}

// TestDefinition resolves every marked use of every fixture.
func TestDefinition(t *testing.T) {
	for _, file := range slices.Concat(fixtures(t, "go"), fixtures(t, "python"), fixtures(t, "typescript")) {
		t.Run(filepath.Base(filepath.Dir(file))+"/"+strings.TrimSuffix(filepath.Base(file), ".txtar"), func(t *testing.T) {
			m := resolvetest.Load(t, file)
			r := newTestResolver(t, m.Dir)
			for key, uses := range m.Uses {
				for _, use := range uses {
					src, _ := os.ReadFile(use.Path)
					got, err := r.Definition(context.Background(), use.Path, src, use.Start)
					if err != nil {
						t.Fatalf("%s: %v", key, err)
					}
					want, known := m.Decls[key]
					switch {
					case key == "-":
						if len(got) != 0 {
							t.Errorf("use %s at %s: answered %s, want nothing", key, show(use), show(mark(got[0])))
						}
					case len(got) != 1:
						t.Errorf("use %s at %s: %d answers, want 1", key, show(use), len(got))
					case known && (got[0].Path != want.Path || got[0].Start != want.Start):
						t.Errorf("use %s at %s: got %s, want %s", key, show(use), show(mark(got[0])), show(want))
					case !known && (!strings.HasPrefix(got[0].Path, build.Default.GOROOT) ||
						string(got[0].Source[got[0].Start:got[0].End]) != string(src[use.Start:use.End])):
						t.Errorf("use %s at %s: got %s, want the standard library's", key, show(use), show(mark(got[0])))
					}
				}
			}
		})
	}
}

// TestReferences asks for the references of each marked declaration: the
// uses marked with its key, and nothing else.
func TestReferences(t *testing.T) {
	for _, file := range slices.Concat(fixtures(t, "go"), fixtures(t, "python"), fixtures(t, "typescript")) {
		t.Run(filepath.Base(filepath.Dir(file))+"/"+strings.TrimSuffix(filepath.Base(file), ".txtar"), func(t *testing.T) {
			m := resolvetest.Load(t, file)
			r := newTestResolver(t, m.Dir)
			goFiles := m.GoFiles()
			for key, decl := range m.Decls {
				if strings.Contains(decl.Path, "modcache") {
					continue // the workspace's uses of a dependency: asked from a use below
				}
				src, _ := os.ReadFile(decl.Path)
				if self, _ := r.Definition(context.Background(), decl.Path, src, decl.Start); len(self) != 1 || self[0].Start != decl.Start {
					continue // an embedded field's name is a use of its type
				}
				got, err := r.References(context.Background(), decl.Path, src, decl.Start, goFiles, true)
				if err != nil {
					t.Fatal(err)
				}
				want := []string{show(decl)}
				for _, u := range m.Uses[key] {
					want = append(want, show(u))
				}
				var have []string
				for _, g := range got {
					have = append(have, show(mark(g)))
				}
				slices.Sort(want)
				slices.Sort(have)
				if !slices.Equal(have, want) {
					t.Errorf("references of %s:\n got %v\nwant %v", key, have, want)
				}
			}
		})
	}
}

func mark(l Location) resolvetest.Mark {
	return resolvetest.Mark{Path: l.Path, Start: l.Start, End: l.End}
}

// TestCacheSeesEdits: resolvers sharing a cache answer for the files as
// they are now, not as an earlier resolver parsed them.
func TestCacheSeesEdits(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	write("go.mod", "module example.com/m\n")
	a := write("a.go", "package m\n\nfunc use() { _ = Target }\n")
	goroot := build.Default.GOROOT
	fsys := NewRootsFS(dir, goroot)
	defer fsys.Close()
	cache := NewCache(1 << 20)
	src, _ := os.ReadFile(a)
	off := strings.Index(string(src), "Target")
	for i, b := range []string{"package m\n\nvar Target = 1\n", "package m\n\n// moved\n\nvar Target = 2\n", "package m\n"} {
		bpath := write("b.go", b)
		r := New(fsys, Config{GOROOT: goroot, Cache: cache})
		got, err := r.Definition(context.Background(), a, src, off)
		r.Close()
		if err != nil {
			t.Fatal(err)
		}
		want := strings.Index(b, "Target")
		switch {
		case want < 0 && len(got) != 0:
			t.Errorf("edit %d: answered %v after Target was removed", i, got[0])
		case want >= 0 && (len(got) != 1 || got[0].Path != bpath || got[0].Start != want):
			t.Errorf("edit %d: got %v, want b.go@%d", i, got, want)
		}
	}
}

// TestHostileFiles: a FIFO among a package's files, a go.mod that points
// outside every root and an import path with dots do not hang resolution
// or lead it out; what is left still resolves.
func TestHostileFiles(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"go.mod": "module example.com/m\n\nrequire example.com/x v1.0.0\n\nreplace example.com/x => ../../../../etc\n",
		"a.go":   "package m\n\nimport (\n\t\"example.com/x\"\n\t\"../../etc\"\n)\n\nfunc use() { _ = Target; _ = x.Passwd }\n",
		"b.go":   "package m\n\nvar Target = 1\n",
	}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := syscall.Mkfifo(filepath.Join(dir, "c.go"), 0o644); err != nil {
		t.Fatal(err)
	}
	a := filepath.Join(dir, "a.go")
	src, _ := os.ReadFile(a)
	r := newTestResolver(t, dir)
	done := make(chan []Location, 2)
	go func() {
		for _, name := range []string{"Target", "Passwd"} {
			got, _ := r.Definition(context.Background(), a, src, strings.Index(string(src), name))
			done <- got
		}
	}()
	for i, want := range []string{"b.go", ""} {
		select {
		case got := <-done:
			switch {
			case want == "" && len(got) != 0:
				t.Errorf("answered %s outside the roots", got[0].Path)
			case want != "" && (len(got) != 1 || filepath.Base(got[0].Path) != want):
				t.Errorf("use %d: got %v, want %s", i, got, want)
			}
		case <-time.After(20 * time.Second):
			t.Fatal("resolution hangs on a FIFO") // a hang guard, not a timing
		}
	}
}

// TestReferencesOfADependency: asked at a use of a dependency's function,
// references are the workspace's uses and the declaration in the module
// cache, with the dependency's own uses of it; an older version of the
// dependency, also in the cache, is not the build's and has none.
func TestReferencesOfADependency(t *testing.T) {
	m := resolvetest.Load(t, filepath.Join("testdata", "go", "imported.txtar"))
	r := newTestResolver(t, m.Dir)
	use := m.Uses["dep"][0]
	if strings.Contains(use.Path, "modcache") {
		use = m.Uses["dep"][1]
	}
	src, _ := os.ReadFile(use.Path)
	got, err := r.References(context.Background(), use.Path, src, use.Start, m.GoFiles(), true)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{show(m.Decls["dep"])}
	for _, u := range m.Uses["dep"] {
		want = append(want, show(u))
	}
	var have []string
	for _, g := range got {
		have = append(have, show(mark(g)))
	}
	slices.Sort(want)
	slices.Sort(have)
	if !slices.Equal(have, want) {
		t.Errorf("references of dep.Do:\n got %v\nwant %v", have, want)
	}
}

// TestReferencesOfModule asks for the references of a module, whose
// declaration is its file's start and has no name: the uses are found by
// the cursor's word, and the search ends (an empty name matched
// everywhere and never advanced).
func TestReferencesOfModule(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"pkg/__init__.py": "",
		"pkg/util.py":     "x = 1\n",
		"main.py":         "import pkg.util\nfrom pkg import util\n\nutil.x\n",
	}
	var paths []string
	for name, text := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	main := filepath.Join(dir, "main.py")
	src := []byte(files["main.py"])
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	done := make(chan []Location, 1)
	go func() {
		r := newTestResolver(t, dir)
		locs, err := r.References(ctx, main, src, strings.Index(string(src), "util\n\nutil"), paths, true)
		if err != nil {
			t.Error(err)
		}
		done <- locs
	}()
	select {
	case locs := <-done:
		var got []string
		for _, l := range locs {
			got = append(got, fmt.Sprintf("%s@%d", filepath.Base(l.Path), l.Start))
		}
		// import pkg.util's util, from pkg import util's util, util.x's util.
		want := []string{"main.py@11", "main.py@32", "main.py@38"}
		if !slices.Equal(got, want) {
			t.Errorf("references of the module pkg.util: got %v, want %v", got, want)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("references of a module did not end")
	}
}
