package tools

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/loom-agent/loom/workspace"
)

func shellEnv(t *testing.T) (*Env, string) {
	t.Helper()
	ws, err := workspace.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return &Env{Changes: ws.NewChangeset(), Approver: AlwaysApprove}, ws.Root()
}

func shellArgsJSON(t *testing.T, v map[string]any) json.RawMessage {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestShellDisabledByDefault(t *testing.T) {
	env, root := shellEnv(t)
	env.Approver = nil
	_, err := Shell{}.Run(context.Background(), env, shellArgsJSON(t, map[string]any{"command": "touch ran"}))
	if err == nil || !strings.Contains(err.Error(), "disabled") || !strings.Contains(err.Error(), "--allow-shell") {
		t.Fatalf("err = %v, want a disabled error naming --allow-shell", err)
	}
	if _, err := os.Stat(filepath.Join(root, "ran")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the command ran although the shell is disabled (stat: %v)", err)
	}
}

func TestShellSpec(t *testing.T) {
	s := Shell{}.Spec()
	if s.Name != "shell" || s.Effect != EffectExecute || !s.Destructive || s.Idempotent {
		t.Errorf("spec flags = %+v", s)
	}
	if !json.Valid(s.Schema) {
		t.Errorf("schema is not valid JSON: %s", s.Schema)
	}
	if !strings.Contains(s.Description, "changeset") || !strings.Contains(s.Description, "workspace root") {
		t.Errorf("description does not warn about the changeset / name the root: %q", s.Description)
	}
}

func TestShellRun(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		setup   func(t *testing.T, root string)
		args    map[string]any
		wantErr string // substring; empty means success
		check   func(t *testing.T, root string, res Result, d ShellData)
	}{
		{
			name: "runs in root",
			args: map[string]any{"command": "pwd -P"},
			check: func(t *testing.T, root string, res Result, d ShellData) {
				if want := root + "\nexit status 0"; res.Text != want {
					t.Errorf("text = %q, want %q", res.Text, want)
				}
				if d.ExitCode != 0 || d.TimedOut || d.Truncated {
					t.Errorf("data = %+v", d)
				}
			},
		},
		{
			name:  "cwd inside root",
			setup: func(t *testing.T, root string) { shellMkdir(t, filepath.Join(root, "sub", "dir")) },
			args:  map[string]any{"command": "pwd -P", "cwd": "sub/dir"},
			check: func(t *testing.T, root string, res Result, d ShellData) {
				if want := filepath.Join(root, "sub", "dir") + "\nexit status 0"; res.Text != want {
					t.Errorf("text = %q, want %q", res.Text, want)
				}
			},
		},
		{
			name: "exit code and stderr reported",
			args: map[string]any{"command": "echo out; echo err >&2; exit 3"},
			check: func(t *testing.T, root string, res Result, d ShellData) {
				if want := "out\nerr\nexit status 3"; res.Text != want {
					t.Errorf("text = %q, want %q", res.Text, want)
				}
				if d.ExitCode != 3 {
					t.Errorf("exit_code = %d, want 3", d.ExitCode)
				}
			},
		},
		{
			name: "output without final newline",
			args: map[string]any{"command": "printf abc"},
			check: func(t *testing.T, root string, res Result, d ShellData) {
				if want := "abc\nexit status 0"; res.Text != want {
					t.Errorf("text = %q, want %q", res.Text, want)
				}
			},
		},
		{
			name: "killed by signal",
			args: map[string]any{"command": "kill -9 $$"},
			check: func(t *testing.T, root string, res Result, d ShellData) {
				if want := "terminated by signal: killed"; res.Text != want {
					t.Errorf("text = %q, want %q", res.Text, want)
				}
				if d.ExitCode != -1 {
					t.Errorf("exit_code = %d, want -1", d.ExitCode)
				}
			},
		},
		{
			name: "stdin is /dev/null",
			args: map[string]any{"command": "readlink /proc/self/fd/0"},
			check: func(t *testing.T, root string, res Result, d ShellData) {
				if want := "/dev/null\nexit status 0"; res.Text != want {
					t.Errorf("text = %q, want %q", res.Text, want)
				}
			},
		},
		{
			name: "own process group",
			args: map[string]any{"command": "echo $$; cut -d' ' -f5 /proc/$$/stat"},
			check: func(t *testing.T, root string, res Result, d ShellData) {
				f := strings.Fields(res.Text)
				if len(f) < 2 || f[0] != f[1] || f[0] == strconv.Itoa(syscall.Getpgrp()) {
					t.Errorf("shell pid and pgid = %q, want equal and not the test's group %d", res.Text, syscall.Getpgrp())
				}
			},
		},
		{
			name: "output cap keeps head and tail",
			// 200000 bytes of "012345678\n" then "TAIL-MARK\n": 200010 in all.
			args: map[string]any{"command": "yes 012345678 | head -c 200000; echo TAIL-MARK"},
			check: func(t *testing.T, root string, res Result, d ShellData) {
				if !d.Truncated {
					t.Errorf("truncated = false")
				}
				omitted := 200010 - shellOutputHead - shellOutputTail
				marker := fmt.Sprintf("\n[... %d bytes omitted ...]\n", omitted)
				if !strings.Contains(res.Text, marker) {
					t.Errorf("marker %q missing", marker)
				}
				if !strings.HasPrefix(res.Text, "012345678\n012345678\n") || !strings.HasSuffix(res.Text, "TAIL-MARK\nexit status 0") {
					t.Errorf("head or tail lost: %q ... %q", res.Text[:40], res.Text[len(res.Text)-40:])
				}
				if wantLen := shellOutputHead + shellOutputTail + len(marker) + len("exit status 0"); len(res.Text) != wantLen {
					t.Errorf("len(text) = %d, want %d", len(res.Text), wantLen)
				}
			},
		},
		{
			name: "background job holding the pipe neither blocks nor survives",
			// A Run that waited for the job would hang past the guard of
			// runGuarded; one that left it behind leaves it alive.
			args: map[string]any{"command": "sleep 3600 & echo $! > bg.pid; echo started"},
			check: func(t *testing.T, root string, res Result, d ShellData) {
				if want := "started\nexit status 0"; res.Text != want {
					t.Errorf("text = %q, want %q", res.Text, want)
				}
				shellAssertDead(t, shellReadPid(t, filepath.Join(root, "bg.pid")))
			},
		},
		{
			name:    "cwd outside root refused",
			args:    map[string]any{"command": "touch escaped", "cwd": "../"},
			wantErr: workspace.ErrOutsideRoot.Error(),
		},
		{
			name:    "absolute cwd outside root refused",
			args:    map[string]any{"command": "touch escaped", "cwd": "/"},
			wantErr: workspace.ErrOutsideRoot.Error(),
		},
		{
			name:    "cwd must be a folder",
			setup:   func(t *testing.T, root string) { shellWriteFile(t, filepath.Join(root, "f"), "x") },
			args:    map[string]any{"command": "true", "cwd": "f"},
			wantErr: "not a folder",
		},
		{
			name:    "missing cwd",
			args:    map[string]any{"command": "true", "cwd": "nope"},
			wantErr: "no such file",
		},
		{
			name:    "command required",
			args:    map[string]any{},
			wantErr: `"command" is required`,
		},
		{
			name:    "unknown argument",
			args:    map[string]any{"command": "true", "timeout": 5},
			wantErr: "unknown field",
		},
		{
			name:    "negative timeout",
			args:    map[string]any{"command": "true", "timeout_seconds": -1},
			wantErr: "must be positive",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			env, root := shellEnv(t)
			if tt.setup != nil {
				tt.setup(t, root)
			}
			res, err := runGuarded(t, context.Background(), env, shellArgsJSON(t, tt.args))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tt.wantErr)
				}
				if _, err := os.Stat(filepath.Join(filepath.Dir(root), "escaped")); err == nil {
					t.Fatalf("the command ran outside the root")
				}
				return
			}
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			d, ok := res.Data.(ShellData)
			if !ok {
				t.Fatalf("data is %T, want ShellData", res.Data)
			}
			tt.check(t, root, res, d)
		})
	}
}

