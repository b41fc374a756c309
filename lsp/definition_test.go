package lsp

import (
	"context"
	"go/build"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"go.lsp.dev/protocol"
	"go.lsp.dev/uri"

	"github.com/loom-agent/loom/resolve/resolvetest"
	"github.com/loom-agent/loom/workspace"
)

// servedFixture starts a server on a fixture of resolve's (the same
// marked cases, here through the protocol: positions in UTF-16, files
// opened as an editor does).
func servedFixture(t *testing.T, file string) (protocol.Server, resolvetest.Fixture) {
	t.Helper()
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	m := resolvetest.Load(t, file)
	t.Setenv("GOMODCACHE", filepath.Join(m.Dir, "modcache"))
	srv, _, _ := serveConnAt(t, Options{}, m.Dir)
	for _, p := range m.GoFiles() {
		text, _ := os.ReadFile(p)
		lang := protocol.LanguageKind(map[string]string{".go": "go", ".py": "python", ".ts": "typescript", ".js": "javascript"}[filepath.Ext(p)])
		err := srv.DidOpen(context.Background(), &protocol.DidOpenTextDocumentParams{TextDocument: protocol.TextDocumentItem{
			URI: uri.File(p), LanguageID: lang, Version: 1, Text: string(text)}})
		if err != nil {
			t.Fatal(err)
		}
	}
	return srv, m
}

// position converts a mark's start to an LSP position.
func position(t *testing.T, mk resolvetest.Mark) protocol.TextDocumentPositionParams {
	t.Helper()
	text, err := os.ReadFile(mk.Path)
	if err != nil {
		t.Fatal(err)
	}
	p, err := workspace.NewLines(string(text)).Position(mk.Start, workspace.UTF16)
	if err != nil {
		t.Fatal(err)
	}
	return protocol.TextDocumentPositionParams{TextDocument: protocol.TextDocumentIdentifier{URI: uri.File(mk.Path)},
		Position: protocol.Position{Line: uint32(p.Line), Character: uint32(p.Character)}}
}

func markAt(t *testing.T, l protocol.Location) string {
	text, _ := os.ReadFile(l.URI.FsPath())
	lines := workspace.NewLines(string(text))
	start, err1 := lines.Offset(fromProto(l.Range.Start), workspace.UTF16)
	end, err2 := lines.Offset(fromProto(l.Range.End), workspace.UTF16)
	if err1 != nil || err2 != nil {
		return l.URI.FsPath() + ": bad range"
	}
	return show(resolvetest.Mark{Path: l.URI.FsPath(), Start: start, End: end})
}

func show(mk resolvetest.Mark) string {
	text, _ := os.ReadFile(mk.Path)
	name := ""
	if mk.End <= len(text) {
		name = string(text[mk.Start:mk.End])
	}
	return filepath.Base(mk.Path) + ":" + name + "@" + strconv.Itoa(mk.Start)
}

// TestDefinitionAndReferences asks the server for the definition of every
// marked use of resolve's fixtures (Go: locals, parameters, fields,
// methods, imported members; Python: scopes and imports) and for the references of every marked declaration:
// each use answers its own declaration, a use marked ⟦-⟧ answers nothing,
// and references are the marked uses exactly.
func TestDefinitionAndReferences(t *testing.T) {
	files, _ := filepath.Glob("../resolve/testdata/*/*.txtar")
	if len(files) == 0 {
		t.Fatal("no fixtures")
	}
	goroot := build.Default.GOROOT
	for _, file := range files {
		t.Run(filepath.Base(filepath.Dir(file))+"/"+strings.TrimSuffix(filepath.Base(file), ".txtar"), func(t *testing.T) {
			srv, m := servedFixture(t, file)
			ctx := context.Background()
			for key, uses := range m.Uses {
				for _, use := range uses {
					if strings.Contains(use.Path, "modcache") {
						continue // outside the workspace: resolve's own tests ask there
					}
					res, err := srv.Definition(ctx, &protocol.DefinitionParams{TextDocumentPositionParams: position(t, use)})
					if err != nil {
						t.Fatal(err)
					}
					got, _ := res.(protocol.LocationSlice)
					want, known := m.Decls[key]
					switch {
					case key == "-":
						if len(got) != 0 {
							t.Errorf("use at %s answered %s, want nothing", show(use), markAt(t, got[0]))
						}
					case len(got) != 1:
						t.Errorf("use %s at %s: %d answers, want 1", key, show(use), len(got))
					case known && markAt(t, got[0]) != show(want):
						t.Errorf("use %s at %s: got %s, want %s", key, show(use), markAt(t, got[0]), show(want))
					case !known && !strings.HasPrefix(got[0].URI.FsPath(), goroot):
						t.Errorf("use %s at %s: got %s, want the standard library's", key, show(use), markAt(t, got[0]))
					}
				}
			}
			for key, decl := range m.Decls {
				if strings.Contains(decl.Path, "modcache") {
					continue
				}
				res, err := srv.Definition(ctx, &protocol.DefinitionParams{TextDocumentPositionParams: position(t, decl)})
				if got, _ := res.(protocol.LocationSlice); err != nil || len(got) != 1 || markAt(t, got[0]) != show(decl) {
					continue // an embedded field's name is a use of its type
				}
				refs, err := srv.References(ctx, &protocol.ReferenceParams{TextDocumentPositionParams: position(t, decl),
					Context: protocol.ReferenceContext{IncludeDeclaration: true}})
				if err != nil {
					t.Fatal(err)
				}
				want := []string{show(decl)}
				for _, u := range m.Uses[key] {
					want = append(want, show(u))
				}
				var have []string
				for _, r := range refs {
					have = append(have, markAt(t, r))
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

// TestDefinitionUnresolvedIsEmpty: in a language resolve does not know
// yet, and for a name bound nowhere, the server answers nothing rather
// than a declaration of the same name somewhere (editors merge every
// server's answers, so a guess would stand beside the right one).
func TestDefinitionUnresolvedIsEmpty(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	srv, dir, _ := serveConn(t, Options{})
	files := map[string]string{
		"a.rb":   "def greet; end\ngreet\n",
		"b.go":   "package b\n\nfunc use() { greet() }\n",
		"go.mod": "module example.com/b\n",
	}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ctx := context.Background()
	for _, at := range []struct {
		file string
		pos  protocol.Position
	}{{"a.rb", protocol.Position{Line: 1, Character: 1}}, {"b.go", protocol.Position{Line: 2, Character: 14}}} {
		pp := protocol.TextDocumentPositionParams{TextDocument: protocol.TextDocumentIdentifier{URI: uri.File(filepath.Join(dir, at.file))}, Position: at.pos}
		res, err := srv.Definition(ctx, &protocol.DefinitionParams{TextDocumentPositionParams: pp})
		if err != nil {
			t.Fatal(err)
		}
		if got, _ := res.(protocol.LocationSlice); len(got) != 0 {
			t.Errorf("%s: definition %v, want nothing", at.file, got)
		}
		refs, err := srv.References(ctx, &protocol.ReferenceParams{TextDocumentPositionParams: pp})
		if err != nil || len(refs) != 0 {
			t.Errorf("%s: references %v, %v; want nothing", at.file, refs, err)
		}
	}
}
