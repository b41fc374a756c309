//go:build linux

package main

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// The helpers of hostile_test.go: a repository built to hurt whoever
// reads it, and a way to run the binary on it that cannot hurt the machine
// running the tests (a child past the memory bound or the hang guard is
// killed, and the test says which).

const (
	// memoryBoundKB is the most resident memory a Loom process may use on
	// the hostile repository (issue #13: "stays under 200 MB RSS").
	memoryBoundKB = 200 << 10
	// hangGuard is how long a child may run before it is taken as hung and
	// killed. Loom needs well under a second on these tiny trees.
	hangGuard = 30 * time.Second
	// termGrace is how long a child may take to end after SIGTERM: one
	// that ignores it runs on for ever, so this only needs to outlast a
	// loaded machine.
	termGrace = 15 * time.Second
)

// Paths of the hostile repository's ordinary files and what they define.
const (
	needleFile = "lib/needle.go"
	needleFunc = "HostileNeedle"
	subFile    = "sub/sub.go"
	subFunc    = "SubNeedle"
	// ignoredFile is ignored by lib/.gitignore, a well-behaved ignore file
	// that must still be honoured next to the hostile ones.
	ignoredFile = "lib/generated.go"
	ignoredFunc = "IgnoredNeedle"
)

// hostileNames are the repository's special files and symlinks: a walk
// must neither list nor read them.
var hostileNames = []string{
	".gitignore",     // symlink to /dev/zero
	"pipe.go",        // FIFO
	"sub/.gitignore", // FIFO
	"sock.go",        // unix socket
	"dev.go",         // symlink to /dev/zero
	"link.go",        // symlink to the FIFO pipe.go, inside the root
	"loop",           // symlink to itself
	"a", "b",         // symlinks to each other
}

// hostileRepo builds the repository of issue #13 in a fresh folder: a few
// ordinary Go files, and next to them a .gitignore that is /dev/zero, FIFOs
// (one named like a source file, one as a sub-folder's .gitignore), a
// socket, a symlink to a device, a symlink to the FIFO, symlink loops and a
// 2 GB sparse source file.
func hostileRepo(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"go.mod":         "module hostile\n",
		"main.go":        "package main\n\nfunc main() {}\n",
		needleFile:       "package lib\n\nfunc " + needleFunc + "() int { return 42 }\n",
		"lib/.gitignore": "generated.go\n",
		ignoredFile:      "package lib\n\nfunc " + ignoredFunc + "() {}\n",
		subFile:          "package sub\n\nfunc " + subFunc + "() {}\n",
	})
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	at := func(name string) string { return filepath.Join(dir, name) }
	must(os.Symlink("/dev/zero", at(".gitignore")))
	must(syscall.Mkfifo(at("pipe.go"), 0o644))
	must(syscall.Mkfifo(at("sub/.gitignore"), 0o644))
	// mknod makes a socket file without binding one (and without the
	// 108-byte limit on socket paths); unprivileged users may.
	must(syscall.Mknod(at("sock.go"), syscall.S_IFSOCK|0o644, 0))
	must(os.Symlink("/dev/zero", at("dev.go")))
	must(os.Symlink("pipe.go", at("link.go")))
	must(os.Symlink("loop", at("loop")))
	must(os.Symlink("b", at("a")))
	must(os.Symlink("a", at("b")))
	f, err := os.Create(at("big.go"))
	must(err)
	must(f.Truncate(2 << 30))
	must(f.Close())
	return dir
}

