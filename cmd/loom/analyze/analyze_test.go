package analyze

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/loom-agent/loom/cmd/loom/internal/cmdtest"
	"github.com/loom-agent/loom/cmd/loom/internal/cmdutil"
	"github.com/loom-agent/loom/tools"
)

// TestGroupFlags: --root and --json, given to the group before or after
// the subcommand, reach each subcommand's options; a DIR argument is the
// root of map and symbols.
func TestGroupFlags(t *testing.T) {
	for _, tt := range []struct {
		args  []string
		root  string
		json  bool
		tool  string
		targs map[string]any
	}{
		{[]string{"outline", "a.go"}, ".", false, "outline", map[string]any{"path": "a.go"}},
		{[]string{"--root", "/src", "defs", "Foo", "--json", "--match", "fuzzy"}, "/src", true, "find_symbol", map[string]any{"name": "Foo", "match": "fuzzy"}},
		{[]string{"refs", "Foo", "--root", "/src"}, "/src", false, "find_references", map[string]any{"name": "Foo", "limit": 100000}},
		{[]string{"map", "/dir", "--tokens", "50", "--focus", "a.go", "--root", "/src"}, "/dir", false, "repo_map", map[string]any{"tokens": 50, "focus": []string{"a.go"}}},
		{[]string{"map"}, ".", false, "repo_map", map[string]any{"tokens": tools.DefaultRepoMapTokens}},
		{[]string{"symbols", "/dir", "--count"}, "/dir", false, "", nil},
		{[]string{"check", "a.go", "--json"}, ".", true, "", nil},
	} {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			f := cmdtest.New(t, "")
			var root, tool string
			var asJSON bool
			var targs map[string]any
			query := func(o *QueryOptions) error { root, asJSON, tool, targs = o.Root, o.JSON, o.Tool, o.Args; return nil }
			group := NewCmdAnalyze(f.Factory)
			group.ResetCommands()
			group.AddCommand(NewCmdOutline(f.Factory, query), NewCmdDefs(f.Factory, query), NewCmdRefs(f.Factory, query), NewCmdMap(f.Factory, query),
				NewCmdSymbols(f.Factory, func(o *SymbolsOptions) error { root, asJSON = o.Root, o.JSON; return nil }),
				NewCmdCheck(f.Factory, func(o *CheckOptions) error { root, asJSON = o.Root, o.JSON; return nil }))
			group.SetArgs(tt.args)
			if err := group.Execute(); err != nil {
				t.Fatal(err)
			}
			if root != tt.root || asJSON != tt.json || tool != tt.tool || !reflect.DeepEqual(targs, tt.targs) {
				t.Errorf("root %q, json %v, tool %q %v; want %q, %v, %q %v", root, asJSON, tool, targs, tt.root, tt.json, tt.tool, tt.targs)
			}
		})
	}
}

func TestAnalyzeRuns(t *testing.T) {
	f := cmdtest.New(t, "")
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "a.go"), []byte("package a\n\nfunc Foo() {}\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "bad.go"), []byte("package a\n\nfunc (\n"), 0o644)
	ctx := context.Background()
	if err := queryRun(ctx, &QueryOptions{IO: f.IOStreams, Tools: f.Tools, Workspace: f.Workspace, Root: dir,
		Tool: "find_symbol", Args: map[string]any{"name": "Foo"}, JSON: true}); err != nil || !json.Valid(f.Out.Bytes()) || !strings.Contains(f.Out.String(), "a.go") {
		t.Errorf("defs --json: %v\n%s", err, f.Out)
	}
	f.Out.Reset()
	// A map without --focus: the group's own flags, no focus argument.
	group := NewCmdAnalyze(f.Factory)
	group.SetArgs([]string{"map", dir})
	if err := group.ExecuteContext(ctx); err != nil || !strings.Contains(f.Out.String(), "a.go") {
		t.Errorf("map without --focus: %v\n%s", err, f.Out)
	}
	f.Out.Reset()
	if err := symbolsRun(ctx, &SymbolsOptions{IO: f.IOStreams, Workspace: f.Workspace, Root: dir}); err != nil ||
		!strings.Contains(f.Out.String(), "a.go:3 function Foo\n") || !strings.Contains(f.Err.String(), " definitions in ") {
		t.Errorf("symbols: %v\n%s%s", err, f.Out, f.Err)
	}
	var exit *cmdutil.ExitError
	err := checkRun(ctx, &CheckOptions{IO: f.IOStreams, Tools: f.Tools, Workspace: f.Workspace, Root: dir, File: "bad.go"})
	if !errors.As(err, &exit) || exit.Code != cmdutil.ExitFailure || !strings.Contains(err.Error(), "bad.go has") {
		t.Errorf("check bad.go = %v, want exit 1", err)
	}
	if err := checkRun(ctx, &CheckOptions{IO: f.IOStreams, Tools: f.Tools, Workspace: f.Workspace, Root: dir, File: "a.go"}); err != nil {
		t.Errorf("check a.go: %v", err)
	}
}

// TestSymbolsListingKept: the listing is kept beside the index cache and
// printed again from there while the index is the same; a file changed, or
// a damaged kept listing, gives the listing of the disk again.
func TestSymbolsListingKept(t *testing.T) {
	f := cmdtest.New(t, "")
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "a.go"), []byte("package a\n\nfunc Foo() {}\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "b.go"), []byte("package a\n\ntype Bar struct{}\n"), 0o644)
	ctx := context.Background()
	list := func() string {
		t.Helper()
		f.Out.Reset()
		if err := symbolsRun(ctx, &SymbolsOptions{IO: f.IOStreams, Workspace: f.Workspace, Root: dir}); err != nil {
			t.Fatal(err)
		}
		return f.Out.String()
	}
	want := "a.go:3 function Foo\nb.go:3 struct Bar\n"
	if got := list(); got != want {
		t.Fatalf("listing %q, want %q", got, want)
	}
	kept, _ := filepath.Glob(filepath.Join(os.Getenv("XDG_CACHE_HOME"), "loom", "index", "*.list"))
	if len(kept) != 1 {
		t.Fatalf("kept listings: %v", kept)
	}
	// Printed from the kept file: a marked copy shows it was read.
	data, err := os.ReadFile(kept[0])
	if err != nil || !strings.HasSuffix(string(data), want) {
		t.Fatalf("kept listing %q: %v", data, err)
	}
	marked := strings.Replace(string(data), "Foo", "Fo0", 1)
	os.WriteFile(kept[0], []byte(marked), 0o600)
	if got := list(); got != strings.Replace(want, "Foo", "Fo0", 1) {
		t.Errorf("the kept listing was not used: %q", got)
	}

	for name, damage := range map[string]string{
		"truncated": marked[:len(marked)-3],
		"longer":    marked + "x",
		"garbage":   "garbage",
	} {
		os.WriteFile(kept[0], []byte(damage), 0o600)
		if got := list(); got != want {
			t.Errorf("%s kept listing: printed %q, want %q", name, got, want)
		}
		if data, err := os.ReadFile(kept[0]); err != nil || !strings.HasSuffix(string(data), want) {
			t.Errorf("%s kept listing not replaced: %q, %v", name, data, err)
		}
	}

	os.WriteFile(filepath.Join(dir, "a.go"), []byte("package a\n\nfunc Foo() {}\n\nfunc Baz() {}\n"), 0o644)
	if got := list(); got != "a.go:3 function Foo\na.go:5 function Baz\nb.go:3 struct Bar\n" {
		t.Errorf("after an edit: %q", got)
	}
}
