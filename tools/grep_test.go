package tools

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/loom-agent/loom/workspace"
)

// searchTree is a workspace for grep, glob and list_dir: ignored files
// (by pattern, by folder, by a nested .gitignore), a negated pattern, a
// binary file and a .git folder, each holding "func" so that a leak shows.
var searchTree = map[string]string{
	".gitignore":     "*.log\nbuild/\n!keep.log\n",
	".git/config":    "func in git\n",
	"main.go":        "package main\n\nfunc main() {\n\tprintln(\"hello\")\n}\n",
	"util.go":        "package main\n\nfunc helper() int {\n\treturn 42\n}\n",
	"app.log":        "func in an ignored log\n",
	"keep.log":       "func kept by a negation\n",
	"build/out.go":   "func built() {}\n",
	"bin.dat":        "func \x00 binary\n",
	"sub/.gitignore": "gen_*.go\n",
	"sub/gen_x.go":   "func generated() {}\n",
	"sub/real.go":    "package sub\n\nfunc Real() {}\n",
	"sub/deep/d.txt": "FUNC upper\nfunc lower\n",
}

func TestGrep(t *testing.T) {
	cases := []struct {
		name string
		args string
		want string // the whole text
	}{
		{"gitignore, nested gitignore, negation, binary and .git skipped",
			`{"pattern":"func"}`,
			"keep.log:1:func kept by a negation\nmain.go:3:func main() {\nsub/deep/d.txt:2:func lower\nsub/real.go:3:func Real() {}\nutil.go:3:func helper() int {\n"},
		{"ignore case",
			`{"pattern":"FUNC","path":"sub/deep","ignore_case":true}`,
			"sub/deep/d.txt:1:FUNC upper\nsub/deep/d.txt:2:func lower\n"},
		{"ignore case regexp",
			`{"pattern":"f[u]nc (l|u)","ignore_case":true}`,
			"sub/deep/d.txt:1:FUNC upper\nsub/deep/d.txt:2:func lower\n"},
		{"case sensitive by default",
			`{"pattern":"FUNC"}`,
			"sub/deep/d.txt:1:FUNC upper\n"},
		{"glob without a slash matches names at any depth",
			`{"pattern":"func","glob":"*.go"}`,
			"main.go:3:func main() {\nsub/real.go:3:func Real() {}\nutil.go:3:func helper() int {\n"},
		{"glob with a slash matches paths",
			`{"pattern":"func","glob":"sub/**/*.txt"}`,
			"sub/deep/d.txt:2:func lower\n"},
		{"glob relative to path",
			`{"pattern":"func","path":"sub","glob":"deep/*"}`,
			"sub/deep/d.txt:2:func lower\n"},
		{"path is a folder",
			`{"pattern":"func","path":"sub"}`,
			"sub/deep/d.txt:2:func lower\nsub/real.go:3:func Real() {}\n"},
		{"path is a file",
			`{"pattern":"func","path":"util.go"}`,
			"util.go:3:func helper() int {\n"},
		{"anchored regexp",
			`{"pattern":"^func \\w+\\(\\) \\{$"}`,
			"main.go:3:func main() {\n"},
		{"end anchor",
			`{"pattern":"\\)$","path":"main.go"}`,
			"main.go:4:\tprintln(\"hello\")\n"},
		{"no match",
			`{"pattern":"nowhere"}`,
			"No matches for \"nowhere\" under the workspace root.\n"},
	}
	env, _ := fileEnv(t, searchTree)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res, err := call(t, env, Grep{}, c.args)
			if err != nil {
				t.Fatal(err)
			}
			if res.Text != c.want {
				t.Errorf("text:\n%s\nwant:\n%s", res.Text, c.want)
			}
		})
	}
}

