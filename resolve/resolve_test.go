package resolve

import (
	"context"
	"fmt"
	"go/build"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"golang.org/x/tools/txtar"
)

// marked is a fixture with its markers taken out: ⟪k⟫ before the
// declaration k, ⟦k⟧ before a use that must resolve to it (a use whose
// key has no declaration must resolve into GOROOT, to the same name),
// ⟦-⟧ before a use that must not be answered.
type marked struct {
	dir   string
	decls map[string]Location
	uses  map[string][]Location
}

const (
	declOpen, declClose = "⟪", "⟫"
	useOpen, useClose   = "⟦", "⟧"
)

// loadFixture writes the archive's files into a temporary folder.
func loadFixture(t *testing.T, file string) marked {
	t.Helper()
	ar, err := txtar.ParseFile(file)
	if err != nil {
		t.Fatal(err)
	}
	m := marked{dir: t.TempDir(), decls: map[string]Location{}, uses: map[string][]Location{}}
	for _, f := range ar.Files {
		text := string(f.Data)
		var out strings.Builder
		path := filepath.Join(m.dir, filepath.FromSlash(f.Name))
		for text != "" {
			i := strings.IndexAny(text, declOpen+useOpen)
			if i < 0 {
				out.WriteString(text)
				break
			}
			out.WriteString(text[:i])
			r, size := utf8.DecodeRuneInString(text[i:])
			closer := declClose
			if string(r) == useOpen {
				closer = useClose
			}
			j := strings.Index(text[i:], closer)
			if j < 0 {
				t.Fatalf("%s: unclosed marker", f.Name)
			}
			key := text[i+size : i+j]
			text = text[i+j+len(closer):]
			at := out.Len()
			end := at
			for end-at < len(text) && isWordByte(text[end-at]) {
				end++
			}
			loc := Location{Path: path, Start: at, End: end}
			if string(r) == declOpen {
				m.decls[key] = loc
			} else {
				m.uses[key] = append(m.uses[key], loc)
			}
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(out.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return m
}

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

func show(l Location) string {
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
	for _, file := range fixtures(t, "go") {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".txtar"), func(t *testing.T) {
			m := loadFixture(t, file)
			r := newTestResolver(t, m.dir)
			for key, uses := range m.uses {
				for _, use := range uses {
					src, _ := os.ReadFile(use.Path)
					got, err := r.Definition(context.Background(), use.Path, src, use.Start)
					if err != nil {
						t.Fatalf("%s: %v", key, err)
					}
					want, known := m.decls[key]
					switch {
					case key == "-":
						if len(got) != 0 {
							t.Errorf("use %s at %s: answered %s, want nothing", key, show(use), show(got[0]))
						}
					case len(got) != 1:
						t.Errorf("use %s at %s: %d answers, want 1", key, show(use), len(got))
					case known && (got[0].Path != want.Path || got[0].Start != want.Start):
						t.Errorf("use %s at %s: got %s, want %s", key, show(use), show(got[0]), show(want))
					case !known && (!strings.HasPrefix(got[0].Path, build.Default.GOROOT) ||
						string(got[0].Source[got[0].Start:got[0].End]) != string(src[use.Start:use.End])):
						t.Errorf("use %s at %s: got %s, want the standard library's", key, show(use), show(got[0]))
					}
				}
			}
		})
	}
}

// TestReferences asks for the references of each marked declaration: the
// uses marked with its key, and nothing else.
func TestReferences(t *testing.T) {
	for _, file := range fixtures(t, "go") {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".txtar"), func(t *testing.T) {
			m := loadFixture(t, file)
			r := newTestResolver(t, m.dir)
			var goFiles []string
			filepath.WalkDir(m.dir, func(p string, d os.DirEntry, err error) error {
				if err == nil && strings.HasSuffix(p, ".go") && !strings.Contains(p, "modcache") {
					goFiles = append(goFiles, p)
				}
				return nil
			})
			for key, decl := range m.decls {
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
				for _, u := range m.uses[key] {
					want = append(want, show(u))
				}
				var have []string
				for _, g := range got {
					have = append(have, show(g))
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
