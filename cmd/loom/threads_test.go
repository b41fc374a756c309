package main

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/loom-agent/loom/llm"
	"github.com/loom-agent/loom/thread"
)

// loomEnv runs the binary with exactly env as its environment, which
// loomCommand checks.
func loomEnv(t *testing.T, env []string, args ...string) (string, string, int) {
	t.Helper()
	cmd := loomCommand(t, env, args...)
	cmd.Dir = t.TempDir()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return stdout.String(), stderr.String(), code
}

// seedThreads writes two threads into a new database and returns its path
// and their IDs.
func seedThreads(t *testing.T) (string, string, string) {
	t.Helper()
	db := filepath.Join(t.TempDir(), "threads.db")
	st, err := thread.Open(db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	a, _ := st.Create(ctx, thread.Meta{Workspace: "/src/a", Model: "m", Title: "Fix the tokenizer"})
	b, _ := st.Create(ctx, thread.Meta{Workspace: "/src/b", Model: "m", Title: "Add a flag"})
	for _, turn := range []thread.Turn{
		{Messages: []llm.Message{{Role: llm.RoleUser, Content: "Fix the tokenizer"}}},
		{Usage: llm.Usage{PromptTokens: 10, CompletionTokens: 3}, Messages: []llm.Message{
			{Role: llm.RoleAssistant, Content: "Reading.", ToolCalls: []llm.ToolCall{{ID: "c1", Name: "read_file", Arguments: `{"path":"lex.go"}`}}},
			{Role: llm.RoleTool, ToolCallID: "c1", Content: "package lex // ```the tokenizer```"},
		}},
	} {
		if _, err := st.AppendTurn(ctx, a.ID, turn); err != nil {
			t.Fatal(err)
		}
	}
	st.AppendTurn(ctx, b.ID, thread.Turn{Messages: []llm.Message{{Role: llm.RoleUser, Content: "Add a flag"}}})
	st.Finish(ctx, a.ID, thread.Outcome{Status: thread.StatusDone, Diff: "--- a/lex.go\n+++ b/lex.go\n"})
	return db, a.ID, b.ID
}

// lists reports whether a list on stdout (loom threads list or search)
// has a row for thread id: an ID column that is a prefix of id, at least
// thread.MinShortID long, as lists shorten IDs.
func lists(out, id string) bool {
	for _, l := range strings.Split(out, "\n") {
		if f := strings.Fields(l); len(f) > 0 && len(f[0]) >= thread.MinShortID && strings.HasPrefix(id, f[0]) {
			return true
		}
	}
	return false
}

func TestThreadsCommands(t *testing.T) {
	db, a, b := seedThreads(t)
	env := privateEnv(t) // empty HOME and XDG folders: only --db holds threads
	run := func(args ...string) (string, string, int) { return loomEnv(t, env, append(args, "--db", db)...) }

	out, errOut, code := run("threads", "list")
	if code != 0 || !lists(out, a) || !lists(out, b) || !strings.Contains(out, "Fix the tokenizer") {
		t.Fatalf("list: exit %d\n%s%s", code, out, errOut)
	}
	out, _, _ = run("threads", "list", "--status", "done", "--json")
	var listed []thread.Thread
	if err := json.Unmarshal([]byte(out), &listed); err != nil || len(listed) != 1 || listed[0].ID != a || listed[0].TurnCount != 2 {
		t.Errorf("list --status done --json: %v\n%s", err, out)
	}

	out, _, code = run("threads", "search", "tokenizer")
	if code != 0 || !lists(out, a) || !strings.HasPrefix(a, strings.Fields(out)[0]) || !strings.Contains(out, "«tokenizer»") || lists(out, b) {
		t.Errorf("search: exit %d\n%s", code, out)
	}
	out, _, _ = run("threads", "search", "--json", `"unbalanced tokenizer`)
	var hits []thread.Hit
	if err := json.Unmarshal([]byte(out), &hits); err != nil || len(hits) != 0 {
		t.Errorf("search of a malformed query: %v\n%s", err, out)
	}
	out, _, _ = run("threads", "search", "--json", "--workspace", "/src/b", "tok*")
	if strings.TrimSpace(out) != "[]" {
		t.Errorf("search filtered to another workspace: %s", out)
	}

	k := 1 // the shortest prefix of a that is not one of b (IDs made in the same second share more)
	for a[:k] == b[:k] {
		k++
	}
	out, _, code = run("threads", "show", a[:k])
	if code != 0 || !strings.HasPrefix(out, "# Fix the tokenizer\n") || !strings.Contains(out, "Tool call `read_file` (c1)") ||
		!strings.Contains(out, "````\npackage lex // ```the tokenizer```\n````") || !strings.Contains(out, "## Diff") {
		t.Errorf("show: exit %d\n%s", code, out)
	}
	out, _, code = run("threads", "export", a, "--format", "json")
	var got thread.Thread
	if err := json.Unmarshal([]byte(out), &got); err != nil || code != 0 || got.ID != a || len(got.Messages()) != 3 ||
		got.Turns[1].Messages[0].ToolCalls[0].Arguments != `{"path":"lex.go"}` {
		t.Errorf("export --format json: %v, exit %d\n%s", err, code, out)
	}

	_, errOut, code = run("threads", "rm", b)
	if code != 0 || !strings.Contains(errOut, "Deleted "+b) {
		t.Errorf("rm: exit %d, %s", code, errOut)
	}
	out, _, _ = run("threads", "list")
	if lists(out, b) || !lists(out, a) {
		t.Errorf("list after rm:\n%s", out)
	}
}

func TestThreadsErrors(t *testing.T) {
	db, _, _ := seedThreads(t)
	env := privateEnv(t)
	for _, tt := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"unknown ID", []string{"threads", "show", "zzzzzz"}, exitFailure, "no such thread"},
		{"ID with bad characters", []string{"threads", "rm", "../x"}, exitFailure, "no such thread"},
		{"bad status", []string{"threads", "list", "--status", "weird"}, exitUsage, "--status"},
		{"bad since", []string{"threads", "list", "--since", "yesterday"}, exitUsage, "--since"},
		{"bad format", []string{"threads", "export", "x", "--format", "pdf"}, exitUsage, "unknown export format"},
		{"empty query", []string{"threads", "search", " "}, exitUsage, "the query is empty"},
		{"no words", []string{"threads", "search", "*"}, exitUsage, "no words"},
		{"missing ID", []string{"threads", "show"}, exitUsage, "accepts 1 arg"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, errOut, code := loomEnv(t, env, append(tt.args, "--db", db)...)
			if code != tt.code || !strings.Contains(errOut, tt.want) {
				t.Errorf("exit %d, stderr %q; want exit %d mentioning %q", code, errOut, tt.code, tt.want)
			}
		})
	}
}