func TestGrepData(t *testing.T) {
	env, _ := fileEnv(t, searchTree)
	res, err := call(t, env, Grep{}, `{"pattern":"func","path":"sub"}`)
	if err != nil {
		t.Fatal(err)
	}
	want := GrepData{Matches: []GrepMatch{
		{"sub/deep/d.txt", 2, "func lower"},
		{"sub/real.go", 3, "func Real() {}"},
	}, Total: 2}
	if !reflect.DeepEqual(res.Data, want) {
		t.Errorf("data %+v, want %+v", res.Data, want)
	}
}

// TestGrepLines checks line splitting and numbering on awkward content.
func TestGrepLines(t *testing.T) {
	long := strings.Repeat("é", 1500) // 3000 bytes; a cut must not split a rune
	cases := []struct {
		name, content, args string
		want                []GrepMatch
	}{
		{"empty match on every line, none after the last newline", "a\nb\n", `{"pattern":"^"}`,
			[]GrepMatch{{"f", 1, "a"}, {"f", 2, "b"}}},
		{"last line without newline", "a\nb", `{"pattern":"$"}`,
			[]GrepMatch{{"f", 1, "a"}, {"f", 2, "b"}}},
		{"empty file", "", `{"pattern":"^"}`, []GrepMatch{}},
		{"one match per line however many it holds", "xx x\ny\nx\n", `{"pattern":"x"}`,
			[]GrepMatch{{"f", 1, "xx x"}, {"f", 3, "x"}}},
		{"a match does not run across lines", "a\nb\na  b\n", `{"pattern":"a\\s+b"}`,
			[]GrepMatch{{"f", 3, "a  b"}}},
		{"a cross-line match is judged by its line alone", "a y\nb\n", `{"pattern":"a[^z]*b|y"}`,
			[]GrepMatch{{"f", 1, "a y"}}},
		{"the search goes on after a cross-line match", "a\nb x\n", `{"pattern":"a[^z]*b|x"}`,
			[]GrepMatch{{"f", 2, "b x"}}},
		{"newline in a literal never matches", "a\nb\n", `{"pattern":"a\nb"}`, []GrepMatch{}},
		{"carriage returns trimmed", "one\r\ntwo\r\n", `{"pattern":"two"}`,
			[]GrepMatch{{"f", 2, "two"}}},
		{"line numbers far down", strings.Repeat("-\n", 999) + "needle\n", `{"pattern":"needle"}`,
			[]GrepMatch{{"f", 1000, "needle"}}},
		{"ignore case literal with no letters to scan", "A-B\na-b\nab\n", `{"pattern":"a-b","ignore_case":true}`,
			[]GrepMatch{{"f", 1, "A-B"}, {"f", 2, "a-b"}}},
		{"ignore case literal of letters only", "xxHELLOxx\nhelo\nHeLlO\n", `{"pattern":"hello","ignore_case":true}`,
			[]GrepMatch{{"f", 1, "xxHELLOxx"}, {"f", 3, "HeLlO"}}},
		{"long line shortened", "x" + long + "\n", `{"pattern":"x"}`,
			[]GrepMatch{{"f", 1, "x" + strings.Repeat("é", 999) + " … (line truncated, 3001 bytes)"}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			env, _ := fileEnv(t, map[string]string{"f": c.content})
			res, err := call(t, env, Grep{}, c.args)
			if err != nil {
				t.Fatal(err)
			}
			got := res.Data.(GrepData).Matches
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("matches %+v, want %+v", got, c.want)
			}
		})
	}
}