// grandchildCmd starts a grandchild sleep that ignores SIGTERM, so only a
// SIGKILL sent to the whole group ends it, and waits for it; its pid lands
// in gc.pid. It sleeps for an hour: a Run that waited for it would hang past
// any guard, and one that left it behind leaves it alive.
const grandchildCmd = `sh -c 'trap "" TERM; sleep 3600 & echo $! > gc.pid; wait'`

// shellHangGuard bounds a Run that should end on a timeout or a cancel:
// far beyond the grace periods and any delay of a loaded machine, it only
// turns a hang into a failure.
const shellHangGuard = 30 * time.Second

// runGuarded runs the shell tool, failing the test if it has not returned
// after shellHangGuard.
func runGuarded(t *testing.T, ctx context.Context, env *Env, args json.RawMessage) (Result, error) {
	t.Helper()
	type ret struct {
		res Result
		err error
	}
	done := make(chan ret, 1)
	go func() {
		res, err := Shell{}.Run(ctx, env, args)
		done <- ret{res, err}
	}()
	select {
	case r := <-done:
		return r.res, r.err
	case <-time.After(shellHangGuard):
		t.Fatalf("Run has not returned after %v", shellHangGuard)
		return Result{}, nil
	}
}

// Every process ignores SIGTERM here, so only the SIGKILL that follows the
// grace period ends them. The timeout leaves the shells time to start on a
// loaded machine: the pid file must be written before it fires.
func TestShellTimeoutKillsGrandchildren(t *testing.T) {
	t.Parallel()
	env, root := shellEnv(t)
	res, err := runGuarded(t, context.Background(), env,
		shellArgsJSON(t, map[string]any{"command": `trap "" TERM; echo before; ` + grandchildCmd, "timeout_seconds": 2}))
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	pid := shellReadPid(t, filepath.Join(root, "gc.pid"))
	shellAssertDead(t, pid)
	if want := "before\ntimed out after 2s; the process group was killed"; res.Text != want {
		t.Errorf("text = %q, want %q", res.Text, want)
	}
	if d := res.Data.(ShellData); !d.TimedOut || d.ExitCode != -1 {
		t.Errorf("data = %+v, want timed_out and exit_code -1", d)
	}
}

