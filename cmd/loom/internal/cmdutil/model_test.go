package cmdutil

import (
	"errors"
	"testing"

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