func TestGrepContext(t *testing.T) {
	var lines []string
	for i := 1; i <= 10; i++ {
		lines = append(lines, fmt.Sprintf("l%d", i))
	}
	ten := strings.Join(lines, "\n") + "\n"
	cases := []struct {
		name, args, want string
	}{
		{"overlapping groups merge", `{"pattern":"^l[35]$","context":1,"path":"a"}`,
			"a-2-l2\na:3:l3\na-4-l4\na:5:l5\na-6-l6\n"},
		{"adjacent groups merge", `{"pattern":"^l[36]$","context":1,"path":"a"}`,
			"a-2-l2\na:3:l3\na-4-l4\na-5-l5\na:6:l6\na-7-l7\n"},
		{"separate groups", `{"pattern":"^l[38]$","context":1,"path":"a"}`,
			"a-2-l2\na:3:l3\na-4-l4\n--\na-7-l7\na:8:l8\na-9-l9\n"},
		{"clipped at the file's ends", `{"pattern":"^l(1|10)$","context":2,"path":"a"}`,
			"a:1:l1\na-2-l2\na-3-l3\n--\na-8-l8\na-9-l9\na:10:l10\n"},
		{"separator between files", `{"pattern":"^l5$","context":1}`,
			"a-4-l4\na:5:l5\na-6-l6\n--\nb-4-l4\nb:5:l5\nb-6-l6\n"},
		{"cap keeps the shown match's context", `{"pattern":"^l[38]$","context":1,"path":"a","max_results":1}`,
			"a-2-l2\na:3:l3\na-4-l4\n(showing the first 1 of 2 matches; narrow the pattern, path or glob)\n"},
	}
	env, _ := fileEnv(t, map[string]string{"a": ten, "b": ten})
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res, err := call(t, env, Grep{}, c.args)
			if err != nil {
				t.Fatal(err)
			}
			if res.Text != c.want {
				t.Errorf("text:\n%s\nwant:\n%s", res.Text, c.want)
			}
		})
	}
}

func TestGrepCap(t *testing.T) {
	files := map[string]string{}
	for i := range 30 {
		files[fmt.Sprintf("f%02d.txt", i)] = strings.Repeat("hit\n", 10)
	}
	env, _ := fileEnv(t, files)
	cases := []struct {
		args  string
		shown int
	}{
		{`{"pattern":"hit"}`, 200},
		{`{"pattern":"hit","max_results":15}`, 15},
		{`{"pattern":"hit","max_results":300}`, 300},
		{`{"pattern":"hit","max_results":1000}`, 300},
	}
	for _, c := range cases {
		res, err := call(t, env, Grep{}, c.args)
		if err != nil {
			t.Fatal(err)
		}
		d := res.Data.(GrepData)
		if len(d.Matches) != c.shown || d.Total != 300 || d.Truncated != (c.shown < 300) {
			t.Errorf("%s: %d shown of %d (truncated %v), want %d of 300", c.args, len(d.Matches), d.Total, d.Truncated, c.shown)
		}
		note := fmt.Sprintf("(showing the first %d of 300 matches; narrow the pattern, path or glob)\n", c.shown)
		if got := strings.HasSuffix(res.Text, note); got != (c.shown < 300) {
			t.Errorf("%s: cap note present %v, text ends %q", c.args, got, res.Text[max(0, len(res.Text)-120):])
		}
		if n := strings.Count(res.Text, ":hit\n"); n != c.shown {
			t.Errorf("%s: %d lines in the text, want %d", c.args, n, c.shown)
		}
		// The first matches in path order, not whichever worker was first.
		if c.shown == 15 && (d.Matches[10].Path != "f01.txt" || d.Matches[10].Line != 1 || d.Matches[14].Line != 5) {
			t.Errorf("%s: shown matches are not the first ones: %+v", c.args, d.Matches)
		}
	}
}

// TestGrepCapOrder: with many files searched in parallel, the matches
// shown are still the first in path order, including a staged file that
// the walk visits last, and files past the cap are counted.
func TestGrepCapOrder(t *testing.T) {
	files := map[string]string{"a-x.go": "hit\n", "a/b.go": "hit\n", "a/b/c.go": "hit\n"}
	for i := range 300 {
		files[fmt.Sprintf("f%03d.txt", i)] = "hit\n"
	}
	env, _ := fileEnv(t, files)
	if _, err := env.Changes.WriteFile("e.txt", []byte("no\nhit\n")); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		max  int
		want []string
	}{
		{3, []string{"a/b/c.go:1", "a/b.go:1", "a-x.go:1"}},
		{5, []string{"a/b/c.go:1", "a/b.go:1", "a-x.go:1", "e.txt:2", "f000.txt:1"}},
	} {
		for range 5 {
			res, err := call(t, env, Grep{}, fmt.Sprintf(`{"pattern":"hit","max_results":%d}`, c.max))
			if err != nil {
				t.Fatal(err)
			}
			d := res.Data.(GrepData)
			var got []string
			for _, m := range d.Matches {
				got = append(got, fmt.Sprintf("%s:%d", m.Path, m.Line))
			}
			if !reflect.DeepEqual(got, c.want) || d.Total != 304 {
				t.Fatalf("max %d: %q of %d, want %q of 304", c.max, got, d.Total, c.want)
			}
		}
	}
}

