package main

import (
	"strings"
	"testing"
)

// TestToolShellExitStatus: `loom tool shell` fails as its command did, so a
// script notices a command that failed or timed out.
func TestToolShellExitStatus(t *testing.T) {
	dir := project(t)
	tests := []struct {
		name, args string
		code       int
		wantOut    string
		wantErr    string
	}{
		{"success", `{"command":"echo hi"}`, 0, "hi\nexit status 0", ""},
		{"failure", `{"command":"echo no; exit 3"}`, 3, "no\nexit status 3", "exited with status 3"},
		{"timeout", `{"command":"echo slow; sleep 30","timeout_seconds":2}`, exitTimedOut, "slow\ntimed out after 2s", "timed out"},
		{"signal", `{"command":"kill -9 $$"}`, 128 + 9, "terminated by signal: killed", "killed by signal 9"},
		{"failure as JSON", `{"command":"exit 4"}`, 4, `"exit_code": 4`, "exited with status 4"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := []string{"tool", "shell", "--allow-shell", "--args", tt.args}
			if strings.HasSuffix(tt.name, "JSON") {
				args = append(args, "--json")
			}
			out, errOut, code := loom(t, dir, args...)
			if code != tt.code || !strings.Contains(out, tt.wantOut) || !strings.Contains(errOut, tt.wantErr) {
				t.Errorf("exit %d, stdout %q, stderr %q; want exit %d, %q and %q", code, out, errOut, tt.code, tt.wantOut, tt.wantErr)
			}
		})
	}
}

// TestToolLongArgsNotEchoed: malformed --args are quoted shortened, not
// whole.
func TestToolLongArgsNotEchoed(t *testing.T) {
	_, errOut, code := loom(t, project(t), "tool", "grep", "--args", `{"pattern":"`+strings.Repeat("a", 100<<10))
	if code != exitUsage || !strings.Contains(errOut, "not valid JSON") || len(errOut) > 1000 {
		t.Errorf("exit %d, stderr of %d bytes: %.300q", code, len(errOut), errOut)
	}
}
