package apply

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/loom-agent/loom/cmd/loom/internal/cmdtest"
	"github.com/loom-agent/loom/cmd/loom/internal/cmdutil"
	"github.com/loom-agent/loom/thread"
	"github.com/loom-agent/loom/workspace"
)

// staged records a finished thread whose run staged greet.go's edit
// (hi → hello) in a new workspace, and returns the factory, the thread ID
// and the workspace.
func staged(t *testing.T) (*cmdtest.Factory, string, string) {
	t.Helper()
	f := cmdtest.New(t, "")
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "greet.go"), []byte("hi\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ws, err := workspace.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	cs := ws.NewChangeset()
	if _, err := cs.WriteFile("greet.go", []byte("hello\n")); err != nil {
		t.Fatal(err)
	}
	st, err := thread.Open(f.DB)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	th, err := st.Create(ctx, thread.Meta{Workspace: ws.Root(), Title: "greet"})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Finish(ctx, th.ID, thread.Outcome{Status: thread.StatusDone, Changes: cs.Changes()}); err != nil {
		t.Fatal(err)
	}
	return f, th.ID, dir
}

func TestApply(t *testing.T) {
	for _, tt := range []struct {
		name     string
		prepare  func(t *testing.T, o *ApplyOptions, dir string)
		out      string
		errOut   string
		err      string
		conflict bool
		greet    string // greet.go afterwards
		kept     bool   // the thread still holds the edit
	}{
		{name: "applies by prefix", prepare: func(t *testing.T, o *ApplyOptions, _ string) { o.Thread = o.Thread[:6] },
			out: "modify greet.go\n", errOut: "Applied 1 file(s) in ", greet: "hello\n"},
		{name: "into the given root", prepare: func(t *testing.T, o *ApplyOptions, dir string) { o.Root = dir },
			out: "modify greet.go\n", errOut: "Applied 1 file(s) in ", greet: "hello\n"},
		{name: "conflict", prepare: func(t *testing.T, o *ApplyOptions, dir string) {
			os.WriteFile(filepath.Join(dir, "greet.go"), []byte("hey\n"), 0o644)
		}, err: "greet.go", conflict: true, greet: "hey\n", kept: true},
		{name: "another workspace", prepare: func(t *testing.T, o *ApplyOptions, _ string) { o.Root = t.TempDir() },
			err: "staged its edits in", greet: "hi\n", kept: true},
		{name: "unknown thread", prepare: func(t *testing.T, o *ApplyOptions, _ string) { o.Thread = "zzzzzz" },
			err: "no such thread", greet: "hi\n", kept: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f, id, dir := staged(t)
			opts := &ApplyOptions{IO: f.IOStreams, OpenStore: f.OpenStore, Workspace: f.Workspace, Thread: id}
			tt.prepare(t, opts, dir)
			err := applyRun(context.Background(), opts)
			switch {
			case tt.err == "" && err != nil:
				t.Fatalf("applyRun: %v", err)
			case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
				t.Fatalf("applyRun = %v, want %q", err, tt.err)
			case tt.conflict && !errors.As(err, new(*workspace.ConflictError)):
				t.Fatalf("applyRun = %v, want a conflict", err)
			}
			if f.Out.String() != tt.out || !strings.Contains(f.Err.String(), tt.errOut) {
				t.Errorf("stdout %q, stderr %q; want %q, %q", f.Out, f.Err, tt.out, tt.errOut)
			}
			if b, _ := os.ReadFile(filepath.Join(dir, "greet.go")); string(b) != tt.greet {
				t.Errorf("greet.go = %q, want %q", b, tt.greet)
			}
			st, err := thread.Open(f.DB)
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			th, err := st.Get(context.Background(), id)
			if err != nil || (len(th.Changes) > 0) != tt.kept {
				t.Errorf("the thread keeps %d change(s) (%v), want kept = %v", len(th.Changes), err, tt.kept)
			}
		})
	}
}

// TestApplyTwice: once applied, the edits are gone from the thread, and a
// second apply says so and writes nothing.
func TestApplyTwice(t *testing.T) {
	f, id, dir := staged(t)
	opts := &ApplyOptions{IO: f.IOStreams, OpenStore: f.OpenStore, Workspace: f.Workspace, Thread: id}
	if err := applyRun(context.Background(), opts); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "greet.go"), []byte("later\n"), 0o644)
	f.Out.Reset()
	f.Err.Reset()
	if err := applyRun(context.Background(), opts); err != nil || f.Out.Len() != 0 || !strings.Contains(f.Err.String(), "has no unapplied edits") {
		t.Errorf("second apply: %v, stdout %q, stderr %q", err, f.Out, f.Err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "greet.go")); string(b) != "later\n" {
		t.Errorf("greet.go = %q after a second apply", b)
	}
}

func TestNewCmdApplyFlags(t *testing.T) {
	f := cmdtest.New(t, "")
	for _, tt := range []struct {
		args []string
		want ApplyOptions
		err  bool
	}{
		{args: []string{"3fa2"}, want: ApplyOptions{Thread: "3fa2"}},
		{args: []string{"3fa2", "--db", "t.db", "--root", "/src"}, want: ApplyOptions{Thread: "3fa2", DB: "t.db", Root: "/src"}},
		{args: []string{}, err: true},
		{args: []string{"a", "b"}, err: true},
	} {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var got *ApplyOptions
			cmd := NewCmdApply(f.Factory, func(o *ApplyOptions) error { got = o; return nil })
			cmd.SetArgs(tt.args)
			cmd.SetOut(f.Err)
			cmd.SetErr(f.Err)
			err := cmd.Execute()
			if tt.err {
				if !errors.As(err, new(*cmdutil.UsageError)) || got != nil {
					t.Errorf("Execute = %v, ran %v; want a usage error", err, got != nil)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got.IO, got.OpenStore, got.Workspace = nil, nil, nil
			if !reflect.DeepEqual(*got, tt.want) {
				t.Errorf("options = %+v, want %+v", *got, tt.want)
			}
		})
	}
}
