package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestACPWithoutModel starts `loom acp` as avante.nvim does, with little
// in its environment: PATH, the thread database and an empty HOME of its
// own (with no HOME at all the binary would read the real user's config,
// found through the user database; thread.TestDefaultPath covers that
// case), and no model configured: initialize still answers, session/new
// fails with the instructions to configure a model, stdout carries only
// protocol messages and the process exits cleanly when stdin closes.
func TestACPWithoutModel(t *testing.T) {
	root := t.TempDir()
	cmd := loomCommand(t, []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "LOOM_DB=" + filepath.Join(t.TempDir(), "threads.db")}, "acp")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	in := strings.Join([]string{
		`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":1,"clientCapabilities":{}}}`,
		fmt.Sprintf(`{"jsonrpc":"2.0","id":2,"method":"session/new","params":{"cwd":%q,"mcpServers":[]}}`, root),
	}, "\n") + "\n"
	cmd.Stdin = strings.NewReader(in)
	if err := cmd.Run(); err != nil {
		t.Fatalf("loom acp: %v\n%s", err, stderr.String())
	}
	replies := map[float64]map[string]any{}
	sc := bufio.NewScanner(&stdout)
	for sc.Scan() {
		var msg map[string]any
		if err := json.Unmarshal(sc.Bytes(), &msg); err != nil || msg["jsonrpc"] != "2.0" {
			t.Fatalf("stdout holds a non-protocol line %q", sc.Text())
		}
		if id, ok := msg["id"].(float64); ok {
			replies[id] = msg
		}
	}
	res, _ := replies[1]["result"].(map[string]any)
	info, _ := res["agentInfo"].(map[string]any)
	if res["protocolVersion"] != 1.0 || info["name"] != "loom" {
		t.Errorf("initialize answered %v", replies[1])
	}
	errObj, _ := replies[2]["error"].(map[string]any)
	if msg, _ := errObj["message"].(string); !strings.Contains(msg, "LOOM_MODEL") {
		t.Errorf("session/new without a model answered %v; want the configuration instructions", replies[2])
	}
	if strings.Contains(stderr.String(), "panic") {
		t.Errorf("stderr: %s", stderr.String())
	}
}
