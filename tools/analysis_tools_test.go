package tools

import (
	"strings"
	"testing"
)

var goProject = map[string]string{
	"go.mod": "module demo\n",
	"main.go": `package main

// Server serves greetings.
type Server struct{ name string }

// Greet returns a greeting.
func (s *Server) Greet() string { return "hi " + s.name }

func main() {
	s := &Server{name: "x"}
	println(s.Greet()) // Greet in a comment is no reference
}
`,
	"util/util.go":   "package util\n\nconst Version = \"1\"\n\nfunc Helper() int { return 1 }\n",
	"ignored/gen.go": "package ignored\n\nfunc Greet() {}\n",
	"other/other.go": "package other\n\n// Server is another type of that name.\ntype Server struct{}\n",
	".gitignore":     "ignored/\n",
}

func TestAnalysisTools(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	tests := []struct {
		name    string
		tool    Tool
		args    string
		want    []string
		notWant []string
		wantErr bool
	}{
		{name: "outline", tool: Outline{}, args: `{"path":"main.go"}`,
			want: []string{"struct Server  L4-4", "method Greet  L7-7  func (s *Server) Greet() string", "function main  L9-12"}},
		{name: "outline of an unsupported file", tool: Outline{}, args: `{"path":"go.mod"}`, wantErr: true,
			want: []string{"not a supported language"}},
		{name: "find_symbol exact", tool: FindSymbol{}, args: `{"name":"Helper"}`,
			want: []string{"util/util.go:5: function Helper  func Helper() int { return 1 }"}},
		{name: "find_symbol honours .gitignore", tool: FindSymbol{}, args: `{"name":"Greet"}`,
			want: []string{"main.go:7: method Greet"}, notWant: []string{"ignored/gen.go"}},
		{name: "find_symbol falls back to fuzzy", tool: FindSymbol{}, args: `{"name":"helpr"}`,
			want: []string{`No definition named exactly "helpr"`, "util/util.go:5: function Helper"}},
		{name: "find_symbol says a name is ambiguous", tool: FindSymbol{}, args: `{"name":"Server"}`,
			want: []string{`Ambiguous: 2 definitions named "Server" in 2 files`, "main.go:4: struct Server", "other/other.go:4: struct Server"}},
		{name: "find_symbol of one definition is not ambiguous", tool: FindSymbol{}, args: `{"name":"Helper"}`,
			notWant: []string{"Ambiguous"}},
		{name: "find_references of an ambiguous name", tool: FindReferences{}, args: `{"name":"Server"}`,
			want: []string{`Ambiguous: 2 definitions named "Server"`, "each may refer to any of main.go:4, other/other.go:4", "main.go:10:8: reference"}},
		{name: "find_references of one definition", tool: FindReferences{}, args: `{"name":"Greet"}`,
			notWant: []string{"Ambiguous"}},
		{name: "find_symbol bad mode", tool: FindSymbol{}, args: `{"name":"x","match":"regex"}`, wantErr: true,
			want: []string{`"match": value must be one of 'exact', 'ignore_case', 'fuzzy'`}},
		{name: "find_references", tool: FindReferences{}, args: `{"name":"Greet"}`,
			want:    []string{"main.go:11:12: call: println(s.Greet())"},
			notWant: []string{"ignored/gen.go"}},
		{name: "syntax_check clean", tool: SyntaxCheck{}, args: `{"path":"main.go"}`,
			want: []string{"main.go parses without syntax errors"}},
		{name: "repo_map", tool: RepoMapTool{}, args: `{"tokens":200}`,
			want: []string{"main.go", "util/util.go"}, notWant: []string{"ignored"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env, _ := fileEnv(t, goProject)
			res, err := call(t, env, tt.tool, tt.args)
			text := res.Text
			if tt.wantErr {
				if err == nil {
					t.Fatalf("no error: %s", res.Text)
				}
				text = err.Error()
			} else if err != nil {
				t.Fatal(err)
			}
			for _, w := range tt.want {
				if !strings.Contains(text, w) {
					t.Errorf("missing %q in:\n%s", w, text)
				}
			}
			for _, w := range tt.notWant {
				if strings.Contains(text, w) {
					t.Errorf("unexpected %q in:\n%s", w, text)
				}
			}
		})
	}
}

