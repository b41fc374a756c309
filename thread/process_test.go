package thread

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/loom-agent/loom/llm"
)

// childEnv makes the test binary a writer process instead of running the
// tests (see TestMain).
const childEnv = "LOOM_THREAD_TEST_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) != "" {
		os.Exit(childWriter())
	}
	os.Exit(m.Run())
}

// childWriter appends turns to a thread, as another Loom process would:
// it waits for a line on stdin (so all children start together), then
// appends $N turns (0: until killed) tagged $TAG to thread $ID in $DB,
// printing "committed TAG i" after each commit.
func childWriter() int {
	db, id, tag := os.Getenv("DB"), os.Getenv("ID"), os.Getenv("TAG")
	n, _ := strconv.Atoi(os.Getenv("N"))
	pad, _ := strconv.Atoi(os.Getenv("PAD"))
	s, err := Open(db)
	if err != nil {
		fmt.Fprintln(os.Stderr, "open:", err)
		return 1
	}
	defer s.Close()
	ctx := context.Background()
	// A thread of its own too, so creation and finishing race as well.
	own, err := s.Create(ctx, Meta{Workspace: "/child", Title: "child " + tag})
	if err != nil {
		fmt.Fprintln(os.Stderr, "create:", err)
		return 1
	}
	bufio.NewReader(os.Stdin).ReadString('\n')
	out := bufio.NewWriter(os.Stdout)
	for i := 0; n == 0 || i < n; i++ {
		turn := childTurn(tag, i, pad)
		if _, err := s.AppendTurn(ctx, id, turn); err != nil {
			fmt.Fprintf(os.Stderr, "append %d: %v\n", i, err)
			return 1
		}
		fmt.Fprintf(out, "committed %s %d\n", tag, i)
		out.Flush()
		if i%10 == 0 {
			if _, err := s.AppendTurn(ctx, own.ID, turn); err != nil {
				fmt.Fprintf(os.Stderr, "append to own %d: %v\n", i, err)
				return 1
			}
		}
	}
	if err := s.Finish(ctx, own.ID, Outcome{Status: StatusDone, Diff: "diff " + tag}); err != nil {
		fmt.Fprintln(os.Stderr, "finish:", err)
		return 1
	}
	return 0
}

// childTurn is turn i of writer tag: an assistant call and its result,
// the result padded with pad bytes so a commit takes a while.
func childTurn(tag string, i, pad int) Turn {
	id := fmt.Sprintf("call_%s_%d", tag, i)
	return Turn{
		Usage: llm.Usage{PromptTokens: 1, CompletionTokens: 1},
		Messages: []llm.Message{
			{Role: llm.RoleAssistant, Content: fmt.Sprintf("writer %s turn %d", tag, i),
				ToolCalls: []llm.ToolCall{{ID: id, Name: "read_file", Arguments: `{"path":"x.go"}`}}},
			{Role: llm.RoleTool, ToolCallID: id, Content: fmt.Sprintf("result %s %d\n", tag, i) + strings.Repeat("x", pad)},
		},
	}
}

// startWriter starts a child writer; the caller writes a line to its
// stdin to let it go.
func startWriter(t *testing.T, db, id, tag string, n, pad int) (*exec.Cmd, *os.File, *bufio.Scanner, *strings.Builder) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"=1", "DB="+db, "ID="+id, "TAG="+tag,
		"N="+strconv.Itoa(n), "PAD="+strconv.Itoa(pad))
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr := new(strings.Builder)
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return cmd, stdin.(*os.File), bufio.NewScanner(stdout), stderr
}

