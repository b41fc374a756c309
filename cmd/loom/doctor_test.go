package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/loom-agent/loom/llm/llmtest"
)

// TestDoctor runs `loom doctor` on good and broken configurations against
// the scripted model server: each value is shown with where it came from,
// the problems are named, and the exit code says whether any was found.
func TestDoctor(t *testing.T) {
	s, err := llmtest.ParseScript([]byte(`{"model": "coder-7b", "turns": []}`))
	if err != nil {
		t.Fatal(err)
	}
	srv := llmtest.NewServer(t, s)
	for _, tt := range []struct {
		name   string
		config string   // the config file, "" for none
		env    []string // besides the private folders
		args   []string
		code   int
		want   []string // in stdout
		not    []string
	}{
		{name: "good, from the file", config: `{"model": "coder-7b", "base_url": "` + srv.URL + `"}`, code: 0,
			want: []string{`model:        coder-7b  (from "model" in `, `base URL:     ` + srv.URL + `  (from "base_url" in `,
				`provider:     openai  (from the default)`, `endpoint:     reached; it lists 1 model(s), "coder-7b" among them`,
				"(not created yet", "index cache:"},
			not: []string{"problem"}},
		{name: "good, from the environment and a flag", env: []string{"LOOM_BASE_URL=" + srv.URL}, args: []string{"--model", "coder-7b"},
			code: 0, want: []string{"model:        coder-7b  (from --model)", "(from LOOM_BASE_URL)"}},
		{name: "a typo in the file", config: `{"model": "coder-7b", "baseurl": "http://127.0.0.1:9/v1"}`, env: []string{"LOOM_BASE_URL=" + srv.URL},
			code: 1, want: []string{`problem: unknown key "baseurl" (did you mean "base_url"?): Loom ignores it`}},
		{name: "a model the endpoint lacks", config: `{"model": "gpt-9", "base_url": "` + srv.URL + `"}`, code: 1,
			want: []string{`problem: reached, but "gpt-9" is not among the 1 model(s) it lists: coder-7b`}},
		{name: "nothing listening", config: `{"model": "coder-7b", "base_url": "http://127.0.0.1:9/v1"}`, code: 1,
			want: []string{`endpoint:     problem: not reached`, `from "base_url" in `}, not: []string{"LOOM_BASE_URL"}},
		{name: "no model", code: 1, want: []string{"model:        problem: none can be used"}},
		{name: "a damaged thread database", config: `{"model": "coder-7b", "base_url": "` + srv.URL + `"}`,
			env: []string{"LOOM_DB=damaged"}, code: 1, want: []string{"threads:      problem: "}},
		{name: "a usage error", args: []string{"extra"}, code: 2},
	} {
		t.Run(tt.name, func(t *testing.T) {
			env := privateEnv(t, tt.env...)
			home := ""
			for i, kv := range env {
				if v, ok := strings.CutPrefix(kv, "XDG_CONFIG_HOME="); ok && tt.config != "" {
					write(t, filepath.Join(v, "loom", "config.json"), tt.config)
				}
				if v, ok := strings.CutPrefix(kv, "HOME="); ok {
					home = v
				}
				if kv == "LOOM_DB=damaged" {
					env[i] = "LOOM_DB=" + filepath.Join(home, "threads.db")
					write(t, filepath.Join(home, "threads.db"), strings.Repeat("not a database ", 400))
				}
			}
			cmd := loomCommand(t, env, append([]string{"doctor"}, tt.args...)...)
			cmd.Dir = t.TempDir()
			var out, errOut strings.Builder
			cmd.Stdout, cmd.Stderr = &out, &errOut
			cmd.Run()
			if got := cmd.ProcessState.ExitCode(); got != tt.code {
				t.Errorf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", got, tt.code, out.String(), errOut.String())
			}
			for _, w := range tt.want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("stdout lacks %q:\n%s", w, out.String())
				}
			}
			for _, n := range tt.not {
				if strings.Contains(out.String(), n) {
					t.Errorf("stdout holds %q:\n%s", n, out.String())
				}
			}
		})
	}
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}