// TestThreadsDatabaseLocation checks where the database goes without --db.
// Each child has a HOME of its own (checkPrivateEnv insists); without HOME
// the binary would take the user's real home folder from the user
// database, which thread.TestDefaultPath covers without opening it.
func TestThreadsDatabaseLocation(t *testing.T) {
	dir := t.TempDir()
	path := "PATH=" + os.Getenv("PATH")
	home := "HOME=" + filepath.Join(dir, "home")
	for _, tt := range []struct {
		name string
		env  []string
		want string
	}{
		{"LOOM_DB", []string{path, home, "LOOM_DB=" + filepath.Join(dir, "env.db"), "XDG_DATA_HOME=" + filepath.Join(dir, "xdg")}, filepath.Join(dir, "env.db")},
		{"XDG_DATA_HOME", []string{path, home, "XDG_DATA_HOME=" + filepath.Join(dir, "xdg")}, filepath.Join(dir, "xdg", "loom", "threads.db")},
		{"relative XDG_DATA_HOME ignored", []string{path, home, "XDG_DATA_HOME=xdg"}, filepath.Join(dir, "home", ".local", "share", "loom", "threads.db")},
		{"HOME", []string{path, home}, filepath.Join(dir, "home", ".local", "share", "loom", "threads.db")},
	} {
		t.Run(tt.name, func(t *testing.T) {
			os.RemoveAll(filepath.Join(dir, "home"))
			out, errOut, code := loomEnv(t, tt.env, "threads", "list", "--json")
			if code != 0 || strings.TrimSpace(out) != "[]" {
				t.Fatalf("exit %d: %s%s", code, out, errOut)
			}
			if _, err := os.Stat(tt.want); err != nil {
				t.Errorf("no database at %s: %v", tt.want, err)
			}
		})
	}
}

