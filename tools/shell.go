package tools

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unicode/utf8"

	"golang.org/x/sys/unix"
)

// DefaultShellTimeout bounds a shell command when neither the call nor the
// Env sets a timeout.
const DefaultShellTimeout = 2 * time.Minute

// MaxShellTimeout caps the timeout a model may ask for, so one call cannot
// hold a run for hours. A caller's Env.ShellTimeout above it raises the cap.
const MaxShellTimeout = 10 * time.Minute

// Output cap: the head and the tail of the combined output are kept, since a
// failing build prints its command line first and its errors last.
const (
	shellOutputHead = 32 << 10
	shellOutputTail = 32 << 10
)

const (
	// shellTermGrace is how long a timed-out or cancelled group gets between
	// SIGTERM and SIGKILL to clean up (remove temporary files, flush logs).
	shellTermGrace = 500 * time.Millisecond
	// shellPipeGrace is how long output is still read after the group is
	// dead, for a process that left the group (setsid) but holds the pipe.
	shellPipeGrace = 500 * time.Millisecond
)

// Shell runs a command with /bin/sh in the workspace. Its writes bypass
// the changeset, so it runs only with Env.Approver's consent: the registry
// asks it before each call, and the tool refuses to run without one.
type Shell struct{}

type shellArgs struct {
	Command        string  `json:"command"`
	TimeoutSeconds float64 `json:"timeout_seconds,omitempty"`
	Cwd            string  `json:"cwd,omitempty"`
}

// ShellData is shell's structured result. ExitCode is -1 when the command
// was killed by a signal (including on timeout); Signal is then its number.
type ShellData struct {
	ExitCode   int   `json:"exit_code"`
	Signal     int   `json:"signal,omitempty"`
	TimedOut   bool  `json:"timed_out"`
	Truncated  bool  `json:"truncated"`
	DurationMS int64 `json:"duration_ms"`
}

func (Shell) Spec() Spec {
	return Spec{
		Name: "shell",
		Description: "Run a command with /bin/sh -c in the workspace root (or in cwd, a folder inside it) and return its combined stdout and stderr followed by its exit status. " +
			"Use it for builds, tests, linters and read-only inspection (git status, git log, ls). " +
			"Do NOT use it to create, edit, move or delete files: the shell's writes go straight to disk and are not part of the changeset the user reviews; make edits with the file tools (write_file, edit_file, apply_patch, move_file, delete_file). " +
			"stdin is /dev/null, so interactive commands fail. Output is capped at 64 KiB (the head and the tail are kept). " +
			"On timeout the command and all its child processes are killed; background processes it leaves running are killed when it exits. " +
			"A non-zero exit status is a normal result, not an error.",
		Schema: json.RawMessage(`{"type":"object","properties":{
"command":{"type":"string","minLength":1,"maxLength":131072,"description":"shell command, run with /bin/sh -c"},
"timeout_seconds":{"type":"number","exclusiveMinimum":0,"maximum":600,"description":"kill the command after this many seconds (default 120)"},
"cwd":{"type":"string","maxLength":4096,"description":"folder to run in, relative to the workspace root (default the root)"}},
"required":["command"],"additionalProperties":false}`),
		Effect:      EffectExecute,
		PathArgs:    []string{"cwd"},
		Destructive: true,
	}
}

// Command checks a call's arguments (the command, its timeout, its folder
// inside the workspace) and returns what it runs.
func (Shell) Command(env *Env, raw json.RawMessage) (Command, error) {
	var a shellArgs
	if err := decodeArgs("shell", raw, &a); err != nil {
		return Command{}, err
	}
	if err := required("shell", "command", a.Command); err != nil {
		return Command{}, err
	}
	timeout, err := ShellTimeout(env.ShellTimeout, a.TimeoutSeconds)
	if err != nil {
		return Command{}, err
	}
	ws := env.Workspace()
	rel := "."
	if a.Cwd != "" {
		if rel, err = ws.Resolve(a.Cwd); err != nil {
			return Command{}, fmt.Errorf("shell: cwd: %w", err)
		}
		fi, err := os.Stat(ws.Abs(rel))
		if err != nil {
			var pe *fs.PathError
			if errors.As(err, &pe) {
				err = pe.Err // name the relative path, not the absolute one
			}
			return Command{}, fmt.Errorf("shell: cwd %s: %w", rel, err)
		}
		if !fi.IsDir() {
			return Command{}, fmt.Errorf("shell: cwd %s is not a folder", rel)
		}
	}
	return Command{Line: a.Command, Dir: rel, Timeout: timeout}, nil
}

