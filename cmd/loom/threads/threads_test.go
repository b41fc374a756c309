package threads

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/loom-agent/loom/cmd/loom/internal/cmdtest"
	"github.com/loom-agent/loom/cmd/loom/internal/cmdutil"
	"github.com/loom-agent/loom/llm"
	"github.com/loom-agent/loom/thread"
	"github.com/loom-agent/loom/workspace"
)

// seeded is a factory whose default database holds two threads: a, done,
// in a workspace with an unapplied edit of greet.go, and b, running, in
// another workspace.
type seeded struct {
	*cmdtest.Factory
	a, b string
	// shortA and shortB are a's and b's IDs as lists show them.
	shortA, shortB string
	wsA            string
	modes          []cmdutil.StoreMode // how each command opened the database
}

const wantDiff = `diff --git a/greet.go b/greet.go
--- a/greet.go
+++ b/greet.go
@@ -1,1 +1,1 @@
-hi
+hello
`

func seed(t *testing.T) *seeded {
	t.Helper()
	s := &seeded{Factory: cmdtest.New(t, "")}
	open := s.OpenStore
	s.OpenStore = func(db string, mode cmdutil.StoreMode) (*thread.Store, error) {
		s.modes = append(s.modes, mode)
		return open(db, mode)
	}
	s.wsA = t.TempDir()
	if err := os.WriteFile(filepath.Join(s.wsA, "greet.go"), []byte("hi\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ws, err := workspace.New(s.wsA)
	if err != nil {
		t.Fatal(err)
	}
	cs := ws.NewChangeset()
	if _, err := cs.WriteFile("greet.go", []byte("hello\n")); err != nil {
		t.Fatal(err)
	}
	st, err := thread.Open(s.DB)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	a, err := st.Create(ctx, thread.Meta{Workspace: ws.Root(), Model: "m", Title: "Fix the tokenizer"})
	if err != nil {
		t.Fatal(err)
	}
	b, err := st.Create(ctx, thread.Meta{Workspace: "/src/b", Model: "m", Title: "Add a flag"})
	if err != nil {
		t.Fatal(err)
	}
	for _, turn := range []thread.Turn{
		{Messages: []llm.Message{{Role: llm.RoleUser, Content: "Fix the tokenizer"}}},
		{Messages: []llm.Message{
			{Role: llm.RoleAssistant, Content: "Reading.", ToolCalls: []llm.ToolCall{{ID: "c1", Name: "read_file", Arguments: `{"path":"lex.go"}`}}},
			{Role: llm.RoleTool, ToolCallID: "c1", Content: "package lex"},
		}},
	} {
		if _, err := st.AppendTurn(ctx, a.ID, turn); err != nil {
			t.Fatal(err)
		}
	}
	// a is updated last: lists order by the millisecond of the update, and
	// a tie by ID, whose tail is random.
	time.Sleep(2 * time.Millisecond)
	if err := st.Finish(ctx, a.ID, thread.Outcome{Status: thread.StatusDone, Changes: cs.Changes()}); err != nil {
		t.Fatal(err)
	}
	s.a, s.b = a.ID, b.ID
	short, err := st.ShortIDs(ctx, []string{s.a, s.b})
	if err != nil {
		t.Fatal(err)
	}
	s.shortA, s.shortB = short[s.a], short[s.b]
	return s
}

func TestList(t *testing.T) {
	for _, tt := range []struct {
		name    string
		opts    ListOptions
		want    []string // in stdout, in this order
		notWant []string
		errOut  string
		usage   bool
	}{
		{name: "all, last updated first", want: []string{"a", "b"}},
		{name: "done as JSON", opts: ListOptions{JSON: true, Filter: FilterFlags{Status: "done"}}, want: []string{"a"}, notWant: []string{"b"}},
		{name: "one workspace", opts: ListOptions{Filter: FilterFlags{Workspace: "/src/b"}}, want: []string{"b"}, notWant: []string{"a"}},
		{name: "none", opts: ListOptions{Filter: FilterFlags{Workspace: "/nowhere"}}, notWant: []string{"a", "b"}, errOut: "No threads."},
		{name: "empty JSON", opts: ListOptions{JSON: true, Filter: FilterFlags{Workspace: "/nowhere"}}, want: []string{"[]"}},
		{name: "bad status", opts: ListOptions{Filter: FilterFlags{Status: "weird"}}, usage: true},
		{name: "bad since", opts: ListOptions{Filter: FilterFlags{Since: "yesterday"}}, usage: true},
		{name: "bad limit", opts: ListOptions{Filter: FilterFlags{Limit: -1}}, usage: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := seed(t)
			opts := tt.opts
			opts.IO, opts.OpenStore = s.IOStreams, s.OpenStore
			err := listRun(context.Background(), &opts)
			if tt.usage {
				if !errors.As(err, new(*cmdutil.UsageError)) || len(s.modes) != 0 {
					t.Fatalf("listRun = %v, opened the database %d times; want a usage error before opening it", err, len(s.modes))
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(s.modes, []cmdutil.StoreMode{cmdutil.ReadOnly}) {
				t.Errorf("opened the database %v, want read-only once", s.modes)
			}
			// Text shows the IDs short, JSON whole.
			out, ids := s.Out.String(), map[string]string{"a": s.shortA, "b": s.shortB}
			if opts.JSON {
				ids = map[string]string{"a": s.a, "b": s.b}
			}
			at := 0
			for _, w := range tt.want {
				if id, ok := ids[w]; ok {
					w = id
				}
				i := strings.Index(out[at:], w)
				if i < 0 {
					t.Fatalf("stdout lacks %q (in order):\n%s", w, out)
				}
				at += i + len(w)
			}
			for _, w := range tt.notWant {
				if strings.Contains(out, ids[w]) {
					t.Errorf("stdout holds thread %s:\n%s", w, out)
				}
			}
			if opts.JSON {
				n := 0
				for _, w := range tt.want {
					if _, ok := ids[w]; ok {
						n++
					}
				}
				var listed []thread.Thread
				if err := json.Unmarshal([]byte(out), &listed); err != nil || len(listed) != n {
					t.Errorf("JSON: %v, %d threads\n%s", err, len(listed), out)
				}
			}
			if !strings.Contains(s.Err.String(), tt.errOut) {
				t.Errorf("stderr = %q, want %q", s.Err, tt.errOut)
			}
		})
	}
}

func TestShow(t *testing.T) {
	for _, tt := range []struct {
		name   string
		opts   func(s *seeded) ShowOptions
		check  func(t *testing.T, s *seeded, out string)
		errOut string
		err    string
	}{
		{name: "markdown by prefix", opts: func(s *seeded) ShowOptions { return ShowOptions{ID: prefixOf(s.a, s.b)} },
			check: func(t *testing.T, s *seeded, out string) {
				if !strings.HasPrefix(out, "# Fix the tokenizer\n") || !strings.Contains(out, "Tool call `read_file` (c1)") {
					t.Errorf("markdown:\n%s", out)
				}
			}},
		{name: "JSON", opts: func(s *seeded) ShowOptions { return ShowOptions{ID: s.a, JSON: true} },
			check: func(t *testing.T, s *seeded, out string) {
				var got thread.Thread
				if err := json.Unmarshal([]byte(out), &got); err != nil || got.ID != s.a || len(got.Messages()) != 3 {
					t.Errorf("JSON: %v\n%s", err, out)
				}
			}},
		{name: "the staged diff", opts: func(s *seeded) ShowOptions { return ShowOptions{ID: s.a, Diff: true} },
			check: func(t *testing.T, s *seeded, out string) {
				if out != wantDiff {
					t.Errorf("diff =\n%s\nwant\n%s", out, wantDiff)
				}
			}},
		{name: "no staged diff", opts: func(s *seeded) ShowOptions { return ShowOptions{ID: s.b, Diff: true} },
			check: func(t *testing.T, s *seeded, out string) {
				if out != "" {
					t.Errorf("stdout: %s", out)
				}
			}, errOut: "has no unapplied edits"},
		{name: "unknown", opts: func(s *seeded) ShowOptions { return ShowOptions{ID: "zzzzzz"} }, err: "no such thread"},
		{name: "unknown, diff", opts: func(s *seeded) ShowOptions { return ShowOptions{ID: "zzzzzz", Diff: true} }, err: "no such thread"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := seed(t)
			opts := tt.opts(s)
			opts.IO, opts.OpenStore = s.IOStreams, s.OpenStore
			err := showRun(context.Background(), &opts)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("showRun = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, s, s.Out.String())
			if !strings.Contains(s.Err.String(), tt.errOut) {
				t.Errorf("stderr = %q, want %q", s.Err, tt.errOut)
			}
			if !reflect.DeepEqual(s.modes, []cmdutil.StoreMode{cmdutil.ReadOnly}) {
				t.Errorf("opened the database %v, want read-only once", s.modes)
			}
		})
	}
}

// TestSearchExportRm: the other subcommands on the same database.
func TestSearchExportRm(t *testing.T) {
	s := seed(t)
	ctx := context.Background()
	// a's title and first message both match: a is listed once.
	if err := searchRun(ctx, &SearchOptions{IO: s.IOStreams, OpenStore: s.OpenStore, Query: "tokenizer"}); err != nil ||
		!strings.HasPrefix(s.Out.String(), s.shortA+" ") || strings.Count(s.Out.String(), s.shortA) != 1 || strings.Contains(s.Out.String(), s.shortB) {
		t.Errorf("search: %v\n%s", err, s.Out)
	}
	if err := searchRun(ctx, &SearchOptions{IO: s.IOStreams, OpenStore: s.OpenStore, Query: " "}); !errors.As(err, new(*cmdutil.UsageError)) {
		t.Errorf("empty query: %v, want a usage error", err)
	}
	s.Out.Reset()
	if err := exportRun(ctx, &ExportOptions{IO: s.IOStreams, OpenStore: s.OpenStore, ID: s.a, Format: "json"}); err != nil ||
		!json.Valid(s.Out.Bytes()) || !strings.Contains(s.Out.String(), s.a) {
		t.Errorf("export: %v\n%s", err, s.Out)
	}
	if err := exportRun(ctx, &ExportOptions{IO: s.IOStreams, OpenStore: s.OpenStore, ID: s.a, Format: "pdf"}); !errors.As(err, new(*cmdutil.UsageError)) {
		t.Errorf("export as pdf: %v, want a usage error", err)
	}
	s.modes = nil
	if err := rmRun(ctx, &RmOptions{IO: s.IOStreams, OpenStore: s.OpenStore, IDs: []string{s.b}}); err != nil ||
		!strings.Contains(s.Err.String(), "Deleted "+s.b) || !reflect.DeepEqual(s.modes, []cmdutil.StoreMode{cmdutil.ReadWrite}) {
		t.Errorf("rm: %v, modes %v\n%s", err, s.modes, s.Err)
	}
	s.Out.Reset()
	// One row left, a's. (Its short ID may be shorter than before: b, made
	// in the same instant, no longer shares its prefix.)
	err := listRun(ctx, &ListOptions{IO: s.IOStreams, OpenStore: s.OpenStore})
	rows := strings.Split(strings.TrimSpace(s.Out.String()), "\n")[1:]
	if err != nil || len(rows) != 1 || !strings.HasPrefix(s.a, strings.Fields(rows[0])[0]) {
		t.Errorf("list after rm: %v\n%s", err, s.Out)
	}
}

// TestNewCmdFlags: each subcommand's command line, --db inherited from the
// group, becomes its options.
func TestNewCmdFlags(t *testing.T) {
	f := cmdtest.New(t, "")
	var got any
	keep := func(o any) error { got = o; return nil }
	for _, tt := range []struct {
		cmd  *cobra.Command
		args []string
		want any
	}{
		{NewCmdList(f.Factory, func(o *ListOptions) error { return keep(o) }),
			[]string{"list", "--db", "t.db", "--json", "--workspace", ".", "--status", "done", "--since", "7d", "--limit", "3"},
			&ListOptions{DB: "t.db", JSON: true, Filter: FilterFlags{Workspace: ".", Status: "done", Since: "7d", Limit: 3}}},
		{NewCmdList(f.Factory, func(o *ListOptions) error { return keep(o) }), []string{"list"},
			&ListOptions{Filter: FilterFlags{Limit: thread.DefaultLimit}}},
		{NewCmdSearch(f.Factory, func(o *SearchOptions) error { return keep(o) }), []string{"search", "pars*", "empty", "--db", "t.db"},
			&SearchOptions{DB: "t.db", Query: "pars* empty", Filter: FilterFlags{Limit: thread.DefaultLimit}}},
		{NewCmdShow(f.Factory, func(o *ShowOptions) error { return keep(o) }), []string{"--db", "t.db", "show", "3fa2", "--diff"},
			&ShowOptions{DB: "t.db", ID: "3fa2", Diff: true}},
		{NewCmdExport(f.Factory, func(o *ExportOptions) error { return keep(o) }), []string{"export", "3fa2"},
			&ExportOptions{ID: "3fa2", Format: "markdown"}},
		{NewCmdRm(f.Factory, func(o *RmOptions) error { return keep(o) }), []string{"rm", "a", "b"},
			&RmOptions{IDs: []string{"a", "b"}}},
	} {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			group := &cobra.Command{Use: "threads"}
			AddDBFlag(group)
			group.AddCommand(tt.cmd)
			group.SetArgs(tt.args)
			if err := group.Execute(); err != nil {
				t.Fatal(err)
			}
			// Only the flags: the streams and the database opener are the
			// factory's.
			v := reflect.ValueOf(got).Elem()
			if v.FieldByName("IO").Interface() != f.IOStreams || v.FieldByName("OpenStore").IsNil() {
				t.Fatal("the options lack the factory's dependencies")
			}
			v.FieldByName("IO").SetZero()
			v.FieldByName("OpenStore").SetZero()
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("options = %+v, want %+v", got, tt.want)
			}
		})
	}
}

