// Package resolvetest loads the marked txtar fixtures that the tests of
// resolve and of the LSP server share.
package resolvetest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"golang.org/x/tools/txtar"
)

// Fixture is a txtar archive written to a folder with its markers taken out: ⟪k⟫ before the
// declaration k, ⟦k⟧ before a use that must resolve to it (a use whose
// key has no declaration must resolve into GOROOT, to the same name),
// ⟦-⟧ before a use that must not be answered.
type Fixture struct {
	Dir   string
	Decls map[string]Mark
	Uses  map[string][]Mark
}

// Mark is a marked identifier: its file and byte range.
type Mark struct {
	Path       string
	Start, End int
}

const (
	declOpen, declClose = "⟪", "⟫"
	useOpen, useClose   = "⟦", "⟧"
)

// Load writes the archive's files into a temporary folder.
func Load(t testing.TB, file string) Fixture {
	t.Helper()
	ar, err := txtar.ParseFile(file)
	if err != nil {
		t.Fatal(err)
	}
	m := Fixture{Dir: t.TempDir(), Decls: map[string]Mark{}, Uses: map[string][]Mark{}}
	for _, f := range ar.Files {
		text := string(f.Data)
		var out strings.Builder
		path := filepath.Join(m.Dir, filepath.FromSlash(f.Name))
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
			for end-at < len(text) && isWord(text[end-at]) {
				end++
			}
			loc := Mark{Path: path, Start: at, End: end}
			if string(r) == declOpen {
				m.Decls[key] = loc
			} else {
				m.Uses[key] = append(m.Uses[key], loc)
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

func isWord(b byte) bool {
	return b == '_' || b >= '0' && b <= '9' || b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= 0x80
}

// GoFiles lists the fixture's source files (Go, Python, TypeScript,
// JavaScript) outside its
// module cache.
func (m Fixture) GoFiles() []string {
	var out []string
	filepath.WalkDir(m.Dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && (strings.HasSuffix(p, ".go") || strings.HasSuffix(p, ".py") || strings.HasSuffix(p, ".ts") || strings.HasSuffix(p, ".js")) && !strings.Contains(p, "modcache") {
			out = append(out, p)
		}
		return nil
	})
	return out
}
