package server

import (
	"context"
	"encoding/json"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/loom-agent/loom/server/db/dbtest"
	"github.com/loom-agent/loom/server/web"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

func newServer(t *testing.T, cfg Config) *Server {
	t.Helper()
	if cfg.Database == "" {
		cfg.Database = filepath.Join(t.TempDir(), "server.db")
	}
	s, err := New(context.Background(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func do(t *testing.T, h http.Handler, r *http.Request) *httptest.ResponseRecorder {
	t.Helper()
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func TestHealthAndReadiness(t *testing.T) {
	s := newServer(t, Config{})
	for _, path := range []string{"/healthz", "/readyz"} {
		if w := do(t, s.Handler(), httptest.NewRequest("GET", path, nil)); w.Code != 200 {
			t.Errorf("%s: %d %s", path, w.Code, w.Body)
		}
	}
	s.DB.Close()
	if w := do(t, s.Handler(), httptest.NewRequest("GET", "/readyz", nil)); w.Code != http.StatusServiceUnavailable {
		t.Errorf("/readyz with the database closed: %d, want 503", w.Code)
	}
	if w := do(t, s.Handler(), httptest.NewRequest("GET", "/healthz", nil)); w.Code != 200 {
		t.Errorf("/healthz with the database closed: %d, want 200 (the process lives)", w.Code)
	}
}

func TestMetricsAccess(t *testing.T) {
	tokenFile := filepath.Join(t.TempDir(), "token")
	os.WriteFile(tokenFile, []byte("0123456789abcdef-metrics\n"), 0o600)
	open := newServer(t, Config{TrustedProxies: []string{"10.0.0.1"}})
	guarded := newServer(t, Config{MetricsTokenFile: tokenFile})
	tests := []struct {
		name   string
		s      *Server
		remote string
		header map[string]string
		want   int
	}{
		{"loopback, no token configured", open, "127.0.0.1:5000", nil, 200},
		{"another host, no token configured", open, "192.0.2.7:5000", nil, 403},
		{"loopback proxy forwarding the world", open, "127.0.0.1:5000", map[string]string{"X-Forwarded-For": "192.0.2.7"}, 403},
		{"trusted proxy forwarding the world", open, "10.0.0.1:5000", map[string]string{"X-Forwarded-For": "192.0.2.7"}, 403},
		{"token configured, none sent, loopback", guarded, "127.0.0.1:5000", nil, 401},
		{"wrong token", guarded, "192.0.2.7:5000", map[string]string{"Authorization": "Bearer nope"}, 401},
		{"right token", guarded, "192.0.2.7:5000", map[string]string{"Authorization": "Bearer 0123456789abcdef-metrics"}, 200},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/metrics", nil)
			r.RemoteAddr = tc.remote
			for k, v := range tc.header {
				r.Header.Set(k, v)
			}
			w := do(t, tc.s.Handler(), r)
			if w.Code != tc.want {
				t.Fatalf("status %d, want %d: %s", w.Code, tc.want, w.Body)
			}
		})
	}
	// Requests are counted by route pattern, never by path.
	do(t, open.Handler(), httptest.NewRequest("GET", "/healthz", nil))
	do(t, open.Handler(), httptest.NewRequest("GET", "/no/such/path/123", nil))
	r := httptest.NewRequest("GET", "/metrics", nil)
	r.RemoteAddr = "127.0.0.1:1"
	body := do(t, open.Handler(), r).Body.String()
	for _, want := range []string{`loom_http_requests_total{code="200",method="GET",route="GET /healthz"} 1`, `route="unmatched"`} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if strings.Contains(body, "/no/such/path/123") {
		t.Error("a request path became a metric label")
	}
}

func TestClientBehindProxies(t *testing.T) {
	proxies, err := web.ParseProxies([]string{"10.0.0.0/8", "::1"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, remote, xff, proto string
		wantIP                   string
		wantHTTPS                bool
	}{
		{"direct client; its headers ignored", "192.0.2.1:1", "203.0.113.9", "https", "192.0.2.1", false},
		{"through a trusted proxy", "10.1.2.3:1", "203.0.113.9", "https", "203.0.113.9", true},
		{"forged left-most hop skipped", "10.1.2.3:1", "198.51.100.1, 203.0.113.9", "http", "203.0.113.9", false},
		{"two trusted proxies", "10.1.2.3:1", "203.0.113.9, 10.9.9.9", "", "203.0.113.9", false},
		{"garbage hop stops the walk", "10.1.2.3:1", "203.0.113.9, bogus", "", "10.1.2.3", false},
		{"IPv6 proxy", "[::1]:1", "2001:db8::5", "", "2001:db8::5", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got web.Client
			h := proxies.Identify(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got = web.ClientOf(r) }))
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = tc.remote
			if tc.xff != "" {
				r.Header.Set("X-Forwarded-For", tc.xff)
			}
			if tc.proto != "" {
				r.Header.Set("X-Forwarded-Proto", tc.proto)
			}
			h.ServeHTTP(httptest.NewRecorder(), r)
			if got.IP.String() != tc.wantIP || got.HTTPS != tc.wantHTTPS {
				t.Errorf("client %v https=%v, want %s https=%v", got.IP, got.HTTPS, tc.wantIP, tc.wantHTTPS)
			}
		})
	}
	if _, err := web.ParseProxies([]string{"not-an-ip"}); err == nil {
		t.Error("a bad proxy address was accepted")
	}
}

func TestPanicsBecome500s(t *testing.T) {
	s := newServer(t, Config{})
	s.mux.HandleFunc("GET /boom", func(http.ResponseWriter, *http.Request) { panic("boom") })
	w := do(t, s.Handler(), httptest.NewRequest("GET", "/boom", nil))
	if w.Code != 500 || !strings.Contains(w.Body.String(), `"internal error"`) {
		t.Errorf("%d %s", w.Code, w.Body)
	}
	if w.Header().Get("X-Frame-Options") != "DENY" {
		t.Error("security headers missing")
	}
}

// Shutdown lets a request in flight finish, and Run returns cleanly.
func TestGracefulShutdown(t *testing.T) {
	s := newServer(t, Config{Listen: "127.0.0.1:0"})
	inside, release := make(chan struct{}), make(chan struct{})
	s.mux.HandleFunc("GET /slow", func(w http.ResponseWriter, r *http.Request) {
		close(inside)
		<-release
		w.Write([]byte("finished"))
	})
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- s.Run(ctx) }()
	<-s.Listening()
	got := make(chan string, 1)
	go func() {
		resp, err := http.Get("http://" + s.Addr().String() + "/slow")
		if err != nil {
			got <- err.Error()
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		got <- string(b)
	}()
	<-inside
	cancel()
	// New connections are refused while the request in flight goes on.
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := http.Get("http://" + s.Addr().String() + "/healthz"); err != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("still accepting requests after shutdown began")
		}
		time.Sleep(10 * time.Millisecond)
	}
	close(release)
	if b := <-got; b != "finished" {
		t.Errorf("request in flight got %q", b)
	}
	if err := <-ran; err != nil {
		t.Errorf("Run: %v", err)
	}
}

