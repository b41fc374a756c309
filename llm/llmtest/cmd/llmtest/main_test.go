package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// build compiles the command once for all tests of this package.
func build(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "llmtest-cmd-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "llmtest")
		if out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("%v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatalf("build: %v", buildErr)
	}
	return binPath
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binPath != "" {
		os.RemoveAll(filepath.Dir(binPath))
	}
	os.Exit(code)
}

// The command is tested as it is used: built, started, read for its URL,
// spoken to over HTTP, and stopped with a signal.
func TestCommand(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a binary")
	}
	dir := t.TempDir()
	bin := build(t)
	scriptPath := filepath.Join(dir, "script.json")
	os.WriteFile(scriptPath, []byte(`{"turns":[{"text":"hello from the script"}]}`), 0o644)
	recordPath := filepath.Join(dir, "rec.json")

	cmd := exec.Command(bin, "-script", scriptPath, "-record", recordPath)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	base := strings.TrimSpace(line)
	if !strings.HasPrefix(base, "http://127.0.0.1:") || !strings.HasSuffix(base, "/v1") {
		t.Fatalf("first line %q is not a base URL", line)
	}

	resp, err := http.Post(base+"/chat/completions", "application/json", strings.NewReader(`{"model":"m","messages":[{"role":"user","content":"hi"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), "hello from the script") {
		t.Errorf("answer %s", body)
	}
	var recs []struct {
		Path string `json:"path"`
		Body struct {
			Model string `json:"model"`
		} `json:"body"`
	}
	data, err := os.ReadFile(recordPath)
	if err != nil || json.Unmarshal(data, &recs) != nil || len(recs) != 1 || recs[0].Body.Model != "m" {
		t.Errorf("record file %s (%v)", data, err)
	}

	cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("exit: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Error("did not stop on SIGTERM")
	}
}

func TestCommandRejectsBadScript(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a binary")
	}
	dir := t.TempDir()
	bin := build(t)
	p := filepath.Join(dir, "bad.json")
	os.WriteFile(p, []byte(`{"turns":[{"txt":"typo"}]}`), 0o644)
	out, err := exec.Command(bin, "-script", p).CombinedOutput()
	if err == nil || !strings.Contains(string(out), `unknown field "txt"`) {
		t.Errorf("got %v: %s", err, out)
	}
}