func (Shell) Run(ctx context.Context, env *Env, raw json.RawMessage) (Result, error) {
	if env.Approver == nil { // called outside the registry, which asks
		return Result{}, errors.New("the shell tool is disabled: it runs commands directly on this machine, " +
			"outside the changeset, and nobody here may approve it; start Loom with --allow-shell to enable it")
	}
	c, err := Shell{}.Command(env, raw)
	if err != nil {
		return Result{}, err
	}
	dir, timeout := env.Workspace().Abs(c.Dir), c.Timeout
	if err := ctx.Err(); err != nil {
		return Result{}, err
	}

	r, err := runShell(ctx, dir, c.Line, timeout)
	if err != nil {
		return Result{}, err
	}
	data := ShellData{
		ExitCode:   r.state.ExitCode(),
		TimedOut:   r.timedOut,
		Truncated:  r.truncated,
		DurationMS: r.duration.Milliseconds(),
	}
	var status string
	switch wst, _ := r.state.Sys().(syscall.WaitStatus); {
	case r.timedOut:
		status = fmt.Sprintf("timed out after %s; the process group was killed", timeout)
	case wst.Signaled():
		data.Signal = int(wst.Signal())
		status = "terminated by signal: " + wst.Signal().String()
	default:
		status = fmt.Sprintf("exit status %d", data.ExitCode)
	}
	text := r.output
	if text != "" && !strings.HasSuffix(text, "\n") {
		text += "\n"
	}
	return Result{Text: text + status, Data: data}, nil
}

// ShellTimeout picks a command's timeout: the call's, capped, or the
// Env's, or the default.
func ShellTimeout(envTimeout time.Duration, seconds float64) (time.Duration, error) {
	def := envTimeout
	if def <= 0 {
		def = DefaultShellTimeout
	}
	if seconds < 0 || math.IsNaN(seconds) {
		return 0, fmt.Errorf("invalid arguments for shell: timeout_seconds must be positive, not %v", seconds)
	}
	if seconds == 0 {
		return def, nil
	}
	limit := max(MaxShellTimeout, def)
	if seconds >= limit.Seconds() {
		return limit, nil
	}
	return time.Duration(seconds * float64(time.Second)), nil
}

type shellRun struct {
	state     *os.ProcessState
	output    string
	truncated bool
	timedOut  bool
	duration  time.Duration
}

// runShell runs command in its own process group and kills the whole group,
// and every process the command started that left it, when the command
// exits, times out or ctx is cancelled, so no background job or grandchild
// outlives the call. A cancelled ctx is an error; a non-zero exit is not.
func runShell(ctx context.Context, dir, command string, timeout time.Duration) (shellRun, error) {
	marker, err := newShellMarker()
	if err != nil {
		return shellRun{}, fmt.Errorf("shell: %w", err)
	}
	// One pipe for stdout and stderr keeps their interleaving. We own the
	// read end, rather than letting exec copy it, so we decide when to stop
	// reading: a grandchild holding the write end must not block the call.
	pr, pw, err := os.Pipe()
	if err != nil {
		return shellRun{}, fmt.Errorf("shell: %w", err)
	}
	defer pr.Close()
	cmd := exec.Command("/bin/sh", "-c", command)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), marker)
	cmd.Stdout = pw
	cmd.Stderr = pw // Stdin stays nil: exec connects /dev/null.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	start := time.Now()
	err = cmd.Start()
	pw.Close() // only the children may hold the write end, or EOF never comes
	if err != nil {
		return shellRun{}, fmt.Errorf("shell: start /bin/sh: %w", err)
	}
	pgid := cmd.Process.Pid // Setpgid makes the shell its group's leader

	out := newCappedBuffer(shellOutputHead, shellOutputTail)
	copied := make(chan struct{})
	go func() {
		defer close(copied)
		io.Copy(out, pr) // ends at EOF or when pr is closed below
	}()
	exited := make(chan struct{})
	go func() {
		defer close(exited)
		waitExited(pgid)
	}()

	timer := time.NewTimer(timeout)
	defer timer.Stop()
	var timedOut, cancelled bool
	select {
	case <-exited:
	case <-timer.C:
		timedOut = true
	case <-ctx.Done():
		cancelled = true
	}
	if timedOut || cancelled {
		syscall.Kill(-pgid, syscall.SIGTERM)
		signalMarked(marker, syscall.SIGTERM)
		// The group is done once the shell has exited and nothing holds the
		// output pipe; until then, and at most the grace period, let it
		// clean up. Waiting on the shell alone would cut its children short.
		grace := time.NewTimer(shellTermGrace)
		for e, c := exited, copied; e != nil || c != nil; {
			select {
			case <-e:
				e = nil
			case <-c:
				c = nil
			case <-grace.C:
				e, c = nil, nil
			}
		}
		grace.Stop()
	}
	// Kill whatever is left in the group: children after a timeout, or
	// background jobs the command started. The leader is not reaped until
	// cmd.Wait below, so its pid, and thus the group id, cannot have been
	// reused by an unrelated process.
	syscall.Kill(-pgid, syscall.SIGKILL)
	killMarked(marker)
	<-exited
	err = cmd.Wait()
	duration := time.Since(start)
	var exitErr *exec.ExitError
	if err != nil && !errors.As(err, &exitErr) {
		return shellRun{}, fmt.Errorf("shell: %w", err)
	}
	select {
	case <-copied:
	case <-time.After(shellPipeGrace):
		pr.Close() // unblocks the pending Read
		<-copied
	}
	if cancelled {
		return shellRun{}, fmt.Errorf("shell: command cancelled after %s; the process group was killed: %w",
			duration.Round(time.Millisecond), ctx.Err())
	}
	text, truncated := out.String()
	return shellRun{state: cmd.ProcessState, output: text, truncated: truncated, timedOut: timedOut, duration: duration}, nil
}

