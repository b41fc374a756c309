package analysis

import (
	"context"
	"strings"
	"testing"
)

// Valid code tree-sitter's grammars cannot parse, taken from the corpora
// bench/syntax.sh reads: a macro-prefixed definition (spdlog's
// SPDLOG_NOEXCEPT after the parameters), a calling-convention macro (Go's cgo tests),
// TypeScript's variance annotations and a default-exported function
// declaration (zod's .d.ts).
var validButUnparsed = []struct{ path, src string }{
	{"logger-inl.h", "void logger::flush() SPDLOG_NOEXCEPT\n{\n    sinks_.clear();\n}\n"},
	{"win.c", "void WINAPI f(void) {}\n"},
	{"box.ts", "interface Box<in out T> { v: T }\n"},
	{"locale.d.ts", "declare function f(): void;\nexport default function (): {\n    x: number;\n};\n"},
}

// TestCheckSyntaxReportsOnlyTrustedGrammars: a file with no earlier text is
// judged only in languages whose grammar the corpora show to be reliable;
// the valid code the others cannot parse is not flagged, and real errors in
// the trusted ones are.
func TestCheckSyntaxReportsOnlyTrustedGrammars(t *testing.T) {
	ctx := context.Background()
	for _, v := range validButUnparsed {
		t.Run(v.path, func(t *testing.T) {
			if raw, _ := ParseErrors(ctx, v.path, []byte(v.src)); len(raw) == 0 {
				t.Fatalf("the grammar parses %s now: pick another construct it does not know", v.path)
			}
			if errs, err := CheckSyntax(ctx, v.path, []byte(v.src)); err != nil || len(errs) != 0 {
				t.Errorf("CheckSyntax = %v, %v; want no error for valid code", errs, err)
			}
		})
	}
	broken := []struct{ path, src string }{
		{"a.go", "package p\n\nfunc f() {\n"},
		{"a.py", "x = 'unterminated\n"},
		{"a.js", "function f() { return \"unterminated; }\n"},
		{"a.rb", "def f\n  x = (1\nend\n"},
		{"A.java", "class A { void f() { }\n"},
		{"a.rs", "fn f() { let x = ; }\n"},
	}
	for _, b := range broken {
		t.Run(b.path, func(t *testing.T) {
			if errs, err := CheckSyntax(ctx, b.path, []byte(b.src)); err != nil || len(errs) == 0 {
				t.Errorf("CheckSyntax = %v, %v; want the syntax error", errs, err)
			}
		})
	}
}

// TestIntroducedSyntaxErrors: an edit's errors are reported when the text
// before it parsed cleanly (or was a new file), never when the grammar did
// not understand the file before the edit.
func TestIntroducedSyntaxErrors(t *testing.T) {
	const cleanCpp = "class logger {\npublic:\n  void log(int x) { n += x; }\n  int n = 0;\n};\n"
	tests := []struct {
		name, path    string
		before, after string
		newFile       bool
		want          bool
	}{
		{name: "deleted brace in clean C++", path: "l.hpp", before: cleanCpp, after: cleanCpp[:len(cleanCpp)-3] + ";\n", want: true},
		{name: "unterminated string in clean TypeScript", path: "a.ts", before: "const s = 'a';\n", after: "const s = 'a;\n", want: true},
		{name: "clean edit of clean C", path: "a.c", before: "int f(void) { return 1; }\n", after: "int f(void) { return 2; }\n"},
		{name: "new Go file with an error", path: "a.go", newFile: true, after: "package p\n\nfunc f() {\n", want: true},
		{name: "new valid C file", path: "a.c", newFile: true, after: "int x;\n"},
		{name: "edit of a macro-prefixed definition", path: validButUnparsed[0].path, before: validButUnparsed[0].src,
			after: validButUnparsed[0].src + "int y = 1;\n"},
		{name: "edit of variance annotations", path: validButUnparsed[2].path, before: validButUnparsed[2].src,
			after: validButUnparsed[2].src + "let z = 1;\n"},
	}
	ctx := context.Background()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var before []byte
			if !tt.newFile {
				before = []byte(tt.before)
			}
			errs, err := IntroducedSyntaxErrors(ctx, tt.path, before, []byte(tt.after))
			if err != nil {
				t.Fatal(err)
			}
			if got := len(errs) > 0; got != tt.want {
				t.Errorf("errors = %v, want some: %v", errs, tt.want)
			}
		})
	}
}

