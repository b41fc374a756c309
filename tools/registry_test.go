package tools

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRegistryValidatesArguments checks that calls whose arguments break
// the tool's schema are refused before the tool runs, with an error naming
// the argument, instead of being defaulted or clamped.
func TestRegistryValidatesArguments(t *testing.T) {
	reg, err := NewBuiltinRegistry()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		tool, args string
		want       []string // substrings of the error
	}{
		{"shell", `{"command":"touch ran","timeout_seconds":0}`, []string{"invalid arguments for shell", `"timeout_seconds"`}},
		{"shell", `{"command":"touch ran","timeout_seconds":1e9}`, []string{`"timeout_seconds"`, "600"}},
		{"shell", `{"command":"touch ran","timeout_seconds":"5"}`, []string{`"timeout_seconds"`, "want number"}},
		{"shell", `{"command":""}`, []string{`"command"`}},
		{"read_file", `{"path":"a.txt","limit":-5}`, []string{"invalid arguments for read_file", `"limit"`, "want 1"}},
		{"read_file", `{"path":"a.txt","offset":0}`, []string{`"offset"`}},
		{"read_file", `{"path":"a.txt","limit":2.5}`, []string{`"limit"`, "want integer"}},
		{"find_symbol", `{"name":"x","limit":-5}`, []string{"invalid arguments for find_symbol", `"limit"`}},
		{"find_symbol", `{"name":"x","match":"regex"}`, []string{`"match"`, "exact"}},
		{"grep", `{"pattern":"a","context":21}`, []string{`"context"`, "want 20"}},
		{"grep", `{"pattern":"a","max_results":0}`, []string{`"max_results"`}},
		{"list_dir", `{"depth":9}`, []string{`"depth"`, "want 5"}},
		{"repo_map", `{"tokens":-1}`, []string{`"tokens"`}},
		{"repo_map", `{"focus":["a.txt",7]}`, []string{`"focus/1"`, "want string"}},
		{"read_file", `{}`, []string{`"path" is required`}},
		{"read_file", `{"path":"a.txt","file":"b"}`, []string{`unknown field "file"`}},
		{"read_file", `[1]`, []string{"want object"}},
	}
	for _, tt := range tests {
		t.Run(tt.tool+" "+tt.args, func(t *testing.T) {
			env, root := fileEnv(t, map[string]string{"a.txt": "a\n"})
			env.Approver = AlwaysApprove
			_, err := reg.Run(context.Background(), env, tt.tool, json.RawMessage(tt.args))
			if err == nil {
				t.Fatal("the call was accepted")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if _, err := os.Stat(filepath.Join(root, "ran")); err == nil {
				t.Error("the shell command ran")
			}
		})
	}
}

// TestRegistryBoundsArguments checks that huge arguments are refused with
// a short error naming them, and that no error quotes an argument whole.
func TestRegistryBoundsArguments(t *testing.T) {
	reg, err := NewBuiltinRegistry()
	if err != nil {
		t.Fatal(err)
	}
	big := func(n int) string { return strings.Repeat("a", n) }
	args := func(v map[string]any) json.RawMessage {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	tests := []struct {
		name, tool string
		args       json.RawMessage
		want       string
		limit      int // the longest error expected
	}{
		{"grep pattern over the limit", "grep", args(map[string]any{"pattern": big(1 << 20)}), `"pattern"`, 0},
		{"string over the limit", "write_file", args(map[string]any{"path": "b.txt", "content": big(MaxArgString + 1)}), `"content" is 16777217 bytes long`, 0},
		{"arguments over the limit", "write_file", json.RawMessage(`{"path":"b.txt","content":"` + big(MaxArgsSize) + `"}`), "over the 32 MB limit", 0},
		{"long glob quoted in an error", "glob", args(map[string]any{"pattern": "/" + big(40<<10)}), "must be relative", maxErrorText + 100},
		{"long unknown tool", big(1 << 20), nil, "unknown tool", 0},
		{"long unknown field", "read_file", args(map[string]any{"path": "a.txt", big(1 << 20): 1}), "unknown field", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env, root := fileEnv(t, map[string]string{"a.txt": "a\n"})
			_, err := reg.Run(context.Background(), env, tt.tool, tt.args)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %.300q, want one containing %q", err, tt.want)
			}
			if tt.limit == 0 {
				tt.limit = 1000
			}
			if n := len(err.Error()); n > tt.limit {
				t.Errorf("the error is %d bytes long: %.300q", n, err)
			}
			if _, err := os.Stat(filepath.Join(root, "b.txt")); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("b.txt was written (stat: %v)", err)
			}
		})
	}
}

// TestGrepLongPatternNotEchoed: an invalid pattern under the size limit is
// quoted once, shortened, not twice in full (the parser's message quotes
// it too).
func TestGrepLongPatternNotEchoed(t *testing.T) {
	env, _ := fileEnv(t, map[string]string{"a.txt": "a\n"})
	for _, pattern := range []string{strings.Repeat("a", 60<<10) + "(", "(" + strings.Repeat("a", 60<<10)} {
		_, err := Grep{}.Run(context.Background(), env, args1("pattern", pattern))
		if err == nil || !strings.Contains(err.Error(), "not a valid RE2 regular expression") {
			t.Fatalf("error %.300q", err)
		}
		if n := len(err.Error()); n > 1000 {
			t.Errorf("the error is %d bytes long: %.300q", n, err)
		}
	}
	res, err := Grep{}.Run(context.Background(), env, args1("pattern", strings.Repeat("b", 60<<10)))
	if err != nil || !strings.HasPrefix(res.Text, "No matches for ") || len(res.Text) > 1000 {
		t.Errorf("result %.300q (%d bytes), %v", res.Text, len(res.Text), err)
	}
}

func args1(k, v string) json.RawMessage {
	b, _ := json.Marshal(map[string]string{k: v})
	return b
}
