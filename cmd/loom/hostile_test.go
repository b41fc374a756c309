//go:build linux

package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.lsp.dev/protocol"
	"go.lsp.dev/uri"
)

// Issue #13, item 1: a hostile repository (a .gitignore that is /dev/zero,
// FIFOs, a socket, device symlinks, symlink loops, a 2 GB sparse file) must
// neither exhaust memory nor hang Loom, through the CLI, `loom mcp` and
// `loom lsp`. Every child runs under memoryBoundKB and hangGuard
// (hostile_helpers_test.go).

// listedPaths returns the first field of every output line, without a
// folder's trailing slash: the paths glob and list_dir print.
func listedPaths(out string) []string {
	var paths []string
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Fields(line); len(f) > 0 {
			paths = append(paths, strings.TrimSuffix(f[0], "/"))
		}
	}
	return paths
}

// listedHostile returns the special files and symlinks a listing names.
func listedHostile(out string) []string {
	listed := listedPaths(out)
	var hostile []string
	for _, name := range hostileNames {
		if slices.Contains(listed, name) {
			hostile = append(hostile, name)
		}
	}
	return hostile
}

// TestHostileRepoWalks runs the tools that walk the whole tree: each ends
// by itself within the memory bound, finds the ordinary files and skips
// the special ones.
func TestHostileRepoWalks(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		want     []string // in stdout
		unwanted []string // not in stdout
		listing  bool     // stdout lists paths, none of them hostile
	}{
		{
			name:     "glob",
			args:     []string{"tool", "glob", "--args", `{"pattern":"**"}`},
			want:     []string{"main.go", needleFile, subFile},
			unwanted: []string{ignoredFile},
			listing:  true,
		},
		{
			name:     "grep",
			args:     []string{"tool", "grep", "--args", `{"pattern":"func \\w+Needle"}`},
			want:     []string{needleFile + ":3:", subFile + ":3:"},
			unwanted: []string{ignoredFunc},
		},
		{
			name:    "list_dir",
			args:    []string{"tool", "list_dir", "--args", `{"depth":3}`},
			want:    []string{"main.go", needleFile, subFile},
			listing: true,
		},
		{
			name:     "analyze symbols",
			args:     []string{"analyze", "symbols"},
			want:     []string{needleFile + ":3 function " + needleFunc, subFile + ":3 function " + subFunc},
			unwanted: []string{ignoredFunc},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := hostileRepo(t)
			r := runLoom(t, dir, 0, tt.args...)
			if !r.finished(t) {
				return
			}
			if r.code != 0 {
				t.Fatalf("exit %d: %s", r.code, r.stderr)
			}
			for _, w := range tt.want {
				if !strings.Contains(r.stdout, w) {
					t.Errorf("stdout lacks %q:\n%s", w, r.stdout)
				}
			}
			for _, u := range tt.unwanted {
				if strings.Contains(r.stdout, u) {
					t.Errorf("stdout has %q:\n%s", u, r.stdout)
				}
			}
			if hostile := listedHostile(r.stdout); tt.listing && hostile != nil {
				t.Errorf("lists the special files or symlinks %q:\n%s", hostile, r.stdout)
			}
		})
	}
}

