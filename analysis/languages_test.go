package analysis

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/tools/txtar"
)

var update = flag.Bool("update", false, "rewrite the expected sections of testdata/lang/*.txtar")

// Each testdata/lang archive holds one language's source, a broken variant
// (broken.*) and the expected outline, references and syntax errors.
const (
	sectionOutline = "want/outline"
	sectionRefs    = "want/refs"
	sectionSyntax  = "want/syntax"
)

type langFixture struct {
	path    string
	archive *txtar.Archive
	src     txtar.File
	broken  txtar.File
}

func loadFixtures(t *testing.T) []langFixture {
	t.Helper()
	paths, err := filepath.Glob("testdata/lang/*.txtar")
	if err != nil || len(paths) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	var out []langFixture
	for _, p := range paths {
		ar, err := txtar.ParseFile(p)
		if err != nil {
			t.Fatal(err)
		}
		fx := langFixture{path: p, archive: ar}
		for _, f := range ar.Files {
			switch {
			case strings.HasPrefix(f.Name, "want/"):
			case strings.HasPrefix(filepath.Base(f.Name), "broken."):
				fx.broken = f
			default:
				fx.src = f
			}
		}
		if fx.src.Name == "" || fx.broken.Name == "" {
			t.Fatalf("%s: needs a source file and a broken.* file", p)
		}
		out = append(out, fx)
	}
	return out
}

func (fx langFixture) section(name string) string {
	for _, f := range fx.archive.Files {
		if f.Name == name {
			return string(f.Data)
		}
	}
	return ""
}

func (fx *langFixture) setSection(name, data string) {
	for i, f := range fx.archive.Files {
		if f.Name == name {
			fx.archive.Files[i].Data = []byte(data)
			return
		}
	}
	fx.archive.Files = append(fx.archive.Files, txtar.File{Name: name, Data: []byte(data)})
}

func formatOutline(items []OutlineItem, depth int, b *strings.Builder) {
	for _, it := range items {
		r, n := it.Range, it.NameRange
		fmt.Fprintf(b, "%s%s %s %d:%d-%d:%d name %d:%d-%d:%d @%d %q\n", strings.Repeat("  ", depth),
			it.Kind, it.Name, r.Start.Line, r.Start.Column, r.End.Line, r.End.Column,
			n.Start.Line, n.Start.Column, n.End.Line, n.End.Column, n.Start.Offset, it.Signature)
		formatOutline(it.Children, depth+1, b)
	}
}

func TestLanguageFixtures(t *testing.T) {
	ctx := context.Background()
	covered := map[string]bool{}
	for _, fx := range loadFixtures(t) {
		t.Run(filepath.Base(fx.path), func(t *testing.T) {
			lang := DetectLanguage(fx.src.Name, fx.src.Data)
			if lang == "" {
				t.Fatalf("%s: no language detected", fx.src.Name)
			}
			covered[lang] = true

			outline, err := Outline(ctx, fx.src.Name, fx.src.Data)
			if err != nil {
				t.Fatal(err)
			}
			var ob strings.Builder
			formatOutline(outline, 0, &ob)

			// References to the file's own definitions keep the expectation short.
			syms, err := Symbols(ctx, fx.src.Name, fx.src.Data)
			if err != nil {
				t.Fatal(err)
			}
			defined := map[string]bool{}
			for _, s := range syms {
				defined[s.Name] = true
			}
			refs, err := FindReferences(ctx, fx.src.Name, fx.src.Data, "")
			if err != nil {
				t.Fatal(err)
			}
			var rb strings.Builder
			for _, r := range refs {
				if defined[r.Name] {
					fmt.Fprintf(&rb, "%s %s %d:%d-%d\n", r.Kind, r.Name, r.Range.Start.Line, r.Range.Start.Column, r.Range.End.Column)
				}
			}

			if errs, err := ParseErrors(ctx, fx.src.Name, fx.src.Data); err != nil || len(errs) != 0 {
				t.Errorf("valid source reported errors: %v %v", errs, err)
			}
			// The broken file is the valid one after an edit that broke it.
			errs, err := IntroducedSyntaxErrors(ctx, fx.broken.Name, fx.src.Data, fx.broken.Data)
			if err != nil {
				t.Fatal(err)
			}
			if len(errs) == 0 {
				t.Errorf("%s: no syntax error found", fx.broken.Name)
			}
			var sb strings.Builder
			for _, e := range errs {
				fmt.Fprintf(&sb, "%d:%d-%d:%d missing=%v %s\n", e.Range.Start.Line, e.Range.Start.Column, e.Range.End.Line, e.Range.End.Column, e.Missing, e.Message)
			}

			got := map[string]string{sectionOutline: ob.String(), sectionRefs: rb.String(), sectionSyntax: sb.String()}
			if *update {
				for _, name := range []string{sectionOutline, sectionRefs, sectionSyntax} {
					fx.setSection(name, got[name])
				}
				if err := os.WriteFile(fx.path, txtar.Format(fx.archive), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			for name, g := range got {
				if want := fx.section(name); g != want {
					t.Errorf("%s mismatch\n--- got\n%s--- want\n%s", name, g, want)
				}
			}
		})
	}
	for _, l := range Languages() {
		if !covered[l] {
			t.Errorf("language %s has no fixture in testdata/lang", l)
		}
	}
}
