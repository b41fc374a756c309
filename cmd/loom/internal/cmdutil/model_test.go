package cmdutil

import (
	"errors"
	"testing"
	"time"

	"github.com/loom-agent/loom/client"
	"github.com/loom-agent/loom/llm"
)

// Without a sign-in, the model comes from this machine's configuration or
// nowhere, with llm's error that says how to configure one; a provider set
// up here keeps a model named by flag local.
func TestResolveModelLocally(t *testing.T) {
	notSignedIn := client.Options{ConfigDir: t.TempDir()}
	for _, tt := range []struct {
		name    string
		env     map[string]string
		flags   llm.Config
		model   string
		noModel bool
	}{
		{name: "nothing configured", noModel: true},
		{name: "model in the environment", env: map[string]string{"LOOM_MODEL": "m-env"}, model: "m-env"},
		{name: "flag over environment", env: map[string]string{"LOOM_MODEL": "m-env"}, flags: llm.Config{Model: "m-flag"}, model: "m-flag"},
		{name: "own server and a model by flag", env: map[string]string{"LOOM_BASE_URL": "http://127.0.0.1:11434/v1"}, flags: llm.Config{Model: "qwen"}, model: "qwen"},
		{name: "a model by flag alone", flags: llm.Config{Model: "m-flag"}, model: "m-flag"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			for _, k := range []string{"LOOM_MODEL", "LOOM_BASE_URL", "LOOM_API_KEY", "LOOM_PROVIDER", "OPENAI_API_KEY", "OPENAI_BASE_URL", "ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL"} {
				t.Setenv(k, tt.env[k])
			}
			t.Setenv("XDG_CONFIG_HOME", t.TempDir())
			cfg, src, err := resolveModel(tt.flags, llm.LoadConfig, notSignedIn)
			if tt.noModel {
				if !errors.Is(err, llm.ErrNoModel) {
					t.Fatalf("err = %v, want llm.ErrNoModel", err)
				}
				return
			}
			if err != nil || cfg.Model != tt.model || src != SourceLocal {
				t.Fatalf("got %q from %q, %v; want %q locally", cfg.Model, src, err, tt.model)
			}
		})
	}
}

// A command that asks for its model twice resolves it once; other flags,
// a failure or the passing of the ttl resolve again.
func TestMemoModel(t *testing.T) {
	calls := 0
	fail := false
	resolve := func(flags llm.Config) (llm.Config, ModelSource, error) {
		calls++
		if fail {
			return llm.Config{}, "", llm.ErrNoModel
		}
		return llm.Config{Model: flags.Model + "-resolved"}, SourceLocal, nil
	}
	now := time.Unix(1000, 0)
	get := memoModel(resolve, time.Minute, func() time.Time { return now })
	for _, step := range []struct {
		flags   llm.Config
		advance time.Duration
		fail    bool
		calls   int
	}{
		{llm.Config{Model: "a"}, 0, false, 1},
		{llm.Config{Model: "a"}, 30 * time.Second, false, 1},
		{llm.Config{Model: "b"}, 0, false, 2},
		{llm.Config{Model: "b"}, 61 * time.Second, false, 3},
		{llm.Config{Model: "c"}, 0, true, 4},
		{llm.Config{Model: "c"}, 0, true, 5},
	} {
		now = now.Add(step.advance)
		fail = step.fail
		cfg, err := get(step.flags)
		if calls != step.calls || (err == nil) == step.fail || !step.fail && cfg.Model != step.flags.Model+"-resolved" {
			t.Fatalf("%+v: %d resolutions, cfg %+v, err %v", step, calls, cfg, err)
		}
	}
}