// prefixOf returns a prefix of a that b does not share: IDs made in the
// same millisecond share their first characters.
func prefixOf(a, b string) string {
	n := 6
	for n < len(a) && strings.HasPrefix(b, a[:n]) {
		n++
	}
	return a[:n]
}

// TestListColumns: the list has a header line, and marks the thread whose
// staged edits nobody applied (a), not the one without (b).
func TestListColumns(t *testing.T) {
	s := seed(t)
	if err := listRun(context.Background(), &ListOptions{IO: s.IOStreams, OpenStore: s.OpenStore}); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(s.Out.String()), "\n")
	if len(lines) != 3 || strings.Join(strings.Fields(lines[0]), " ") != "ID UPDATED STATUS TURNS EDITS TITLE" {
		t.Fatalf("want a header and two threads:\n%s", s.Out)
	}
	for _, tt := range []struct{ id, edits string }{{s.shortA, "unapplied"}, {s.shortB, "-"}} {
		for _, l := range lines[1:] {
			if f := strings.Fields(l); f[0] == tt.id && f[5] != tt.edits {
				t.Errorf("thread %s: edits %q, want %q:\n%s", tt.id, f[5], tt.edits, s.Out)
			}
		}
	}
	// Each ID shown is a prefix of at least thread.MinShortID characters
	// that names its thread alone: show takes it.
	for i, l := range lines[1:] {
		id, want := strings.Fields(l)[0], []string{s.a, s.b}[i]
		if len(id) < thread.MinShortID || !strings.HasPrefix(want, id) {
			t.Errorf("row %d shows ID %q for thread %s", i, id, want)
			continue
		}
		s.Out.Reset()
		if err := showRun(context.Background(), &ShowOptions{IO: s.IOStreams, OpenStore: s.OpenStore, ID: id, JSON: true}); err != nil ||
			!strings.Contains(s.Out.String(), `"id": "`+want+`"`) && !strings.Contains(s.Out.String(), `"id":"`+want+`"`) {
			t.Errorf("show %s: %v\n%s", id, err, s.Out)
		}
	}
}