// TestGrepCutoff drives the bookkeeping that stops formatting past the
// cap, with files finishing out of order.
func TestGrepCutoff(t *testing.T) {
	s := &grepSearch{keep: 5, done: map[int]int{}}
	s.cutoff.Store(math.MaxInt64)
	steps := []struct{ seq, count, cutoff int }{
		{2, 4, math.MaxInt64}, // 0 and 1 still running
		{0, 0, math.MaxInt64},
		{3, 9, math.MaxInt64},
		{1, 1, 2}, // files 0..2 now hold 5 matches
		{4, 7, 2},
	}
	for _, st := range steps {
		s.finished(st.seq, st.count)
		if got := s.cutoff.Load(); got != int64(st.cutoff) {
			t.Fatalf("after file %d: cutoff %d, want %d", st.seq, got, st.cutoff)
		}
	}
}

// TestGrepCutoffSkipsFormatting: a capped search over many matching files
// formats few of them (all of them if the cutoff were lost).
func TestGrepCutoffSkipsFormatting(t *testing.T) {
	files := map[string]string{}
	for i := range 300 {
		files[fmt.Sprintf("f%03d.txt", i)] = "hit\n"
	}
	env, _ := fileEnv(t, files)
	m, err := newGrepMatcher("hit", false)
	if err != nil {
		t.Fatal(err)
	}
	s := &grepSearch{ws: env.Workspace(), cs: env.Changes, staged: env.Changes.Staged(), m: m, keep: 5}
	found, err := s.run(context.Background(), ".", nil)
	if err != nil {
		t.Fatal(err)
	}
	formatted := 0
	for _, f := range found {
		if len(f.marks) > 0 {
			formatted++
		}
	}
	if len(found) != 300 || formatted == 300 || formatted < 5 {
		t.Errorf("%d files found, %d formatted; want 300 found and fewer formatted", len(found), formatted)
	}
	if r := s.result(found, "hit", "."); r.Data.(GrepData).Matches[4].Path != "f004.txt" {
		t.Errorf("fifth match %+v", r.Data.(GrepData).Matches[4])
	}
}

func TestComparePaths(t *testing.T) {
	want := []string{"a/b/c.go", "a/b.go", "a-x.go", "a.go", "ab", "b"}
	got := slices.Clone(want)
	slices.Reverse(got)
	slices.SortFunc(got, comparePaths)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%q, want %q", got, want)
	}
}

// TestGrepSeesChangeset: staged edits, creations and deletions and open
// editor buffers win over the disk.
func TestGrepSeesChangeset(t *testing.T) {
	env, _ := fileEnv(t, searchTree)
	if _, err := env.Changes.WriteFile("main.go", []byte("package main\n\nfunc staged() {}\n")); err != nil {
		t.Fatal(err)
	}
	if _, err := env.Changes.WriteFile("newdir/new.go", []byte("func created() {}\n")); err != nil {
		t.Fatal(err)
	}
	if _, err := env.Changes.Remove("util.go"); err != nil {
		t.Fatal(err)
	}
	if err := env.Workspace().SetBuffer("sub/real.go", []byte("func Buffered() {}\n")); err != nil {
		t.Fatal(err)
	}
	cases := []struct{ args, want string }{
		{`{"pattern":"func","glob":"*.go"}`,
			"main.go:3:func staged() {}\nnewdir/new.go:1:func created() {}\nsub/real.go:1:func Buffered() {}\n"},
		{`{"pattern":"func","path":"newdir"}`, "newdir/new.go:1:func created() {}\n"},
		{`{"pattern":"func","path":"newdir/new.go"}`, "newdir/new.go:1:func created() {}\n"},
	}
	for _, c := range cases {
		res, err := call(t, env, Grep{}, c.args)
		if err != nil {
			t.Fatal(err)
		}
		if res.Text != c.want {
			t.Errorf("%s:\n%s\nwant:\n%s", c.args, res.Text, c.want)
		}
	}
	if _, err := call(t, env, Grep{}, `{"pattern":"func","path":"util.go"}`); err == nil {
		t.Error("grep of a file deleted in the changeset succeeded")
	}
}