// TestDocumentSyntaxErrorsAfterCleanParse: an editor's buffer shows the
// errors its edits introduce once it parsed cleanly, across incremental
// and whole-text changes, and nothing for valid code the grammar cannot
// parse, however it is edited.
func TestDocumentSyntaxErrorsAfterCleanParse(t *testing.T) {
	ctx := context.Background()
	const clean = "class logger {\npublic:\n  int n = 0;\n};\n"
	d, err := NewDocument(ctx, "l.hpp", []byte(clean))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	brace := len(clean) - 3 // the class's closing brace
	steps := []struct {
		name string
		edit func() error
		want bool
	}{
		{"opened clean", func() error { return nil }, false},
		{"brace deleted", func() error { return d.Apply(ctx, brace, brace+1, nil) }, true},
		{"brace restored", func() error { return d.Apply(ctx, brace, brace, []byte("}")) }, false},
		{"whole text replaced by a broken one", func() error { return d.Replace(ctx, []byte("class logger {\n")) }, true},
	}
	for _, s := range steps {
		if err := s.edit(); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if got := len(d.SyntaxErrors()) > 0; got != s.want {
			t.Errorf("%s: errors = %v, want some: %v", s.name, d.SyntaxErrors(), s.want)
		}
	}

	v := validButUnparsed[0]
	u, err := NewDocument(ctx, v.path, []byte(v.src))
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	if err := u.Apply(ctx, len(v.src), len(v.src), []byte("int broken(\n")); err != nil {
		t.Fatal(err)
	}
	if len(u.ParseErrors()) == 0 {
		t.Fatal("the grammar parses the macro-prefixed class: the test shows nothing")
	}
	if errs := u.SyntaxErrors(); len(errs) != 0 {
		t.Errorf("a document that never parsed cleanly shows %v", errs)
	}
}

// TestDocumentExportMacroEdits: a C++ buffer edited into and out of an
// export-macro class (class SPDLOG_API logger {) has the outline and the
// errors a fresh parse of its text has, though the macro the parser does
// not see lies outside the edit.
func TestDocumentExportMacroEdits(t *testing.T) {
	ctx := context.Background()
	const head = "class SPDLOG_API logger"
	d, err := NewDocument(ctx, "l.hpp", []byte(head+"\n"))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	edits := []struct {
		name             string
		start, end       int
		text             string
		wantClass, clean bool
	}{
		{"body typed after the head", len(head), len(head), " {\n  int n = 0;\n};", true, true},
		{"brace deleted", len(head) + 1, len(head) + 2, "", false, false},
		{"brace typed again", len(head) + 1, len(head) + 1, "{", true, true},
	}
	for _, e := range edits {
		if err := d.Apply(ctx, e.start, e.end, []byte(e.text)); err != nil {
			t.Fatalf("%s: %v", e.name, err)
		}
		got, err := d.Symbols()
		if err != nil {
			t.Fatal(err)
		}
		fresh, err := Symbols(ctx, "l.hpp", d.Source())
		if err != nil {
			t.Fatal(err)
		}
		if names(got) != names(fresh) {
			t.Errorf("%s: symbols %s, a fresh parse has %s", e.name, names(got), names(fresh))
		}
		if e.wantClass && names(got) != "logger:class n:field " {
			t.Errorf("%s: symbols %s, want the class logger and its field n", e.name, names(got))
		}
		if clean := len(d.ParseErrors()) == 0; clean != e.clean {
			t.Errorf("%s: parse errors %v, want none: %v", e.name, d.ParseErrors(), e.clean)
		}
	}
}

func names(syms []Symbol) string {
	var b strings.Builder
	for _, s := range syms {
		b.WriteString(string(s.Name) + ":" + string(s.Kind) + " ")
	}
	return b.String()
}
