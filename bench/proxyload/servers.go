package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

// process is a server the benchmark started; stop ends it.
type process struct {
	cmd *exec.Cmd
}

// stop asks the server to shut down, as a person would with Ctrl-C, so
// that `loom server` ends its CPU profile (LOOM_CPUPROFILE) whole, and
// kills it if it has not ended within five seconds.
func (p *process) stop() {
	if p == nil || p.cmd.Process == nil {
		return
	}
	p.cmd.Process.Signal(os.Interrupt)
	done := make(chan struct{})
	go func() { p.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		p.cmd.Process.Kill()
		<-done
	}
}

// startLoom starts `loom server` in dir with the proxy in front of up,
// bootstraps an organisation and returns the server's URL and an API key
// with use_model, made the way a person makes one: the owner's one-time
// link redeemed for a web session, then the keys API with the session's
// CSRF token.
func startLoom(loom, dir string, up *upstream) (*process, string, string, error) {
	port, err := freePort()
	if err != nil {
		return nil, "", "", err
	}
	cfg, _ := json.Marshal(map[string]any{
		"listen":   "127.0.0.1:" + port,
		"database": filepath.Join(dir, "server.db"),
		"proxy": map[string]any{
			"upstreams": []any{map[string]any{"name": "bench", "kind": "openai-compatible", "base_url": up.url, "key_env": "LOOM_BENCH_UPSTREAM_KEY"}},
			"models":    []any{map[string]any{"name": "bench-model", "routes": []any{map[string]any{"upstream": "bench"}}}},
		},
	})
	config := filepath.Join(dir, "server.json")
	if err := os.WriteFile(config, cfg, 0o600); err != nil {
		return nil, "", "", err
	}
	home := filepath.Join(dir, "home")
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + home, "XDG_CONFIG_HOME=" + home + "/config",
		"XDG_DATA_HOME=" + home + "/data", "XDG_CACHE_HOME=" + home + "/cache", "XDG_STATE_HOME=" + home + "/state",
		"LOOM_BENCH_UPSTREAM_KEY=" + up.key}
	if prof := os.Getenv("LOOM_CPUPROFILE"); prof != "" { // profile the server under load
		env = append(env, "LOOM_CPUPROFILE="+prof)
	}
	admin := exec.Command(loom, "server", "admin", "--config", config, "--org", "bench", "--email", "bench@example.test")
	admin.Env = env
	out, err := admin.Output()
	if err != nil {
		return nil, "", "", fmt.Errorf("loom server admin: %v", err)
	}
	link := strings.TrimSpace(string(out))

	cmd := exec.Command(loom, "server", "--config", config)
	cmd.Env = env
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, "", "", err
	}
	if err := cmd.Start(); err != nil {
		return nil, "", "", err
	}
	p := &process{cmd: cmd}
	base, err := listening(stderr)
	if err != nil {
		p.stop()
		return nil, "", "", err
	}
	key, err := makeKey(base, link)
	if err != nil {
		p.stop()
		return nil, "", "", err
	}
	return p, base, key, nil
}

// listening reads the server's log until it says where it listens, then
// drains the rest.
func listening(stderr io.Reader) (string, error) {
	lines := bufio.NewScanner(stderr)
	re := regexp.MustCompile(`listening on (http://\S+)`)
	for lines.Scan() {
		if m := re.FindStringSubmatch(lines.Text()); m != nil {
			go io.Copy(io.Discard, stderr)
			return m[1], nil
		}
	}
	return "", fmt.Errorf("loom server never listened (%v)", lines.Err())
}

// makeKey signs the owner in with the one-time link and makes an API key.
func makeKey(base, link string) (string, error) {
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 30 * time.Second}
	u, err := url.Parse(link)
	if err != nil {
		return "", fmt.Errorf("the bootstrap link %q: %v", link, err)
	}
	resp, err := c.PostForm(base+"/signin/magic", url.Values{"token": {u.Query().Get("token")}})
	if err != nil {
		return "", err
	}
	page, _ := io.ReadAll(resp.Body) // the account page, after the redirect
	resp.Body.Close()
	m := regexp.MustCompile(`name="csrf_token" value="([^"]+)"`).FindSubmatch(page)
	if resp.StatusCode != http.StatusOK || m == nil {
		return "", fmt.Errorf("signing in with the bootstrap link: HTTP %d", resp.StatusCode)
	}
	req, _ := http.NewRequest(http.MethodPost, base+"/api/v1/orgs/bench/keys", strings.NewReader(`{"name":"bench","scopes":["use_model"]}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-CSRF-Token", string(m[1]))
	resp, err = c.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var created struct {
		Secret string `json:"secret"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&created); err != nil || resp.StatusCode != http.StatusCreated || created.Secret == "" {
		return "", fmt.Errorf("making an API key: HTTP %d, %v", resp.StatusCode, err)
	}
	return created.Secret, nil
}

// startPortkey starts Portkey's gateway from its installed package in dir
// (bench/portkey), bound to loopback by the preload there; its output
// goes to logFile.
func startPortkey(dir, logFile string) (*process, string, error) {
	port, err := freePort()
	if err != nil {
		return nil, "", err
	}
	cmd := exec.Command("node", "--import", "./bind-localhost.mjs", "node_modules/@portkey-ai/gateway/build/start-server.js", "--port="+port, "--headless")
	cmd.Dir = dir
	log, err := os.Create(logFile)
	if err != nil {
		return nil, "", err
	}
	defer log.Close() // the child has its own copy
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		return nil, "", err
	}
	p := &process{cmd: cmd}
	base := "http://127.0.0.1:" + port
	for range 200 { // ten seconds
		if resp, err := http.Get(base + "/"); err == nil {
			resp.Body.Close()
			return p, base, nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	p.stop()
	out, _ := os.ReadFile(logFile)
	return nil, "", errors.New("portkey's gateway did not answer: " + string(out))
}

func freePort() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	_, port, _ := net.SplitHostPort(l.Addr().String())
	return port, nil
}
