package mcpclient

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"
)

// Scope says where a server was configured.
type Scope string

const (
	// ScopeUser: Loom's config file.
	ScopeUser Scope = "user"
	// ScopeRepo: a repository's .loom/mcp.json.
	ScopeRepo Scope = "repository"
	// ScopeSession: given by a client for one of its sessions (ACP's
	// session/new).
	ScopeSession Scope = "session"
)

// Bounds on starting a server and on what Loom keeps of it.
const (
	// StartTimeout bounds starting a server: the process or connection,
	// the handshake and the first tools/list.
	StartTimeout = 60 * time.Second
	// maxBackoff is the longest wait before a server that keeps stopping
	// is started again.
	maxBackoff = 30 * time.Second
	// firstBackoff is the wait before the first restart.
	firstBackoff = 250 * time.Millisecond
	// stderrTail is how much of a stdio server's stderr is kept, to say
	// why it stopped.
	stderrTail = 4 << 10
)

// Server is one configured MCP server, connected on first use and started
// again after it stopped. It is safe for concurrent use.
type Server struct {
	Name  string
	Scope Scope
	cfg   ServerConfig
	// dir is the folder a stdio server runs in.
	dir string
	// authDir holds the sign-ins of HTTP servers that ask for one
	// (oauth.go); "" for servers that cannot sign in (a session's).
	authDir string
	log     *slog.Logger
	// newTimer starts the inactivity clock of a call (time.AfterFunc;
	// tests drive their own).
	newTimer func(time.Duration, func()) timer

	mu       sync.Mutex
	conn     *conn
	tools    []mcp.Tool // the last list read
	failures int        // consecutive failed starts and stops
	retryAt  time.Time  // no start before this
	lastErr  error      // why the last start failed, or the server stopped
	closed   bool
	starting chan struct{} // closed when the start in progress ends
}

// timer is the part of *time.Timer a call's inactivity clock uses.
type timer interface {
	Reset(time.Duration) bool
	Stop() bool
}

// conn is one live connection to the server.
type conn struct {
	c      *client.Client
	lost   chan struct{} // closed when the process ended or the connection broke
	once   sync.Once
	stderr *tail
	// stdio says lost is closed once the child's stderr is read to its
	// end, so its last words are all in stderr.
	stdio bool
	// progress routes notifications/progress to the call that asked, by
	// progress token.
	progress sync.Map // string → func(mcp.ProgressNotificationParams)
	next     atomic.Int64
	relist   atomic.Bool // a tools/list is in progress
}

func (c *conn) markLost() { c.once.Do(func() { close(c.lost) }) }

func (c *conn) isLost() bool {
	select {
	case <-c.lost:
		return true
	default:
		return false
	}
}

func newServer(name string, scope Scope, cfg ServerConfig, dir string, log *slog.Logger) *Server {
	if cfg.Cwd != "" {
		if filepath.IsAbs(cfg.Cwd) {
			dir = cfg.Cwd
		} else {
			dir = filepath.Join(dir, cfg.Cwd)
		}
	}
	return &Server{Name: name, Scope: scope, cfg: cfg, dir: dir, log: log.With("mcp_server", name),
		newTimer: func(d time.Duration, f func()) timer { return time.AfterFunc(d, f) }}
}

// Config is the server's configuration.
func (s *Server) Config() ServerConfig { return s.cfg }

// Start connects to the server if it is not connected, waiting first for
// the backoff of a server that stopped, and returns the live connection.
func (s *Server) Start(ctx context.Context) error {
	_, err := s.connect(ctx)
	return err
}

