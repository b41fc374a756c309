// Package cmdtest builds the Factory of the commands' unit tests: streams
// over buffers (none a terminal), a thread database in the test's
// temporary folder, and a model configuration made of what the test gives
// alone, with nothing read from the user's environment or config file.
package cmdtest

import (
	"bytes"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/loom-agent/loom/cmd/loom/internal/cmdutil"
	"github.com/loom-agent/loom/cmd/loom/internal/iostreams"
	"github.com/loom-agent/loom/llm"
	"github.com/loom-agent/loom/thread"
)

// Model is the model name the factory configures.
const Model = "test-model"

// Factory is a test's factory and what its commands write.
type Factory struct {
	*cmdutil.Factory
	Out, Err *bytes.Buffer
	// DB is the thread database a command opens when it names none.
	DB string
	// ModelURL is where the model is served ("": no model is configured).
	ModelURL string
}

// New returns a factory whose model is served at modelURL (an
// llm/llmtest server); with "" no model is configured, unless a command's
// --base-url names one. For the test's duration HOME and the XDG folders
// point into its temporary folder, so that what the commands cache (the
// code index) or look up lands there and not in the user's data.
func New(t testing.TB, modelURL string) *Factory {
	t.Helper()
	home := t.TempDir()
	t.Setenv("HOME", home)
	for _, k := range []string{"XDG_CACHE_HOME", "XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_RUNTIME_DIR"} {
		t.Setenv(k, filepath.Join(home, k))
	}
	t.Setenv(thread.EnvDB, "")
	ios, _, out, errOut := iostreams.Test()
	f := &Factory{Factory: cmdutil.New(ios, "test"), Out: out, Err: errOut,
		DB: filepath.Join(t.TempDir(), "threads.db"), ModelURL: modelURL}
	t.Cleanup(f.Close)
	f.ModelConfig = func(c llm.Config) (llm.Config, error) {
		if c.BaseURL == "" {
			c.BaseURL = f.ModelURL
		}
		if c.BaseURL == "" {
			return c, fmt.Errorf("%w (test)", llm.ErrNoModel)
		}
		if c.Provider == "" {
			c.Provider = llm.DefaultProvider
		}
		if c.Model == "" {
			c.Model = Model
		}
		return c, nil
	}
	f.OpenStore = func(db string, mode cmdutil.StoreMode) (*thread.Store, error) {
		if db == "" {
			db = f.DB
		}
		return cmdutil.OpenStore(db, mode)
	}
	return f
}