// TestThreadsLockedDatabase: while another process holds the database's
// write lock, list answers at once, and rm says on stderr that the file
// is locked, then finishes once the lock is released.
func TestThreadsLockedDatabase(t *testing.T) {
	db, a, _ := seedThreads(t)
	lock, err := sql.Open("sqlite", "file:"+db)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()
	conn, err := lock.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(context.Background(), "BEGIN EXCLUSIVE"); err != nil {
		t.Fatal(err)
	}
	env := privateEnv(t)

	// Answered without waiting for the lock: a list that waited would say
	// "locked" after a second and give up after ten, well within the
	// hang guard.
	listed := make(chan string, 1)
	go func() {
		out, errOut, code := loomEnv(t, env, "threads", "list", "--db", db)
		listed <- fmt.Sprintf("exit %d\n%s%s", code, out, errOut)
	}()
	select {
	case got := <-listed:
		if !strings.HasPrefix(got, "exit 0\n") || !lists(got, a) || strings.Contains(got, "locked") {
			t.Errorf("list while locked: %s", got)
		}
	case <-time.After(hangGuard):
		t.Fatal("list still running: it waited for the lock")
	}

	cmd := loomCommand(t, env, "threads", "rm", a, "--db", db)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	sc := bufio.NewScanner(stderr)
	noticed := false
	for !noticed && sc.Scan() {
		noticed = strings.Contains(sc.Text(), "locked by another process") && strings.Contains(sc.Text(), db)
	}
	if !noticed {
		cmd.Wait()
		t.Fatal("rm never said the database is locked")
	}
	conn.ExecContext(context.Background(), "ROLLBACK")
	rest, _ := io.ReadAll(stderr)
	if err := cmd.Wait(); err != nil || !strings.Contains(string(rest), "Deleted "+a) {
		t.Errorf("rm after the lock was released: %v\n%s", err, rest)
	}
}

// TestThreadsReadOnlyDatabase: a database the user may not write (a 0444
// file, a read-only folder) is listed, searched and shown; rm fails saying
// it is read-only. Root may write any file, so as root loom runs as nobody.
func TestThreadsReadOnlyDatabase(t *testing.T) {
	for _, tt := range []struct {
		name              string
		fileMode, dirMode os.FileMode
	}{
		{"0444 file", 0o444, 0o755},
		{"read-only folder", 0o644, 0o555},
	} {
		t.Run(tt.name, func(t *testing.T) {
			db, a, _ := seedThreads(t)
			dir := filepath.Dir(db)
			var cred *syscall.Credential
			if os.Getuid() == 0 {
				const nobody = 65534
				cred = &syscall.Credential{Uid: nobody, Gid: nobody}
				// nobody must reach the binary and the database.
				for _, d := range []string{filepath.Dir(loomBin), filepath.Dir(dir)} {
					if err := os.Chmod(d, 0o755); err != nil {
						t.Fatal(err)
					}
				}
				for _, p := range []string{dir, db} {
					if err := os.Chown(p, nobody, nobody); err != nil {
						t.Fatal(err)
					}
				}
			}
			if err := os.Chmod(db, tt.fileMode); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(dir, tt.dirMode); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { os.Chmod(dir, 0o755) })
			run := func(args ...string) (string, string, int) {
				cmd := loomCommand(t, privateEnv(t), append(args, "--db", db)...)
				cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
				var stdout, stderr bytes.Buffer
				cmd.Stdout, cmd.Stderr = &stdout, &stderr
				err := cmd.Run()
				var ee *exec.ExitError
				if err != nil && !errors.As(err, &ee) {
					t.Fatal(err)
				}
				return stdout.String(), stderr.String(), cmd.ProcessState.ExitCode()
			}
			for _, args := range [][]string{{"threads", "list"}, {"threads", "search", "tokenizer"}, {"threads", "show", a}} {
				// Lists show IDs short, show whole.
				if out, errOut, code := run(args...); code != 0 || !strings.Contains(out, a) && !lists(out, a) {
					t.Errorf("%v: exit %d\n%s%s", args, code, out, errOut)
				}
			}
			_, errOut, code := run("threads", "rm", a)
			if code != exitFailure || !strings.Contains(errOut, "read-only") || !strings.Contains(errOut, db) {
				t.Errorf("rm: exit %d: %s", code, errOut)
			}
		})
	}
}