// TestHostileToolTargets names the special files to every tool that opens
// one file: each refuses promptly with a clear error and the tree is left
// as it was, though the editing tools run with --apply.
func TestHostileToolTargets(t *testing.T) {
	type call struct {
		tool  string
		args  string // with %s for the path
		apply bool
	}
	calls := []call{
		{"read_file", `{"path":%q}`, false},
		{"edit_file", `{"path":%q,"old_text":"package","new_text":"package"}`, true},
		{"write_file", `{"path":%q,"content":"package main\n"}`, true},
		{"move_file", `{"from":%q,"to":"moved.go"}`, true},
		{"delete_file", `{"path":%q}`, true},
		{"outline", `{"path":%q}`, false},
		{"syntax_check", `{"path":%q}`, false},
	}
	targets := []struct {
		path  string
		names []string // stderr names one of these files (the path given or its target)
		errs  []string // and gives one of these reasons
	}{
		{"pipe.go", []string{"pipe.go"}, []string{"not a regular file"}},
		{"link.go", []string{"link.go", "pipe.go"}, []string{"not a regular file"}},
		// A symlink to a device leads out of the root as well.
		{"dev.go", []string{"dev.go"}, []string{"not a regular file", "outside the workspace root"}},
	}
	type subtest struct {
		name        string
		args        []string
		names, errs []string
	}
	var tests []subtest
	for _, target := range targets {
		for _, c := range calls {
			args := []string{"tool", c.tool, "--args", fmt.Sprintf(c.args, target.path)}
			if c.apply {
				args = append(args, "--apply")
			}
			tests = append(tests, subtest{c.tool + "/" + target.path, args, target.names, target.errs})
		}
	}
	tests = append(tests, subtest{"read_file/big.go",
		[]string{"tool", "read_file", "--args", `{"path":"big.go"}`}, []string{"big.go"}, []string{"limit"}})

	// The runs go at once, not one or two at a time as parallel subtests
	// would: on the old code each one blocks for the whole hang guard.
	dirs, befores := make([]string, len(tests)), make([]string, len(tests))
	for i := range tests {
		dirs[i] = hostileRepo(t)
		befores[i] = treeState(t, dirs[i])
	}
	runs := make([]loomRun, len(tests))
	var wg sync.WaitGroup
	for i, tt := range tests {
		wg.Go(func() { runs[i] = runLoom(t, dirs[i], 0, tt.args...) })
	}
	wg.Wait()

	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if r := runs[i]; r.finished(t) {
				says := func(s string) bool { return strings.Contains(r.stderr, s) }
				if r.code == 0 || !slices.ContainsFunc(tt.errs, says) || !slices.ContainsFunc(tt.names, says) {
					t.Errorf("exit %d, stderr %q; want a failure naming one of %q and one of %q", r.code, r.stderr, tt.names, tt.errs)
				}
			}
			if after := treeState(t, dirs[i]); after != befores[i] {
				t.Errorf("the tree changed:\n%s\nwas\n%s", after, befores[i])
			}
		})
	}
}

// mcpMessage is a JSON-RPC message from `loom mcp`.
type mcpMessage struct {
	ID     json.RawMessage `json:"id"`
	Method string          `json:"method"` // set on requests and notifications, not replies
	Result *struct {
		IsError bool `json:"isError"`
		Content []struct {
			Text string `json:"text"`
		} `json:"content"`
	} `json:"result"`
	Error json.RawMessage `json:"error"`
}

// TestHostileMCP calls tools through `loom mcp` on stdio, speaking raw JSON
// lines so the test owns the process: each call is answered, the process
// stays within the memory bound, and it exits once its input ends (a call
// blocked on a FIFO kept it alive for ever).
func TestHostileMCP(t *testing.T) {
	tests := []struct {
		name  string
		tool  string
		args  string
		check func(t *testing.T, isError bool, text string)
	}{
		{"glob", "glob", `{"pattern":"**"}`, func(t *testing.T, isError bool, text string) {
			if isError || !strings.Contains(text, needleFile) {
				t.Errorf("glob: isError %v, %q; want %s listed", isError, text, needleFile)
			}
			if hostile := listedHostile(text); hostile != nil {
				t.Errorf("glob lists the special files or symlinks %q:\n%s", hostile, text)
			}
		}},
		{"grep", "grep", `{"pattern":"` + needleFunc + `"}`, func(t *testing.T, isError bool, text string) {
			if isError || !strings.Contains(text, needleFile+":3:") {
				t.Errorf("grep: isError %v, %q; want the match in %s", isError, text, needleFile)
			}
		}},
		{"read_file of a FIFO", "read_file", `{"path":"pipe.go"}`, refusedSpecial},
		{"read_file of a symlink to a FIFO", "read_file", `{"path":"link.go"}`, refusedSpecial},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := hostileRepo(t)
			cmd := loomCommand(t, isolatedEnv(t), "mcp", "--root", dir)
			stdin, err := cmd.StdinPipe()
			if err != nil {
				t.Fatal(err)
			}
			out, outW := io.Pipe()
			stderr := &lockedBuffer{}
			cmd.Stdout, cmd.Stderr = outW, stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			w := watchMemory(cmd.Process)
			exited := make(chan struct{})
			go func() { cmd.Wait(); outW.Close(); close(exited) }()
			t.Cleanup(func() {
				cmd.Process.Kill()
				<-exited
				w.stop()
				w.checkMemory(t)
				if t.Failed() && stderr.String() != "" {
					t.Logf("loom mcp stderr:\n%.2000s", stderr.String())
				}
			})
			replies := make(chan mcpMessage, 16)
			go func() {
				sc := bufio.NewScanner(out)
				sc.Buffer(nil, 16<<20)
				for sc.Scan() {
					var m mcpMessage
					if json.Unmarshal(sc.Bytes(), &m) == nil && m.ID != nil && m.Method == "" {
						replies <- m
					}
				}
				io.Copy(io.Discard, out)
			}()
			guard := time.After(hangGuard)
			await := func(what string) (mcpMessage, bool) {
				t.Helper()
				select {
				case m := <-replies:
					return m, true
				case <-exited:
					t.Errorf("loom mcp exited before answering %s", what)
				case <-guard:
					t.Errorf("hung: %s not answered within %v", what, hangGuard)
				}
				return mcpMessage{}, false
			}

			fmt.Fprintln(stdin, `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"hostile","version":"1"}}}`)
			if m, ok := await("initialize"); !ok || m.Error != nil {
				t.Fatalf("initialize: %s", m.Error)
			}
			fmt.Fprintln(stdin, `{"jsonrpc":"2.0","method":"notifications/initialized"}`)
			fmt.Fprintf(stdin, `{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":%q,"arguments":%s}}`+"\n", tt.tool, tt.args)
			if m, ok := await(tt.tool); ok {
				if m.Result == nil {
					t.Errorf("%s: error %s, want a tool result", tt.tool, m.Error)
				} else {
					var text strings.Builder
					for _, c := range m.Result.Content {
						text.WriteString(c.Text)
					}
					tt.check(t, m.Result.IsError, text.String())
				}
			}

			stdin.Close()
			select {
			case <-exited:
			case <-time.After(termGrace):
				t.Errorf("loom mcp still running %v after its input ended", termGrace)
			}
		})
	}
}