func TestConfig(t *testing.T) {
	dir := t.TempDir()
	write := func(s string) string {
		p := filepath.Join(dir, "c.json")
		os.WriteFile(p, []byte(s), 0o600)
		return p
	}
	if _, err := LoadConfig(write(`{"listen": "127.0.0.1:1", "shutdown_grace": "5s"}`)); err != nil {
		t.Error(err)
	}
	// The proxy's limits and prices: read, then checked with the rest.
	c, err := LoadConfig(write(`{"database": "x.db", "prices": {"sonnet": {"input": "3", "output": 15, "cached": "0.30"}},
		"limits": {"user": {"requests_per_minute": 60, "monthly_budget": "200"}, "teams": {"acme/research": {"daily_budget": "50"}}}}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.withDefaults(); err != nil || c.Prices["sonnet"].Output != 15_000000 || *c.Limits.User.RequestsPerMinute != 60 {
		t.Errorf("limits and prices: %v %+v", err, c)
	}
	c, _ = LoadConfig(write(`{"database": "x.db", "limits": {"teams": {"research": {"daily_budget": "50"}}}}`))
	if _, err := c.withDefaults(); err == nil {
		t.Error("a team named without its organisation: accepted")
	}
	for name, body := range map[string]string{
		"unknown field":                        `{"listne": ":1"}`,
		"limits typo":                          `{"limits": {"user": {"request_per_minute": 5}}}`,
		"price in floats beyond micro-dollars": `{"prices": {"m": {"input": 0.0000001}}}`,
		"bad duration":                         `{"shutdown_grace": "soon"}`,
	} {
		if _, err := LoadConfig(write(body)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	t.Setenv("XDG_DATA_HOME", dir)
	c, err = Config{}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	if c.Listen != DefaultListen || c.Database != filepath.Join(dir, "loom", "server.db") || c.PublicURL != "http://"+DefaultListen {
		t.Errorf("defaults: %+v", c)
	}
	for name, bad := range map[string]Config{
		"listen without port": {Listen: "localhost"},
		"cert without key":    {TLSCert: "c.pem"},
		"public URL scheme":   {PublicURL: "ftp://x"},
	} {
		if _, err := bad.withDefaults(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// Every route a server package registers is described in openapi.json.
func TestOpenAPIDescribesEveryRoute(t *testing.T) {
	var doc struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(openAPI, &doc); err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	route := regexp.MustCompile(`"(GET|POST|PUT|PATCH|DELETE) (/[^"]*)"`)
	found := 0
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range route.FindAllStringSubmatch(string(b), -1) {
			found++
			p := strings.TrimSuffix(m[2], "{$}")
			if _, ok := doc.Paths[p][strings.ToLower(m[1])]; !ok {
				t.Errorf("%s: route %s %s is not in openapi.json", path, m[1], p)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if found < 4 {
		t.Fatalf("found only %d routes: the pattern no longer matches how routes are written", found)
	}
}