func TestGrepSkipsHugeFiles(t *testing.T) {
	env, dir := fileEnv(t, map[string]string{"small.txt": "needle\n"})
	// Sparse files, over the limit without writing 16 MB: one starting with
	// text, reported, and one binary, skipped silently as binaries are.
	for name, head := range map[string]string{"huge.txt": strings.Repeat("needle\n", 2000), "huge.bin": "needle\x00"} {
		f, err := os.Create(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		f.WriteString(head)
		if err := f.Truncate(workspace.MaxFileSize + 1); err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
	res, err := call(t, env, Grep{}, `{"pattern":"needle"}`)
	if err != nil {
		t.Fatal(err)
	}
	want := "small.txt:1:needle\n(skipped 1 file(s) over the 16 MB limit: huge.txt)\n"
	if res.Text != want {
		t.Errorf("text %q, want %q", res.Text, want)
	}
}

func TestGrepErrors(t *testing.T) {
	env, _ := fileEnv(t, searchTree)
	elsewhere := t.TempDir()
	cases := []struct {
		name, args, want string
		outside          bool
	}{
		{"invalid regexp", `{"pattern":"func("}`, `pattern "func(" is not a valid RE2 regular expression: missing closing )`, false},
		{"backreference", `{"pattern":"(a)\\1"}`, "not a valid RE2 regular expression", false},
		{"missing pattern", `{}`, `"pattern" is required`, false},
		{"unknown argument", `{"pattern":"x","regex":"y"}`, "unknown field", false},
		{"negative context", `{"pattern":"x","context":-1}`, `"context": minimum: got -1, want 0`, false},
		{"bad glob", `{"pattern":"x","glob":"[a"}`, "bad glob pattern", false},
		{"missing path", `{"pattern":"x","path":"nope"}`, "no such file", false},
		{"dot-dot escape", `{"pattern":"x","path":"../x"}`, "outside the workspace root", true},
		{"absolute path elsewhere", fmt.Sprintf(`{"pattern":"x","path":%q}`, elsewhere), "outside the workspace root", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := call(t, env, Grep{}, c.args)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want one containing %q", err, c.want)
			}
			if c.outside != errors.Is(err, workspace.ErrOutsideRoot) {
				t.Errorf("errors.Is(err, ErrOutsideRoot) = %v", !c.outside)
			}
		})
	}
}

func TestGrepSpec(t *testing.T) {
	for _, tool := range []Tool{Grep{}, Glob{}, ListDir{}} {
		sp := tool.Spec()
		var schema map[string]any
		if err := json.Unmarshal(sp.Schema, &schema); err != nil {
			t.Errorf("%s: schema is not JSON: %v", sp.Name, err)
		}
		if !sp.Effect.ReadOnly() || !sp.Idempotent || sp.Destructive || sp.Description == "" {
			t.Errorf("%s: spec %+v", sp.Name, sp)
		}
	}
}

func TestGrepCanceled(t *testing.T) {
	env, _ := fileEnv(t, searchTree)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := (Grep{}).Run(ctx, env, json.RawMessage(`{"pattern":"func"}`)); !errors.Is(err, context.Canceled) {
		t.Errorf("error %v, want context.Canceled", err)
	}
}