// refusedSpecial checks an MCP tool result refusing a special file.
func refusedSpecial(t *testing.T, isError bool, text string) {
	t.Helper()
	if !isError || !strings.Contains(text, "not a regular file") {
		t.Errorf("isError %v, %q; want an error result saying it is not a regular file", isError, text)
	}
}

// TestHostileLSP opens the hostile repository in `loom lsp` as an editor
// would: the background index starts at initialized, and the bar
// is that the server stays under 200 MB and answers workspace/symbol (the
// index of these few files takes milliseconds once special files are
// skipped unread). The answer waits for the index, so an index stuck on a
// special file shows as a request still unanswered after hangGuard, and
// one reading /dev/zero as a child killed for memory; how fast it answers
// on a loaded machine is logged, not judged.
func TestHostileLSP(t *testing.T) {
	dir := hostileRepo(t)
	c := startLSP(t, dir, nil)
	w := watchMemory(c.cmd.Process)
	go func() { <-c.exited; w.stop() }()
	// Runs before startLSP's cleanup ends the process: reports a child
	// killed for memory whatever step failed because of it.
	t.Cleanup(func() { w.checkMemory(t) })

	c.initialize(clientCaps(false))
	ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
	defer cancel()
	sent := time.Now()
	res, err := c.server.Symbols(ctx, &protocol.WorkspaceSymbolParams{Query: needleFunc})
	if err != nil {
		t.Fatalf("workspace/symbol %s: %v after %v", needleFunc, err, time.Since(sent).Round(time.Millisecond))
	}
	t.Logf("workspace/symbol answered in %v", time.Since(sent).Round(time.Millisecond))
	want := uri.File(filepath.Join(dir, needleFile))
	syms, _ := res.(protocol.SymbolInformationSlice)
	if !slices.ContainsFunc(syms, func(s protocol.SymbolInformation) bool { return s.Name == needleFunc && s.Location.URI == want }) {
		t.Errorf("workspace/symbol %s = %+v, want it in %s", needleFunc, res, needleFile)
	}

	if err := c.server.Shutdown(c.ctx()); err != nil {
		t.Fatal(err)
	}
	c.server.Exit(c.ctx())
	if code := c.exitCode(); code != 0 {
		t.Errorf("exit code %d after shutdown, want 0", code)
	}
}

// TestHostileSIGTERM: a FIFO as .gitignore once blocked glob in open(),
// where SIGTERM could not end it. glob should finish by itself; if it is
// still running after 500 ms, SIGTERM must end it within termGrace.
func TestHostileSIGTERM(t *testing.T) {
	dir := fifoIgnoreRepo(t)
	r := runLoom(t, dir, 500*time.Millisecond, "tool", "glob", "--args", `{"pattern":"**"}`)
	if !r.finished(t) {
		return
	}
	if r.terminated {
		t.Logf("glob ended by SIGTERM (exit %d) after %v", r.code, r.elapsed.Round(time.Millisecond))
		return
	}
	listed := listedPaths(r.stdout)
	if r.code != 0 || !slices.Contains(listed, "main.go") || slices.Contains(listed, ".gitignore") {
		t.Errorf("exit %d, stdout %q, stderr %q; want main.go listed and not the FIFO", r.code, r.stdout, r.stderr)
	}
}
