package mcpclient

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/loom-agent/loom/tools"
)

// hangGuard bounds waits that only a broken client would make long.
const hangGuard = 30 * time.Second

// TestMain lets the test binary be the MCP server its tests start, over
// real stdio: MCPCLIENT_TEST_SERVER=1 serves testServer instead.
func TestMain(m *testing.M) {
	if os.Getenv("MCPCLIENT_TEST_SERVER") == "1" {
		if err := server.ServeStdio(testServer()); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// testServer offers "wait" (sends `steps` progress notifications, then
// waits to be cancelled and writes $MARKER when it is), "echo", and
// "crash" (says why on stderr and exits).
func testServer() *server.MCPServer {
	s := server.NewMCPServer("mcpclient-test", "1", server.WithToolCapabilities(true))
	s.AddTool(mcp.NewTool("wait", mcp.WithNumber("steps")), func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		steps := int(req.GetFloat("steps", 1))
		var token mcp.ProgressToken
		if req.Params.Meta != nil {
			token = req.Params.Meta.ProgressToken
		}
		srv := server.ServerFromContext(ctx)
		for i := 1; i <= steps; i++ {
			srv.SendNotificationToClient(ctx, "notifications/progress", map[string]any{
				"progressToken": token, "progress": i, "total": steps, "message": fmt.Sprintf("step %d", i)})
		}
		<-ctx.Done()
		os.WriteFile(os.Getenv("MARKER"), []byte("cancelled"), 0o600)
		return nil, ctx.Err()
	})
	s.AddTool(mcp.NewTool("echo", mcp.WithString("message"), mcp.WithReadOnlyHintAnnotation(true), mcp.WithOpenWorldHintAnnotation(false)),
		func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			return mcp.NewToolResultText("echo: " + req.GetString("message", "")), nil
		})
	s.AddTool(mcp.NewTool("getenv", mcp.WithString("name")), func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		return mcp.NewToolResultText("=" + os.Getenv(req.GetString("name", ""))), nil
	})
	s.AddTool(mcp.NewTool("crash"), func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		fmt.Fprintln(os.Stderr, "boom: the test server crashes on purpose")
		os.Exit(3)
		return nil, nil
	})
	return s
}

// testServerConfig starts this test binary as the server; marker is the
// file it writes when a call is cancelled.
func testServerConfig(t *testing.T, marker string) ServerConfig {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return ServerConfig{Command: exe, Env: map[string]string{"MCPCLIENT_TEST_SERVER": "1", "MARKER": marker}}
}

func TestAssignNames(t *testing.T) {
	long := strings.Repeat("x", 70)
	tests := []struct {
		name string
		keys []remoteName
		want map[remoteName]string // names that must be kept as they are
	}{
		{"short names kept", []remoteName{{"git", "status"}, {"git", "log"}, {"db", "query"}},
			map[remoteName]string{{"git", "status"}: "git__status", {"git", "log"}: "git__log", {"db", "query"}: "db__query"}},
		{"too long: cut with a hash", []remoteName{{"srv", long}, {"srv", long + "y"}, {"srv", "ok"}},
			map[remoteName]string{{"srv", "ok"}: "srv__ok"}},
		{"unsafe characters replaced", []remoteName{{"srv", "a.b"}, {"srv", "a_b"}},
			map[remoteName]string{{"srv", "a_b"}: "srv__a_b"}},
		{"servers and tools that join alike", []remoteName{{"srv", "_a"}, {"srv_", "a"}}, nil},
		{"exactly 64 kept", []remoteName{{"s", strings.Repeat("t", 61)}},
			map[remoteName]string{{"s", strings.Repeat("t", 61)}: "s__" + strings.Repeat("t", 61)}},
	}
	valid := regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := assignNames(tt.keys)
			if again := assignNames(tt.keys); fmt.Sprint(again) != fmt.Sprint(got) {
				t.Errorf("names change from one listing to the next: %v, then %v", got, again)
			}
			seen := map[string]remoteName{}
			for _, k := range tt.keys {
				n := got[k]
				if !valid.MatchString(n) {
					t.Errorf("%v is named %q, which providers refuse", k, n)
				}
				if other, dup := seen[n]; dup {
					t.Errorf("%v and %v are both named %q", k, other, n)
				}
				seen[n] = k
				if w, ok := tt.want[k]; ok && n != w {
					t.Errorf("%v is named %q, want %q", k, n, w)
				}
				if _, kept := tt.want[k]; !kept && n == k.server+"__"+k.tool {
					t.Errorf("%v kept its name %q, which another tool wants or providers refuse", k, n)
				}
			}
		})
	}
}