// connect returns the live connection, starting the server when there is
// none; one caller starts it while the others wait.
func (s *Server) connect(ctx context.Context) (*conn, error) {
	for {
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			return nil, fmt.Errorf("MCP server %s: closed", s.Name)
		}
		if s.conn != nil && !s.conn.isLost() {
			c := s.conn
			s.mu.Unlock()
			return c, nil
		}
		if s.conn != nil { // it stopped: count it once, and restart later
			s.dropLocked(fmt.Errorf("it stopped%s", s.conn.stderr.why()))
		}
		if wait := s.starting; wait != nil {
			s.mu.Unlock()
			select {
			case <-wait:
				continue
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		delay := time.Until(s.retryAt)
		s.starting = make(chan struct{})
		s.mu.Unlock()

		c, tools, err := s.startAfter(ctx, delay)

		s.mu.Lock()
		close(s.starting)
		s.starting = nil
		if err == nil && s.closed {
			c.c.Close()
			err = fmt.Errorf("MCP server %s: closed", s.Name)
		}
		if err != nil {
			if ctx.Err() == nil { // a start the caller gave up on is no failure
				s.failLocked(err)
			}
			s.mu.Unlock()
			return nil, err
		}
		s.conn, s.tools, s.lastErr = c, tools, nil
		s.mu.Unlock()
		return c, nil
	}
}

// dropLocked forgets a connection that stopped, counting the failure.
func (s *Server) dropLocked(why error) {
	c := s.conn
	s.conn = nil
	go c.c.Close() // reaps the process; may wait for it
	s.failLocked(why)
	s.log.Warn("MCP server stopped; it will be started again at its next call", "err", why)
}

// failLocked counts a failure and sets the wait before the next start.
func (s *Server) failLocked(err error) {
	s.failures++
	s.lastErr = err
	d := firstBackoff << min(s.failures-1, 10)
	s.retryAt = time.Now().Add(min(d, maxBackoff))
}

// startAfter waits delay, then starts the server and lists its tools.
func (s *Server) startAfter(ctx context.Context, delay time.Duration) (*conn, []mcp.Tool, error) {
	if delay > 0 {
		t := time.NewTimer(delay)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			return nil, nil, ctx.Err()
		}
	}
	ctx, cancel := context.WithTimeout(ctx, StartTimeout)
	defer cancel()
	c, err := s.open()
	if err != nil {
		return nil, nil, fmt.Errorf("MCP server %s: %w", s.Name, err)
	}
	fail := func(err error) (*conn, []mcp.Tool, error) {
		c.c.Close()
		if login := s.needsLogin(err); login != nil {
			return nil, nil, login
		}
		return nil, nil, fmt.Errorf("MCP server %s: %w%s", s.Name, err, c.stderr.why())
	}
	init := mcp.InitializeRequest{}
	init.Params.ClientInfo = mcp.Implementation{Name: "loom", Version: "1"}
	if _, err := c.c.Initialize(ctx, init); err != nil {
		return fail(fmt.Errorf("initialize: %w", err))
	}
	tools, err := c.c.ListTools(ctx, mcp.ListToolsRequest{})
	if err != nil {
		return fail(fmt.Errorf("tools/list: %w", err))
	}
	return c, tools.Tools, nil
}

// open starts the process, or opens the HTTP connection, and the client
// on it, ready for the handshake.
func (s *Server) open() (*conn, error) {
	c := &conn{lost: make(chan struct{}), stderr: &tail{}}
	var tr transport.Interface
	kind, err := s.cfg.transport()
	if err != nil {
		return nil, err
	}
	var stderrW *os.File
	switch kind {
	case Stdio:
		// The child writes its stderr to a pipe of ours: its end (EOF)
		// says the process is gone, and its last words say why.
		r, w, err := os.Pipe()
		if err != nil {
			return nil, err
		}
		stderrW = w
		c.stdio = true
		go func() {
			io.Copy(c.stderr, r)
			r.Close()
			c.markLost()
		}()
		env := make([]string, 0, len(s.cfg.Env))
		for k, v := range s.cfg.Env {
			env = append(env, k+"="+v)
		}
		sort.Strings(env)
		tr = transport.NewStdioWithOptions(s.cfg.Command, env, s.cfg.Args,
			transport.WithCommandFunc(func(_ context.Context, command string, env, args []string) (*exec.Cmd, error) {
				// Not CommandContext: the process lives as long as the
				// server, not as long as the call that started it.
				cmd := exec.Command(command, args...)
				cmd.Env = append(inherited(), env...)
				cmd.Dir = s.dir
				cmd.Stderr = w
				return cmd, nil
			}))
	default:
		opts := []transport.StreamableHTTPCOption{transport.WithHTTPHeaders(s.cfg.Headers),
			transport.WithContinuousListening(), transport.WithHTTPLogger(s.log)}
		// A server signed in to gets its token (refreshed by mcp-go when
		// it expires); one that asks for a sign-in without one fails its
		// start with the command that signs in (needsLogin).
		tf, err := loadTokenFile(s.authDir, s.Name, s.cfg.URL)
		if err != nil {
			return nil, err
		}
		if tf != nil {
			opts = append(opts, transport.WithHTTPOAuth(tf.oauthConfig()))
		}
		h, err := transport.NewStreamableHTTP(s.cfg.URL, opts...)
		if err != nil {
			return nil, err
		}
		tr = h
	}
	c.c = client.NewClient(tr)
	c.c.OnNotification(func(n mcp.JSONRPCNotification) { s.notified(c, n) })
	c.c.OnConnectionLost(func(error) { c.markLost() })
	err = c.c.Start(context.Background())
	if stderrW != nil {
		stderrW.Close() // the child holds it now
	}
	if err != nil {
		c.markLost()
		return nil, err
	}
	return c, nil
}

// secretVars are Loom's own secrets, which a server inherits only when its
// configuration gives them.
var secretVars = []string{"LOOM_API_KEY", "OPENAI_API_KEY", "ANTHROPIC_API_KEY", "LOOM_MCP_TOKEN"}

// inherited is Loom's environment less its secrets: a third-party server
// has no business with the model's key.
func inherited() []string {
	var out []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if !slices.Contains(secretVars, k) {
			out = append(out, kv)
		}
	}
	return out
}