// TestAnalysisSeesStagedEdits: after a staged edit, find_symbol,
// find_references and syntax_check answer for the staged text.
func TestAnalysisSeesStagedEdits(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	env, _ := fileEnv(t, goProject)
	if _, err := call(t, env, WriteFile{}, `{"path":"util/extra.go","content":"package util\n\nfunc Fresh() { Helper() }\n"}`); err != nil {
		t.Fatal(err)
	}
	res, err := call(t, env, FindSymbol{}, `{"name":"Fresh"}`)
	if err != nil || !strings.Contains(res.Text, "util/extra.go:3: function Fresh") {
		t.Errorf("find_symbol Fresh = %q, %v", res.Text, err)
	}
	res, err = call(t, env, FindReferences{}, `{"name":"Helper"}`)
	if err != nil || !strings.Contains(res.Text, "util/extra.go:3:16: call: func Fresh() { Helper() }") {
		t.Errorf("find_references Helper = %q, %v", res.Text, err)
	}
}

// TestEditWarnsWhenFileStopsParsing: an edit that breaks a clean file is
// still staged, and its result tells the model.
func TestEditWarnsWhenFileStopsParsing(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	env, _ := fileEnv(t, goProject)
	res, err := call(t, env, EditFile{}, `{"path":"util/util.go","old_text":"return 1 }","new_text":"return 1"}`)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(res.Text, "Warning: util/util.go parsed cleanly before this edit and now has syntax errors") ||
		!strings.Contains(res.Text, "util/util.go:") {
		t.Errorf("no syntax warning:\n%s", res.Text)
	}
	if env.Changes.Empty() {
		t.Error("the edit was not staged")
	}
	// A clean edit carries no warning.
	res, err = call(t, env, EditFile{}, `{"path":"main.go","old_text":"\"hi \"","new_text":"\"hello \""}`)
	if err != nil || strings.Contains(res.Text, "Warning") {
		t.Errorf("clean edit: %q, %v", res.Text, err)
	}
	res, err = call(t, env, SyntaxCheck{}, `{"path":"util/util.go"}`)
	if err != nil || !strings.Contains(res.Text, "util/util.go has 1 syntax error(s)") {
		t.Errorf("syntax_check = %q, %v", res.Text, err)
	}
}

// TestSyntaxCheckJudgesEditsAgainstTheBase: in C++, whose grammar does not
// expand macros, a file that never parsed cleanly is not reported (its
// SPDLOG_NOEXCEPT is valid code), nor are later edits' errors in it; a clean
// file that an edit breaks is, by the check after the edit and by
// syntax_check.
func TestSyntaxCheckJudgesEditsAgainstTheBase(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	env, _ := fileEnv(t, map[string]string{
		"macro.hpp": "void logger::flush() SPDLOG_NOEXCEPT\n{\n    sinks_.clear();\n}\n",
		"clean.hpp": "class sink {\npublic:\n  void flush();\n};\n",
	})
	steps := []struct {
		name, args string
		tool       Tool
		want       string
		notWant    string
	}{
		{"untouched macro file", `{"path":"macro.hpp"}`, SyntaxCheck{}, "macro.hpp: no syntax errors reported. Tree-sitter's cpp grammar cannot parse", "has 1"},
		{"edit of the macro file", `{"path":"macro.hpp","old_text":"sinks_.clear();","new_text":"sinks_.clear(;"}`, EditFile{}, "", "Warning"},
		{"edited macro file", `{"path":"macro.hpp"}`, SyntaxCheck{}, "no syntax errors reported", "syntax error(s)"},
		{"untouched clean file", `{"path":"clean.hpp"}`, SyntaxCheck{}, "clean.hpp parses without syntax errors", ""},
		{"edit breaking the clean file", `{"path":"clean.hpp","old_text":"};","new_text":";"}`, EditFile{}, "Warning: clean.hpp parsed cleanly before this edit", ""},
		{"broken clean file", `{"path":"clean.hpp"}`, SyntaxCheck{}, "clean.hpp has 1 syntax error(s)", ""},
	}
	for _, s := range steps {
		res, err := call(t, env, s.tool, s.args)
		if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if !strings.Contains(res.Text, s.want) || s.notWant != "" && strings.Contains(res.Text, s.notWant) {
			t.Errorf("%s: %s", s.name, res.Text)
		}
	}
}