func TestEffectOf(t *testing.T) {
	yes, no := true, false
	tests := []struct {
		name        string
		a           mcp.ToolAnnotation
		effect      tools.Effect
		destructive bool
	}{
		{"no annotations: the worst case", mcp.ToolAnnotation{}, tools.EffectExecute, true},
		{"read-only, closed world", mcp.ToolAnnotation{ReadOnlyHint: &yes, OpenWorldHint: &no}, tools.EffectRead, false},
		{"read-only, world unsaid", mcp.ToolAnnotation{ReadOnlyHint: &yes}, tools.EffectRead, false},
		{"read-only but open world: may send data out", mcp.ToolAnnotation{ReadOnlyHint: &yes, OpenWorldHint: &yes}, tools.EffectExecute, false},
		{"destructive", mcp.ToolAnnotation{ReadOnlyHint: &no, DestructiveHint: &yes, OpenWorldHint: &no}, tools.EffectExecute, true},
		{"additive, closed world: still outside the changeset", mcp.ToolAnnotation{ReadOnlyHint: &no, DestructiveHint: &no, OpenWorldHint: &no}, tools.EffectExecute, false},
		{"read-only hint false", mcp.ToolAnnotation{ReadOnlyHint: &no}, tools.EffectExecute, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, d, _ := effectOf(tt.a)
			if e != tt.effect || d != tt.destructive {
				t.Errorf("effect %v destructive %v, want %v %v", e, d, tt.effect, tt.destructive)
			}
			if tools.NeedsApproval(tools.Spec{Effect: e}) != (tt.effect == tools.EffectExecute) {
				t.Errorf("approval needed = %v", !(tt.effect == tools.EffectExecute))
			}
		})
	}
}

// fakeClock is a call's inactivity clock on time the test moves.
type fakeClock struct {
	mu            sync.Mutex
	now, deadline time.Duration
	armed, fired  bool
	f             func()
}

func (c *fakeClock) Reset(d time.Duration) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.deadline, c.armed = c.now+d, true
	return true
}

func (c *fakeClock) Stop() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	was := c.armed
	c.armed = false
	return was
}

// advance moves time on, firing the clock when its deadline passed.
func (c *fakeClock) advance(d time.Duration) bool {
	c.mu.Lock()
	c.now += d
	fire := c.armed && c.now >= c.deadline
	if fire {
		c.armed, c.fired = false, true
	}
	c.mu.Unlock()
	if fire {
		c.f()
	}
	return fire
}

// TestInactivityTimeoutResetByProgress: a call whose server keeps sending
// progress outlives its timeout several times over; once the progress
// stops, the timeout ends the call, and the server hears it cancelled.
func TestInactivityTimeoutResetByProgress(t *testing.T) {
	marker := filepath.Join(t.TempDir(), "cancelled")
	cfg := testServerConfig(t, marker)
	const timeout = 10 * time.Second
	cfg.Timeout = Duration(timeout)
	srv := newServer("t", ScopeUser, cfg, t.TempDir(), slog.New(slog.DiscardHandler))
	t.Cleanup(func() { srv.Close() })
	clocks := make(chan *fakeClock, 1)
	srv.newTimer = func(d time.Duration, f func()) timer {
		c := &fakeClock{f: f}
		c.Reset(d)
		clocks <- c
		return c
	}
	// Each progress waits for the test to move time on before the next
	// is read, so time moves between progress notifications only.
	progress, moved := make(chan mcp.ProgressNotificationParams), make(chan struct{})
	done := make(chan error, 1)
	ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
	defer cancel()
	go func() {
		_, err := srv.Call(ctx, "wait", map[string]any{"steps": 3}, func(p mcp.ProgressNotificationParams) {
			progress <- p
			<-moved
		})
		done <- err
	}()
	var clock *fakeClock
	select {
	case clock = <-clocks:
	case <-ctx.Done():
		t.Fatal("the call never started its clock")
	}
	for i := 1; i <= 3; i++ {
		select {
		case p := <-progress:
			if p.Progress != float64(i) || p.Total != 3 || p.Message != fmt.Sprintf("step %d", i) {
				t.Errorf("progress %d = %+v", i, p)
			}
		case <-ctx.Done():
			t.Fatalf("progress %d never came", i)
		}
		if clock.advance(timeout * 6 / 10) {
			t.Fatalf("the call timed out after progress %d, %v after the last word from its server", i, timeout*6/10)
		}
		moved <- struct{}{}
	}
	if !clock.advance(timeout / 2) {
		t.Fatal("the call did not time out after its server fell silent for longer than its timeout")
	}
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "sent nothing for 10s") {
			t.Errorf("err = %v, want the inactivity timeout", err)
		}
	case <-ctx.Done():
		t.Fatal("the call did not end at its timeout")
	}
	waitFile(t, marker)
}

