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

// TestRegistryAsksBeforeExecuting: the registry runs a tool that executes
// only when the Env's approver allows the call, and shows the approver
// the whole command line, however long, in the folder it runs in.
func TestRegistryAsksBeforeExecuting(t *testing.T) {
	long := "true " + strings.Repeat("x", 300) + " && touch ran"
	tests := []struct {
		name        string
		approver    Approver
		args        string
		wantPreview string
		wantRan     bool
		wantErr     string
	}{
		{"allowed", AlwaysApprove, `{"command":"touch ran"}`, "", true, ""},
		{"rejected", nil, `{"command":"` + long + `"}`, long, false, "the user rejected this"},
		{"in a folder", nil, `{"command":"touch ran","cwd":"my dir"}`, `cd 'my dir' && touch ran`, false, "was not run"},
		{"no approver", nil, `{"command":"touch ran"}`, "", false, "disabled"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env, root := shellEnv(t)
			if err := os.Mkdir(filepath.Join(root, "my dir"), 0o755); err != nil {
				t.Fatal(err)
			}
			var asked []Approval
			env.Approver = tt.approver
			if tt.wantPreview != "" {
				env.Approver = ApproverFunc(func(_ context.Context, a Approval) (Decision, error) {
					asked = append(asked, a)
					return Deny, nil
				})
			}
			reg, err := NewBuiltinRegistry()
			if err != nil {
				t.Fatal(err)
			}
			_, err = reg.Run(context.Background(), env, "shell", json.RawMessage(tt.args))
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("err = %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("err = %v, want %q", err, tt.wantErr)
			}
			if tt.wantPreview != "" {
				if !errors.Is(err, ErrRejected) {
					t.Errorf("err = %v, not ErrRejected", err)
				}
				if len(asked) != 1 || asked[0].Preview != tt.wantPreview || asked[0].Name != "shell" || asked[0].Spec.Name != "shell" {
					t.Errorf("asked %+v, want preview %q", asked, tt.wantPreview)
				}
			}
			ran := false
			for _, dir := range []string{root, filepath.Join(root, "my dir")} {
				if _, err := os.Stat(filepath.Join(dir, "ran")); err == nil {
					ran = true
				}
			}
			if ran != tt.wantRan {
				t.Errorf("the command ran: %v, want %v", ran, tt.wantRan)
			}
		})
	}
}

// TestApproveSkipsWhatNeedsNoApproval: reading and staging tools run
// without asking, even with no approver.
func TestApproveSkipsWhatNeedsNoApproval(t *testing.T) {
	env, _ := fileEnv(t, map[string]string{"a.txt": "a\n"})
	env.Approver = ApproverFunc(func(context.Context, Approval) (Decision, error) {
		t.Error("asked about a call that needs no approval")
		return Deny, nil
	})
	reg, err := NewBuiltinRegistry()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ name, args string }{
		{"read_file", `{"path":"a.txt"}`},
		{"write_file", `{"path":"b.txt","content":"b\n"}`},
	} {
		if _, err := reg.Run(context.Background(), env, c.name, json.RawMessage(c.args)); err != nil {
			t.Errorf("%s: %v", c.name, err)
		}
	}
	env.Approver = nil
	if _, err := reg.Run(context.Background(), env, "read_file", json.RawMessage(`{"path":"a.txt"}`)); err != nil {
		t.Errorf("read_file without an approver: %v", err)
	}
}
