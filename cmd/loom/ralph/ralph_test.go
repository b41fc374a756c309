package ralph

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/loom-agent/loom/cmd/loom/internal/cmdtest"
	ralphpkg "github.com/loom-agent/loom/ralph"
)

// TestFlagsOverrideConfig: ralph.yaml fills what the command line leaves
// unset; a flag given wins; a bad file is refused with its name.
func TestFlagsOverrideConfig(t *testing.T) {
	yaml := `prompt: TASK.md
plan: PLAN.md
checks: ["go test ./...", "go vet ./..."]
check_timeout: 2m
promise: DONE
max_iterations: 7
max_runtime: 1h
max_cost: 3.5
price: {input: 3, output: 15}
commit: true
`
	tests := []struct {
		name string
		yaml string
		args []string
		want func(o *RalphOptions)
		err  string
	}{
		{name: "the file alone", yaml: yaml, want: func(o *RalphOptions) {}},
		{name: "flags win", yaml: yaml, args: []string{"--check", "make", "--max-iterations", "2", "--promise", "OK", "--max-runtime", "5m", "--price-input", "1"},
			want: func(o *RalphOptions) {
				o.Checks, o.MaxIterations, o.Promise, o.MaxRuntime, o.Price.Input = []string{"make"}, 2, "OK", 5*time.Minute, 1
			}},
		{name: "an unknown field", yaml: "max_iteration: 3\n", err: "field max_iteration not found"},
		{name: "a bad duration", yaml: "max_runtime: soon\n", err: "max-runtime"},
		{name: "an empty file", yaml: "", want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, ConfigFile), []byte(tt.yaml), 0o644); err != nil {
				t.Fatal(err)
			}
			f := cmdtest.New(t, "")
			var got *RalphOptions
			cmd := NewCmdRalph(f.Factory, func(o *RalphOptions) error { got = o; return nil })
			cmd.SetArgs(append([]string{"--root", dir}, tt.args...))
			err := cmd.Execute()
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) || !strings.Contains(err.Error(), ConfigFile) {
					t.Errorf("err = %v, want %q naming %s", err, tt.err, ConfigFile)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tt.want == nil {
				if got.PromptFile != "PROMPT.md" || got.MaxIterations != 0 || got.Commit {
					t.Errorf("an empty file changed the defaults: %+v", got)
				}
				return
			}
			want := RalphOptions{PromptFile: "TASK.md", Plan: "PLAN.md", Checks: []string{"go test ./...", "go vet ./..."},
				CheckTimeout: 2 * time.Minute, Promise: "DONE", MaxIterations: 7, MaxRuntime: time.Hour, MaxCost: 3.5,
				Price: ralphpkg.Price{Input: 3, Output: 15}, Commit: true}
			tt.want(&want)
			gotFields := RalphOptions{PromptFile: got.PromptFile, Plan: got.Plan, Checks: got.Checks, CheckTimeout: got.CheckTimeout,
				Promise: got.Promise, MaxIterations: got.MaxIterations, MaxRuntime: got.MaxRuntime, MaxCost: got.MaxCost,
				Price: got.Price, Commit: got.Commit}
			if !reflect.DeepEqual(gotFields, want) {
				t.Errorf("options\n%+v\nwant\n%+v", gotFields, want)
			}
		})
	}
}