// TestProcessesWriteAtOnce runs writer processes appending to one thread
// at once: every turn must land, in each writer's order, with no error.
func TestProcessesWriteAtOnce(t *testing.T) {
	const writers, turns = 3, 120
	db := filepath.Join(t.TempDir(), "threads.db")
	s, err := Open(db)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	shared := newThread(t, s, Meta{Title: "shared"}, userTurn("start"))

	type child struct {
		cmd    *exec.Cmd
		stdin  *os.File
		out    *bufio.Scanner
		stderr *strings.Builder
	}
	var kids []child
	for w := range writers {
		cmd, stdin, out, stderr := startWriter(t, db, shared, strconv.Itoa(w), turns, 2000)
		kids = append(kids, child{cmd, stdin, out, stderr})
	}
	for _, k := range kids {
		fmt.Fprintln(k.stdin, "go")
	}
	// Meanwhile this process writes too, and reads.
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := range turns / 4 {
			if _, err := s.AppendTurn(ctx, shared, childTurn("parent", i, 100)); err != nil {
				t.Errorf("parent append %d: %v", i, err)
				return
			}
			if _, err := s.Search(ctx, "writer", Filter{}); err != nil {
				t.Errorf("parent search: %v", err)
				return
			}
		}
	})
	for _, k := range kids {
		lines := 0
		for k.out.Scan() {
			lines++
		}
		if err := k.cmd.Wait(); err != nil || k.stderr.Len() > 0 || lines != turns {
			t.Errorf("writer: %v, %d commits reported, stderr: %s", err, lines, k.stderr)
		}
	}
	wg.Wait()

	th, err := s.Get(ctx, shared)
	if err != nil {
		t.Fatal(err)
	}
	if want := 1 + writers*turns + turns/4; len(th.Turns) != want {
		t.Fatalf("%d turns, want %d", len(th.Turns), want)
	}
	next := map[string]int{} // writer tag → next turn expected from it
	switches := 0
	prev := ""
	for i, turn := range th.Turns[1:] {
		var tag string
		var n int
		if _, err := fmt.Sscanf(turn.Messages[0].Content, "writer %s turn %d", &tag, &n); err != nil {
			t.Fatalf("turn %d: %q", i+1, turn.Messages[0].Content)
		}
		if n != next[tag] {
			t.Fatalf("turn %d is writer %s's turn %d, want %d", i+1, tag, n, next[tag])
		}
		next[tag]++
		if tag != prev {
			switches++
		}
		prev = tag
		if turn.N != i+1 || len(turn.Messages) != 2 || !strings.HasPrefix(turn.Messages[1].Content, fmt.Sprintf("result %s %d\n", tag, n)) {
			t.Fatalf("turn %d damaged: %+v", i+1, turn.Messages[0])
		}
	}
	t.Logf("%d writers interleaved %d times", writers+1, switches)
	own, err := s.List(ctx, Filter{Workspace: "/child", Status: StatusDone})
	if err != nil || len(own) != writers {
		t.Errorf("the writers' own threads: %d done, %v", len(own), err)
	}
	for _, th := range own {
		if th.TurnCount != (turns+9)/10 {
			t.Errorf("thread %s has %d turns, want %d", th.Title, th.TurnCount, (turns+9)/10)
		}
	}
}

// TestKilledWriter kills a writer with SIGKILL in the middle of its
// stream of commits: the database must open, pass integrity checks and
// hold every turn the writer reported committed.
func TestKilledWriter(t *testing.T) {
	for _, after := range []int{1, 17, 60} {
		t.Run(fmt.Sprintf("after %d commits", after), func(t *testing.T) {
			db := filepath.Join(t.TempDir(), "threads.db")
			s, err := Open(db)
			if err != nil {
				t.Fatal(err)
			}
			id := newThread(t, s, Meta{Title: "victim"}, userTurn("start"))
			s.Close()

			cmd, stdin, out, stderr := startWriter(t, db, id, "k", 0, 64<<10)
			fmt.Fprintln(stdin, "go")
			committed := -1
			for out.Scan() {
				var n int
				if _, err := fmt.Sscanf(out.Text(), "committed k %d", &n); err != nil || n != committed+1 {
					t.Fatalf("writer said %q after commit %d", out.Text(), committed)
				}
				committed = n
				if committed+1 == after {
					// Kill mid-stream: the writer is already busy with the
					// next turn.
					if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
						t.Fatal(err)
					}
					break
				}
			}
			werr := cmd.Wait()
			if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
				t.Fatalf("the writer was not killed: %v; stderr: %s", werr, stderr)
			}

			s, err = Open(db)
			if err != nil {
				t.Fatalf("reopening after the kill: %v", err)
			}
			defer s.Close()
			var check string
			if err := s.db.QueryRow(`PRAGMA integrity_check`).Scan(&check); err != nil || check != "ok" {
				t.Fatalf("integrity_check: %q, %v", check, err)
			}
			if _, err := s.db.Exec(`INSERT INTO search (search) VALUES ('integrity-check')`); err != nil {
				t.Fatalf("FTS integrity check: %v", err)
			}
			th, err := s.Get(context.Background(), id)
			if err != nil {
				t.Fatal(err)
			}
			// Every reported turn is there, whole. The writer keeps
			// committing while the signal is on its way (its reports sit in
			// the pipe), so a few more may be there too, each whole.
			got := len(th.Turns) - 1
			if got < committed+1 {
				t.Fatalf("%d turns after the start, want at least the %d reported", got, committed+1)
			}
			for i := range got {
				want := childTurn("k", i, 64<<10)
				m := th.Turns[i+1].Messages
				if len(m) != 2 || m[0].Content != want.Messages[0].Content || m[1].Content != want.Messages[1].Content {
					t.Fatalf("turn %d is damaged", i+1)
				}
			}
			// And the database takes new writes.
			if _, err := s.AppendTurn(context.Background(), id, assistant("after the crash")); err != nil {
				t.Fatal(err)
			}
			t.Logf("killed after %d reported commits; %d turns stored", committed+1, got)
		})
	}
}