// notified handles a notification of the server: progress goes to the call
// that asked for it, a changed tool list is read again.
func (s *Server) notified(c *conn, n mcp.JSONRPCNotification) {
	switch n.Method {
	case string(mcp.MethodNotificationProgress):
		f := n.Params.AdditionalFields
		token := fmt.Sprint(f["progressToken"])
		if h, ok := c.progress.Load(token); ok {
			p := mcp.ProgressNotificationParams{}
			p.Progress, _ = f["progress"].(float64)
			p.Total, _ = f["total"].(float64)
			p.Message, _ = f["message"].(string)
			h.(func(mcp.ProgressNotificationParams))(p)
		}
	case string(mcp.MethodNotificationToolsListChanged):
		// Off the reader's goroutine, which must go on reading; one
		// listing at a time.
		if c.relist.CompareAndSwap(false, true) {
			go s.relist(c)
		}
	}
}

// relist reads the tool list again after the server said it changed.
func (s *Server) relist(c *conn) {
	defer c.relist.Store(false)
	ctx, cancel := context.WithTimeout(context.Background(), StartTimeout)
	defer cancel()
	res, err := c.c.ListTools(ctx, mcp.ListToolsRequest{})
	if err != nil {
		s.log.Warn("reading the changed tool list", "err", err)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conn == c {
		s.tools = res.Tools
	}
}

// Tools is the server's tool list as last read: empty before it started.
func (s *Server) Tools() []mcp.Tool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tools
}

// Err is why the server last failed to start or stopped; nil once it is up.
func (s *Server) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastErr
}

// errInactive ends a call whose server fell silent.
var errInactive = errors.New("inactive")

// Call calls the server's tool name with args (a JSON object), starting
// the server first if it is not running. The call ends when the server
// answers, when ctx ends (the server gets notifications/cancelled), or
// when the server sends nothing for it for the configured timeout; each
// progress notification restarts that clock and goes to progress.
func (s *Server) Call(ctx context.Context, name string, args map[string]any, progress func(mcp.ProgressNotificationParams)) (*mcp.CallToolResult, error) {
	c, err := s.connect(ctx)
	if err != nil {
		return nil, err
	}
	timeout := s.cfg.timeout()
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	clock := s.newTimer(timeout, func() { cancel(errInactive) })
	defer clock.Stop()

	token := fmt.Sprintf("loom-%d", c.next.Add(1))
	c.progress.Store(token, func(p mcp.ProgressNotificationParams) {
		clock.Reset(timeout)
		if progress != nil {
			progress(p)
		}
	})
	defer c.progress.Delete(token)

	req := mcp.CallToolRequest{}
	req.Params.Name = name
	req.Params.Arguments = args
	req.Params.Meta = &mcp.Meta{ProgressToken: token}
	res, err := c.c.CallTool(ctx, req)
	switch {
	case err == nil:
		s.mu.Lock()
		s.failures = 0
		s.mu.Unlock()
		return res, nil
	case errors.Is(context.Cause(ctx), errInactive):
		return nil, fmt.Errorf("MCP server %s sent nothing for %s, so the call was cancelled "+
			"(a longer \"timeout\" in its configuration gives it more time)", s.Name, timeout)
	case ctx.Err() != nil:
		return nil, ctx.Err()
	case c.isLost() || errors.Is(err, transport.ErrTransportClosed):
		// Its stdout may close before its stderr is read to the end: wait
		// (briefly) for that, so that its last words are the real ones.
		if c.stdio {
			select {
			case <-c.lost:
			case <-time.After(time.Second):
			}
		}
		c.markLost()
		return nil, fmt.Errorf("MCP server %s stopped during the call%s; it will be started again at the next call", s.Name, c.stderr.why())
	case s.needsLogin(err) != nil:
		return nil, s.needsLogin(err)
	}
	return nil, fmt.Errorf("MCP server %s: %w", s.Name, err)
}

// Close ends the server's process or connection.
func (s *Server) Close() error {
	s.mu.Lock()
	s.closed = true
	c := s.conn
	s.conn = nil
	s.mu.Unlock()
	if c == nil {
		return nil
	}
	return c.c.Close()
}

// tail keeps the end of a stream.
type tail struct {
	mu  sync.Mutex
	buf []byte
}

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if len(t.buf) > stderrTail {
		t.buf = append([]byte(nil), t.buf[len(t.buf)-stderrTail:]...)
	}
	return len(p), nil
}

// why is the stream's last line, to say why a server stopped.
func (t *tail) why() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	lines := strings.Split(strings.TrimSpace(string(t.buf)), "\n")
	last := strings.TrimSpace(lines[len(lines)-1])
	if last == "" {
		return ""
	}
	if len(last) > 300 {
		last = last[:300] + "…"
	}
	return fmt.Sprintf(" (its last words: %q)", last)
}