// TestCancelReachesServer: cancelling a call's context sends
// notifications/cancelled, which ends the handler on the server.
func TestCancelReachesServer(t *testing.T) {
	marker := filepath.Join(t.TempDir(), "cancelled")
	srv := newServer("t", ScopeUser, testServerConfig(t, marker), t.TempDir(), slog.New(slog.DiscardHandler))
	t.Cleanup(func() { srv.Close() })
	ctx, cancel := context.WithCancel(context.Background())
	started := make(chan struct{}, 1)
	done := make(chan error, 1)
	go func() {
		_, err := srv.Call(ctx, "wait", map[string]any{"steps": 1}, func(mcp.ProgressNotificationParams) { started <- struct{}{} })
		done <- err
	}()
	select {
	case <-started:
	case <-time.After(hangGuard):
		t.Fatal("the call never started")
	}
	cancel()
	select {
	case err := <-done:
		if err == nil {
			t.Error("a cancelled call succeeded")
		}
	case <-time.After(hangGuard):
		t.Fatal("a cancelled call did not return")
	}
	waitFile(t, marker)
}

// TestRestartAfterCrash: a server that dies during a call fails that call
// with what it said last, and is started again at the next call.
func TestRestartAfterCrash(t *testing.T) {
	srv := newServer("t", ScopeUser, testServerConfig(t, filepath.Join(t.TempDir(), "m")), t.TempDir(), slog.New(slog.DiscardHandler))
	t.Cleanup(func() { srv.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
	defer cancel()
	_, err := srv.Call(ctx, "crash", nil, nil)
	if err == nil || !strings.Contains(err.Error(), "stopped during the call") || !strings.Contains(err.Error(), "boom") {
		t.Fatalf("err = %v, want the server's stop with its last words", err)
	}
	for i := 0; i < 2; i++ {
		res, err := srv.Call(ctx, "echo", map[string]any{"message": "again"}, nil)
		if err != nil {
			t.Fatalf("call %d after the crash: %v", i+1, err)
		}
		if got := resultText(res); got != "echo: again" {
			t.Errorf("result %q", got)
		}
	}
}

// TestSetOffersTools: the set's tools are named, described and annotated
// from the server's list, and run through a registry.
func TestSetOffersTools(t *testing.T) {
	cfg := testServerConfig(t, filepath.Join(t.TempDir(), "m"))
	cfg.DisabledTools = []string{"crash"}
	set := &Set{servers: []*Server{newServer("test", ScopeUser, cfg, t.TempDir(), slog.New(slog.DiscardHandler))}}
	t.Cleanup(func() { set.servers[0].Close() })
	reg, err := tools.NewBuiltinRegistry()
	if err != nil {
		t.Fatal(err)
	}
	reg.AddSource(set)
	echo, ok := reg.Get("test__echo")
	if !ok {
		t.Fatalf("test__echo not offered")
	}
	if _, ok := reg.Get("test__crash"); ok {
		t.Error("a disabled tool is offered")
	}
	if sp := echo.Spec(); sp.Effect != tools.EffectRead || !sp.OwnTimeout {
		t.Errorf("echo's spec = %+v", sp)
	}
	if sp, _ := reg.Get("test__wait"); sp.Spec().Effect != tools.EffectExecute {
		t.Errorf("an unannotated tool is %v, want execute", sp.Spec().Effect)
	}
	res, err := reg.Run(context.Background(), nil, "test__echo", json.RawMessage(`{"message":"hi"}`))
	if err != nil || res.Text != "echo: hi" {
		t.Errorf("run = %q, %v", res.Text, err)
	}
	if _, err := reg.Run(context.Background(), nil, "test__echo", json.RawMessage(`{"message":3}`)); err == nil {
		t.Error("arguments that break the server's schema were sent")
	}
}

// waitFile waits for the server to write path.
func waitFile(t *testing.T, path string) {
	t.Helper()
	deadline := time.Now().Add(hangGuard)
	for time.Now().Before(deadline) {
		if _, err := os.Stat(path); err == nil {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("the server never saw the call cancelled (%s not written)", path)
}

// TestSecretsNotInherited: a server does not see the model's key unless its
// configuration gives it; it sees the rest of Loom's environment.
func TestSecretsNotInherited(t *testing.T) {
	t.Setenv("OPENAI_API_KEY", "sk-secret")
	t.Setenv("MCPCLIENT_TEST_VISIBLE", "yes")
	srv := newServer("t", ScopeUser, testServerConfig(t, filepath.Join(t.TempDir(), "m")), t.TempDir(), slog.New(slog.DiscardHandler))
	t.Cleanup(func() { srv.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
	defer cancel()
	for name, want := range map[string]string{"OPENAI_API_KEY": "", "MCPCLIENT_TEST_VISIBLE": "yes"} {
		res, err := srv.Call(ctx, "getenv", map[string]any{"name": name}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := resultText(res); got != "="+want {
			t.Errorf("the server sees %s%s, want =%s", name, got, want)
		}
	}
}