// fifoIgnoreRepo is an ordinary repository whose only oddity is a FIFO as
// its .gitignore.
func fifoIgnoreRepo(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"go.mod":  "module fifo\n",
		"main.go": "package main\n\nfunc main() {}\n",
	})
	if err := syscall.Mkfifo(filepath.Join(dir, ".gitignore"), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// treeState describes every entry below dir (type, symlink target, and the
// size and hash of regular files) without opening anything but regular
// files of up to 1 MB: the hostile repository's FIFOs would block it.
func treeState(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		info, err := d.Info()
		if err != nil {
			return err
		}
		fmt.Fprintf(&b, "%s %v", rel, info.Mode())
		switch {
		case info.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			fmt.Fprintf(&b, " -> %s", target)
		case info.Mode().IsRegular():
			fmt.Fprintf(&b, " %d bytes", info.Size())
			if info.Size() <= 1<<20 {
				content, err := os.ReadFile(p)
				if err != nil {
					return err
				}
				fmt.Fprintf(&b, " %x", sha256.Sum256(content))
			}
		}
		b.WriteByte('\n')
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// isolatedEnv is the environment of a child: no model, and the user's config,
// cache and threads out of reach.
func isolatedEnv(t *testing.T) []string {
	return privateEnv(t, mcpEnv(t, nil)...)
}

// memWatch samples a child's peak resident set (VmHWM in /proc) while it
// runs, and kills it once that passes memoryBoundKB: a test of a memory
// blow-up must not take the machine's memory with it (the issue saw 24 GB).
// VmHWM is a high-water mark, so only a peak in a child's last sampling
// interval before it exits goes unseen; the blow-ups of the issue take
// seconds. (The rusage of a reaped child is no substitute: on Linux its
// Maxrss includes the parent's resident set at the fork.)
type memWatch struct {
	peakKB  atomic.Int64
	over    atomic.Bool
	stopped chan struct{}
	done    chan struct{}
	once    sync.Once
}

func watchMemory(p *os.Process) *memWatch {
	w := &memWatch{stopped: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(w.done)
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for {
			if kb, ok := peakRSS(p.Pid); ok {
				if kb > w.peakKB.Load() {
					w.peakKB.Store(kb)
				}
				if kb > memoryBoundKB {
					w.over.Store(true)
					p.Kill()
					return
				}
			}
			select {
			case <-w.stopped:
				return
			case <-tick.C:
			}
		}
	}()
	return w
}

// stop ends the sampling; call it once the child has been reaped.
func (w *memWatch) stop() {
	w.once.Do(func() { close(w.stopped) })
	<-w.done
}

// peakRSS reads VmHWM (kB) from /proc/PID/status; false once the process
// is a zombie or gone.
func peakRSS(pid int) (int64, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, false
	}
	for line := range strings.Lines(string(b)) {
		if f := strings.Fields(line); len(f) == 3 && f[0] == "VmHWM:" {
			kb, err := strconv.ParseInt(f[1], 10, 64)
			return kb, err == nil
		}
	}
	return 0, false
}

// checkMemory reports a child killed for passing the bound, and logs the
// peak seen (go test -v shows it).
func (w *memWatch) checkMemory(t *testing.T) {
	t.Helper()
	if w.over.Load() {
		t.Errorf("peak RSS reached %d kB, over the %d MB bound: killed", w.peakKB.Load(), memoryBoundKB>>10)
		return
	}
	t.Logf("peak RSS %.1f MB (bound %d MB)", float64(w.peakKB.Load())/1024, memoryBoundKB>>10)
}

// loomRun is one finished (or killed) run of the binary.
type loomRun struct {
	stdout, stderr string
	code           int // -1 when killed
	startErr       error
	elapsed        time.Duration
	watch          *memWatch
	hung           bool // killed by the hang guard
	terminated     bool // SIGTERM was sent
	ignoredTerm    bool // still running termGrace after SIGTERM: killed
}

// runLoom runs the binary in dir under the memory bound and the hang guard.
// With termAfter > 0, a child still running after that long gets SIGTERM
// and must end within termGrace. It may be called from any goroutine: it
// reports nothing itself (see finished).
func runLoom(t *testing.T, dir string, termAfter time.Duration, args ...string) loomRun {
	cmd := loomCommand(t, isolatedEnv(t), args...)
	cmd.Dir = dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return loomRun{startErr: err, code: -1}
	}
	r := loomRun{watch: watchMemory(cmd.Process)}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	guard := time.NewTimer(hangGuard)
	defer guard.Stop()
	var term, termGuard <-chan time.Time
	if termAfter > 0 {
		term = time.After(termAfter)
	}
	for running := true; running; {
		select {
		case <-exited:
			running = false
		case <-term:
			term = nil
			r.terminated = true
			cmd.Process.Signal(syscall.SIGTERM)
			termGuard = time.After(termGrace)
		case <-termGuard:
			termGuard = nil
			r.ignoredTerm = true
			cmd.Process.Kill()
		case <-guard.C:
			r.hung = true
			cmd.Process.Kill()
		}
	}
	r.watch.stop()
	r.elapsed = time.Since(start)
	r.stdout, r.stderr = stdout.String(), stderr.String()
	r.code = cmd.ProcessState.ExitCode()
	return r
}

// finished reports (as test errors) a run that hung, ignored SIGTERM or
// passed the memory bound; it returns whether the run ended by itself.
func (r loomRun) finished(t *testing.T) bool {
	t.Helper()
	if r.startErr != nil {
		t.Errorf("starting loom: %v", r.startErr)
		return false
	}
	r.watch.checkMemory(t)
	if r.hung {
		t.Errorf("hung: still running after %v, killed", hangGuard)
	}
	if r.ignoredTerm {
		t.Errorf("still running %v after SIGTERM, killed", termGrace)
	}
	ok := !r.hung && !r.ignoredTerm && !r.watch.over.Load()
	if !ok && r.stderr != "" {
		t.Logf("stderr: %.2000s", r.stderr)
	}
	return ok
}