// The process that catches SIGTERM is not the group leader, so got.term
// shows the whole group was sent SIGTERM; gc.sh ignores it, so only the
// group SIGKILL ends its hour-long sleep.
func TestShellCancelKillsGroup(t *testing.T) {
	t.Parallel()
	env, root := shellEnv(t)
	shellWriteFile(t, filepath.Join(root, "gc.sh"), "trap '' TERM\necho $$ > gc.pid\nexec sleep 3600\n")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pidFile := filepath.Join(root, "gc.pid")
	go func() {
		// Cancel once the grandchild exists, so the kill has something to
		// do; the hang guard of runGuarded ends a wait that never sees it.
		for {
			if b, err := os.ReadFile(pidFile); err == nil && bytes.HasSuffix(b, []byte("\n")) {
				break
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(10 * time.Millisecond):
			}
		}
		cancel()
	}()
	_, err := runGuarded(t, ctx, env, shellArgsJSON(t, map[string]any{
		"command": `sh -c 'trap "echo > got.term; exit 143" TERM; sh gc.sh & wait'`}))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	shellAssertDead(t, shellReadPid(t, pidFile))
	if _, err := os.Stat(filepath.Join(root, "got.term")); err != nil {
		t.Errorf("the child's SIGTERM handler did not run: %v", err)
	}
}

// TestShellKillsEscapedProcesses: a process that left the command's
// process group and session with setsid, and was orphaned to init when its
// parent exited, is killed all the same, whether the command exits, times
// out or is cancelled. The escaped process writes its pid to esc.pid; the
// command waits for that file, so the kill cannot come first.
func TestShellKillsEscapedProcesses(t *testing.T) {
	t.Parallel()
	const (
		// Keeps the output pipe open: the call must not wait for it.
		escape      = `setsid sh -c 'echo $$ > esc.tmp; mv esc.tmp esc.pid; exec sleep 1000' & `
		doubleFork  = `(setsid sh -c 'sleep 1000 >/dev/null 2>&1 & echo $! > esc.tmp; mv esc.tmp esc.pid' &); `
		waitPidFile = `while [ ! -e esc.pid ]; do sleep 0.01; done`
	)
	tests := []struct {
		name    string
		command string
		timeout float64
		cancel  bool
	}{
		{name: "after exit", command: escape + waitPidFile},
		{name: "after exit, double fork", command: doubleFork + waitPidFile},
		// The timeout leaves the escape time to happen on a loaded machine.
		{name: "on timeout", command: escape + waitPidFile + "; sleep 1000", timeout: 2},
		{name: "on cancel", command: doubleFork + waitPidFile + "; sleep 1000", cancel: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			env, root := shellEnv(t)
			pidFile := filepath.Join(root, "esc.pid")
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if tt.cancel {
				go func() {
					for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
						if _, err := os.Stat(pidFile); err == nil {
							break
						}
					}
					cancel()
				}()
			}
			args := map[string]any{"command": tt.command}
			if tt.timeout > 0 {
				args["timeout_seconds"] = tt.timeout
			}
			res, err := runGuarded(t, ctx, env, shellArgsJSON(t, args))
			if tt.cancel != errors.Is(err, context.Canceled) || (!tt.cancel && err != nil) {
				t.Fatalf("err = %v", err)
			}
			if tt.timeout > 0 && !res.Data.(ShellData).TimedOut {
				t.Errorf("data = %+v, want timed_out", res.Data)
			}
			shellAssertDead(t, shellReadPid(t, pidFile))
		})
	}
}