// waitExited blocks until process pid has exited, without reaping it
// (WNOWAIT), so its pid stays reserved while we signal its group.
func waitExited(pid int) {
	var info unix.Siginfo
	for {
		err := unix.Waitid(unix.P_PID, pid, &info, unix.WEXITED|unix.WNOWAIT, nil)
		if err != unix.EINTR {
			return
		}
	}
}

// cappedBuffer keeps the first head bytes and the last tail bytes written to
// it and counts the rest, so a command printing gigabytes costs a fixed
// amount of memory. It is written by one goroutine and read after.
type cappedBuffer struct {
	head, tail       []byte
	headMax, tailMax int
	tailStart        int // oldest byte of tail once it is full
	total            int64
}

func newCappedBuffer(headMax, tailMax int) *cappedBuffer {
	return &cappedBuffer{headMax: headMax, tailMax: tailMax}
}

func (b *cappedBuffer) Write(p []byte) (int, error) {
	n := len(p)
	b.total += int64(n)
	if room := b.headMax - len(b.head); room > 0 {
		k := min(room, len(p))
		b.head = append(b.head, p[:k]...)
		p = p[k:]
	}
	if len(p) >= b.tailMax {
		b.tail = append(b.tail[:0], p[len(p)-b.tailMax:]...)
		b.tailStart = 0
		return n, nil
	}
	for len(p) > 0 {
		if len(b.tail) < b.tailMax {
			k := min(b.tailMax-len(b.tail), len(p))
			b.tail = append(b.tail, p[:k]...)
			p = p[k:]
			continue
		}
		k := copy(b.tail[b.tailStart:], p)
		p = p[k:]
		b.tailStart = (b.tailStart + k) % b.tailMax
	}
	return n, nil
}

// String returns the kept output, with a marker where bytes were dropped,
// and whether any were. Runes cut at the seams are dropped too.
func (b *cappedBuffer) String() (string, bool) {
	tail := append(append([]byte(nil), b.tail[b.tailStart:]...), b.tail[:b.tailStart]...)
	omitted := b.total - int64(len(b.head)) - int64(len(tail))
	if omitted == 0 {
		return string(b.head) + string(tail), false
	}
	head := trimPartialRuneEnd(b.head)
	tail = trimPartialRuneStart(tail)
	omitted += int64(len(b.head) - len(head) + len(b.tail) - len(tail))
	return fmt.Sprintf("%s\n[... %d bytes omitted ...]\n%s", head, omitted, tail), true
}

// trimPartialRuneEnd drops an incomplete UTF-8 sequence ending b.
func trimPartialRuneEnd(b []byte) []byte {
	for i := 1; i <= utf8.UTFMax && i <= len(b); i++ {
		if utf8.RuneStart(b[len(b)-i]) {
			if !utf8.FullRune(b[len(b)-i:]) {
				return b[:len(b)-i]
			}
			return b
		}
	}
	return b
}

// trimPartialRuneStart drops continuation bytes starting b.
func trimPartialRuneStart(b []byte) []byte {
	for i := 0; i < utf8.UTFMax-1 && i < len(b); i++ {
		if utf8.RuneStart(b[i]) {
			return b[i:]
		}
	}
	return b
}

