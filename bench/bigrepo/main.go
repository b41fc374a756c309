// Command bigrepo times Loom (and gopls) on a repository as a user meets it.
// bench/bigrepo.sh runs it.
//
//	bigrepo run -dir REPO -loom BIN [-env K=V ...]
//
// starts `loom run hello` in REPO against a scripted model (llm/llmtest
// behind a loopback relay that notes when the first model request arrives)
// and prints: START_TO_FIRST_REQUEST_MS PEAK_RSS_MB CPU_MS (the whole
// process's user and system time: on a busy machine, the wall time's
// share of the work).
//
//	bigrepo lsp -dir REPO -query Q NAME=CMD ...
//
// starts each language server in REPO, initializes it and asks
// workspace/symbol for Q until it answers with something (a server still
// loading may answer empty), then prints per server: NAME
// INIT_TO_SYMBOLS_MS PEAK_RSS_MB RESULTS.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"go.lsp.dev/protocol"
	"go.lsp.dev/uri"

	"github.com/loom-agent/loom/llm/llmtest"
	"github.com/loom-agent/loom/lsp"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	var err error
	switch os.Args[1] {
	case "run":
		err = runCmd(os.Args[2:])
	case "lsp":
		err = lspCmd(os.Args[2:])
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bigrepo:", err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: bigrepo run -dir REPO -loom BIN | bigrepo lsp -dir REPO -query Q NAME=CMD...")
	os.Exit(2)
}

type envFlags []string

func (e *envFlags) String() string     { return strings.Join(*e, " ") }
func (e *envFlags) Set(v string) error { *e = append(*e, v); return nil }

func runCmd(args []string) error {
	fs := flag.NewFlagSet("run", flag.ExitOnError)
	dir := fs.String("dir", ".", "the repository")
	loom := fs.String("loom", "loom", "the loom binary")
	var env envFlags
	fs.Var(&env, "env", "K=V added to the child's environment (repeatable)")
	fs.Parse(args)

	srv, err := llmtest.Start(llmtest.Script{Turns: []llmtest.Turn{{Text: "hi"}}}, "")
	if err != nil {
		return err
	}
	defer srv.Close()
	target, _ := url.Parse(srv.URL)
	var first sync.Once
	arrived := make(chan time.Time, 1)
	relay := &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		r.SetURL(&url.URL{Scheme: target.Scheme, Host: target.Host})
	}}
	hs := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			first.Do(func() { arrived <- time.Now() })
		}
		relay.ServeHTTP(w, r)
	})}
	ln, err := listenLoopback()
	if err != nil {
		return err
	}
	go hs.Serve(ln)
	defer hs.Close()

	cmd := exec.Command(*loom, "run", "hello")
	cmd.Dir = *dir
	cmd.Env = append(os.Environ(), "LOOM_MODEL=test-model", "LOOM_BASE_URL=http://"+ln.Addr().String()+"/v1", "LOOM_API_KEY=x")
	cmd.Env = append(cmd.Env, env...)
	var stderr strings.Builder
	cmd.Stdout, cmd.Stderr = io.Discard, &stderr
	start := time.Now()
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("loom run: %v: %s", err, stderr.String())
	}
	select {
	case t := <-arrived:
		cpu := cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
		fmt.Printf("%.1f %.1f %.1f\n", ms(t.Sub(start)), peakMB(cmd.ProcessState), ms(cpu))
		return nil
	default:
		return errors.New("loom run made no model request")
	}
}

func lspCmd(args []string) error {
	fs := flag.NewFlagSet("lsp", flag.ExitOnError)
	dir := fs.String("dir", ".", "the repository")
	query := fs.String("query", "Reader", "the workspace/symbol query")
	fs.Parse(args)
	abs, err := filepath.Abs(*dir)
	if err != nil {
		return err
	}
	for _, spec := range fs.Args() {
		name, command, ok := strings.Cut(spec, "=")
		if !ok {
			return fmt.Errorf("%q is not NAME=COMMAND", spec)
		}
		d, rss, n, err := symbolsOnce(strings.Fields(command), abs, *query)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		fmt.Printf("%s %.1f %.1f %d\n", name, ms(d), rss, n)
	}
	return nil
}

// symbolsOnce starts a server, initializes it and asks workspace/symbol
// until it has an answer; it returns the time from the start of initialize
// to that answer, the server's peak RSS then, and the number of results.
func symbolsOnce(argv []string, dir, query string) (time.Duration, float64, int, error) {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = dir
	cmd.Stderr = io.Discard
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return 0, 0, 0, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return 0, 0, 0, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if err := cmd.Start(); err != nil {
		return 0, 0, 0, err
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	_, server := lsp.NewClientConn(ctx, client{}, rwc{stdout, stdin})
	root := uri.File(dir)
	folders := []protocol.WorkspaceFolder{{URI: root, Name: filepath.Base(dir)}}
	params := &protocol.InitializeParams{RootURI: &root, Capabilities: protocol.ClientCapabilities{},
		WorkspaceFoldersInitializeParams: protocol.WorkspaceFoldersInitializeParams{WorkspaceFolders: protocol.NewNullable(folders)}}
	start := time.Now()
	if _, err := server.Initialize(ctx, params); err != nil {
		return 0, 0, 0, fmt.Errorf("initialize: %w", err)
	}
	if err := server.Initialized(ctx, &protocol.InitializedParams{}); err != nil {
		return 0, 0, 0, err
	}
	for {
		res, err := server.Symbols(ctx, &protocol.WorkspaceSymbolParams{Query: query})
		if err != nil {
			return 0, 0, 0, fmt.Errorf("workspace/symbol: %w", err)
		}
		if n := symbolCount(res); n > 0 {
			d := time.Since(start)
			rss := statusMB(cmd.Process.Pid, "VmHWM")
			server.Shutdown(ctx)
			server.Exit(ctx)
			return d, rss, n, nil
		}
		select {
		case <-ctx.Done():
			return 0, 0, 0, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// statusMB reads a field of /proc/PID/status (kB) in MB.
func statusMB(pid int, field string) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 64)
			return kb / 1024
		}
	}
	return 0
}

func peakMB(ps *os.ProcessState) float64 {
	if ru, ok := ps.SysUsage().(*syscall.Rusage); ok {
		return float64(ru.Maxrss) / 1024 // kB on Linux
	}
	return 0
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// client answers the server-to-client requests gopls makes on startup.
type client struct{ protocol.UnimplementedClient }

func (client) Configuration(_ context.Context, p *protocol.ConfigurationParams) ([]protocol.LSPAny, error) {
	out := make([]protocol.LSPAny, len(p.Items))
	for i := range out {
		out[i] = protocol.LSPAny("null")
	}
	return out, nil
}

func (client) RegisterCapability(context.Context, *protocol.RegistrationParams) error { return nil }
func (client) WorkDoneProgressCreate(context.Context, *protocol.WorkDoneProgressCreateParams) error {
	return nil
}
func (client) WorkspaceFolders(context.Context) ([]protocol.WorkspaceFolder, error) { return nil, nil }

type rwc struct {
	io.ReadCloser
	io.WriteCloser
}

func (c rwc) Close() error { c.WriteCloser.Close(); return c.ReadCloser.Close() }

func listenLoopback() (net.Listener, error) { return net.Listen("tcp", "127.0.0.1:0") }

func symbolCount(res protocol.WorkspaceSymbolResult) int {
	switch r := res.(type) {
	case protocol.SymbolInformationSlice:
		return len(r)
	case protocol.WorkspaceSymbolSlice:
		return len(r)
	}
	return 0
}