func TestShellTimeout(t *testing.T) {
	tests := []struct {
		env     time.Duration
		seconds float64
		want    time.Duration
	}{
		{0, 0, DefaultShellTimeout},
		{30 * time.Second, 0, 30 * time.Second},
		{0, 1.5, 1500 * time.Millisecond},
		{0, 1e9, MaxShellTimeout},
		{time.Hour, 7200, time.Hour},
	}
	for _, tt := range tests {
		got, err := ShellTimeout(tt.env, tt.seconds)
		if err != nil || got != tt.want {
			t.Errorf("ShellTimeout(%s, %v) = %s, %v; want %s", tt.env, tt.seconds, got, err, tt.want)
		}
	}
}

func TestShellCappedBuffer(t *testing.T) {
	tests := []struct {
		name   string
		writes []string
		want   string
		trunc  bool
	}{
		{"fits", []string{"ab", "cd"}, "abcd", false},
		{"exactly full", []string{"abcdefgh"}, "abcdefgh", false},
		{"one big write", []string{"abcdefghij"}, "abcd\n[... 2 bytes omitted ...]\ngh" + "ij", true},
		{"ring wraps", []string{"abcd", "e", "f", "g", "h", "i", "j", "k"}, "abcd\n[... 3 bytes omitted ...]\nhijk", true},
		// é is two bytes; the head keeps its first, the tail its second.
		{"split utf-8 at seams", []string{"abc", "é", "xxxxxxx", "é", "yzw"}, "abc\n[... 11 bytes omitted ...]\nyzw", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newCappedBuffer(4, 4)
			for _, w := range tt.writes {
				if n, err := b.Write([]byte(w)); n != len(w) || err != nil {
					t.Fatalf("Write = %d, %v", n, err)
				}
			}
			got, trunc := b.String()
			if got != tt.want || trunc != tt.trunc {
				t.Errorf("String() = %q, %v; want %q, %v", got, trunc, tt.want, tt.trunc)
			}
		})
	}
}

func shellMkdir(t *testing.T, dir string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
}

func shellWriteFile(t *testing.T, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

func shellReadPid(t *testing.T, path string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("pid file: %v", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		t.Fatalf("pid file holds %q", b)
	}
	return pid
}

// shellAssertDead fails unless process pid is gone or a zombie. SIGKILL lands
// asynchronously, so it polls, for long enough on a loaded machine; a
// survivor of the kill would live on for its full sleep and fail the check.
func shellAssertDead(t *testing.T, pid int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := syscall.Kill(pid, 0)
		if errors.Is(err, syscall.ESRCH) || shellIsZombie(pid) {
			return
		}
		if time.Now().After(deadline) {
			syscall.Kill(pid, syscall.SIGKILL) // don't leave it running
			t.Fatalf("process %d is still alive (kill 0: %v)", pid, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// shellIsZombie reports whether /proc says pid has exited but is not yet reaped.
func shellIsZombie(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// The state follows the parenthesised command name, which may hold spaces.
	i := bytes.LastIndexByte(b, ')')
	return i >= 0 && i+2 < len(b) && b[i+2] == 'Z'
}

// TestMarkOf: a process's mark is read from its environment; one whose
// environment reads empty while it lives (as in the middle of an execve, or
// started with none) is unknown, which makes killMarked look again, a
// bounded number of times; zombies and processes gone are unmarked.
func TestMarkOf(t *testing.T) {
	marker, err := newShellMarker()
	if err != nil {
		t.Fatal(err)
	}
	start := func(env []string, args ...string) *exec.Cmd {
		cmd := exec.Command(args[0], args[1:]...)
		cmd.Env = env
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd
	}
	withMark := start(append(os.Environ(), marker), "sleep", "30")
	defer func() { withMark.Process.Kill(); withMark.Wait() }()
	bare := start([]string{}, "/bin/sleep", "30")
	defer func() { bare.Process.Kill(); bare.Wait() }()
	zombie := start(nil, "true")
	for !shellIsZombie(zombie.Process.Pid) {
		time.Sleep(5 * time.Millisecond)
	}
	defer zombie.Wait()
	tests := []struct {
		name string
		pid  int
		want mark
	}{
		{"marked", withMark.Process.Pid, marked},
		{"this process", os.Getpid(), unmarked},
		{"empty environment", bare.Process.Pid, unknown},
		{"zombie", zombie.Process.Pid, unmarked},
		{"gone", 1 << 30, unmarked},
	}
	for _, tt := range tests {
		if got := markOf(tt.pid, marker); got != tt.want {
			t.Errorf("%s: markOf = %d, want %d", tt.name, got, tt.want)
		}
	}
	// The bare process stays unknown: killMarked kills the marked one and
	// gives up on the unknown after its rounds instead of waiting for ever.
	killMarked(marker)
	shellAssertDead(t, withMark.Process.Pid)
	if err := syscall.Kill(bare.Process.Pid, 0); err != nil {
		t.Errorf("the unmarked process was signalled: %v", err)
	}
}