// A shell command's processes are found by a mark in their environment,
// which every process it starts inherits: a process group is not enough,
// since `setsid` (or a daemon's double fork) leaves it, and the parent
// chain breaks when an orphan is re-parented to init.
//
// The alternatives were weighed. PR_SET_CHILD_SUBREAPER would keep orphans
// in the tree, but it applies to the whole Loom process, which would then
// have to reap every orphan of every child it runs (and reaping races with
// os/exec's own Wait); a subreaper helper process would mean re-executing
// Loom for every command. A cgroup needs a delegated hierarchy, which a
// desktop session or a container seldom gives. The mark needs nothing:
// only a process that deliberately starts a child with a fresh environment
// (env -i) sheds it, and the shell is no sandbox against that anyway: a
// command can as well ask systemd or cron to run something later.
const shellMarkerVar = "LOOM_SHELL_RUN"

// newShellMarker returns a fresh environment entry marking one command.
func newShellMarker() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return shellMarkerVar + "=" + hex.EncodeToString(b[:]), nil
}

// killMarked sends SIGKILL to every process holding marker until a scan of
// /proc finds none alive, so that one forking while it is killed does not
// leave a child behind. It gives up after shellKillRounds scans. A scan
// that finds none but could not read some process's environment (one in
// the middle of an execve has none for a moment: `exec sleep` in a command
// that escaped with setsid) is repeated, up to shellUnsureRounds times.
func killMarked(marker string) {
	unsure := 0
	for range shellKillRounds {
		found, unread := signalMarked(marker, syscall.SIGKILL)
		if found == 0 && (unread == 0 || unsure >= shellUnsureRounds) {
			return
		}
		if found == 0 {
			unsure++
		}
		time.Sleep(5 * time.Millisecond) // let the killed exit: a zombie's environment reads empty
	}
}

const (
	shellKillRounds   = 200
	shellUnsureRounds = 10
)

// signalMarked sends sig to every process of this user whose environment
// holds marker and returns how many it found, and how many live processes
// of this user had no environment to read.
func signalMarked(marker string, sig syscall.Signal) (found, unread int) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return 0, 0
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		switch markOf(pid, marker) {
		case unmarked:
			continue
		case unknown:
			unread++
			continue
		}
		// Through a pidfd, checked again once open, so a pid that was
		// freed and reused meanwhile is not signalled.
		p, err := os.FindProcess(pid)
		if err != nil {
			continue
		}
		if markOf(pid, marker) == marked {
			found++
			p.Signal(sig)
		}
		p.Release()
	}
	return found, unread
}

type mark int

const (
	unmarked mark = iota
	marked
	unknown // a live process of this user whose environment read empty
)

// markOf says whether process pid's environment holds marker. Other
// users' processes cannot be read, and do not match; zombies and kernel
// threads have no environment, and do not match either.
func markOf(pid int, marker string) mark {
	env, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/environ")
	if err != nil {
		return unmarked
	}
	if len(env) == 0 {
		if exitedOrKernel(pid) {
			return unmarked
		}
		return unknown
	}
	for len(env) > 0 {
		entry, rest, _ := bytes.Cut(env, []byte{0})
		if string(entry) == marker {
			return marked
		}
		env = rest
	}
	return unmarked
}

// exitedOrKernel reports whether /proc/PID/stat shows a zombie, a process
// gone, or a kernel thread (flags holding PF_KTHREAD).
func exitedOrKernel(pid int) bool {
	const pfKthread = 0x00200000
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true
	}
	// The fields after the parenthesised command name (which may hold
	// spaces): state, ppid, pgrp, session, tty_nr, tpgid, flags, …
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return true
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 7 || f[0] == "Z" || f[0] == "X" {
		return true
	}
	flags, err := strconv.ParseUint(f[6], 10, 64)
	return err != nil || flags&pfKthread != 0
}

// Title says what one call does, for front ends to show.
func (Shell) Title(args json.RawMessage) string {
	return "Run " + quoteTitle(str(titleArgs(args), "command", ""))
}

// CommandRun is what RunCommand reports of a command that ran.
type CommandRun struct {
	// Output is the combined stdout and stderr, capped as the shell tool
	// caps it (the head and the tail kept).
	Output    string
	ExitCode  int // -1 when a signal ended it (a timeout included)
	TimedOut  bool
	Truncated bool
	Duration  time.Duration
}

// RunCommand runs command with /bin/sh -c in dir with the shell tool's
// semantics (its own process group, killed with every process it started
// on exit, timeout or cancellation; stdin /dev/null; output capped), for
// callers that run commands the user configured, not the model (a Ralph
// loop's checks). A non-zero exit is not an error; a cancelled ctx is.
func RunCommand(ctx context.Context, dir, command string, timeout time.Duration) (CommandRun, error) {
	r, err := runShell(ctx, dir, command, timeout)
	if err != nil {
		return CommandRun{}, err
	}
	return CommandRun{Output: r.output, ExitCode: r.state.ExitCode(), TimedOut: r.timedOut,
		Truncated: r.truncated, Duration: r.duration}, nil
}
