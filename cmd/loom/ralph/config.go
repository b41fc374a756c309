package ralph

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"

	"github.com/loom-agent/loom/ralph"
)

// ConfigFile is the loop's configuration at the repository root.
const ConfigFile = "ralph.yaml"

// maxConfigSize refuses a ralph.yaml no person wrote.
const maxConfigSize = 1 << 20

// fileConfig is ralph.yaml: the flags' fields, under the flags' names.
type fileConfig struct {
	Prompt        string      `yaml:"prompt"`
	Plan          string      `yaml:"plan"`
	Checks        []string    `yaml:"checks"`
	CheckTimeout  string      `yaml:"check_timeout"`
	Promise       string      `yaml:"promise"`
	MaxIterations int         `yaml:"max_iterations"`
	MaxRuntime    string      `yaml:"max_runtime"`
	MaxCost       float64     `yaml:"max_cost"`
	Price         ralph.Price `yaml:"price"`
	Commit        bool        `yaml:"commit"`
}

// readConfig reads root's ralph.yaml, strictly (an unknown field is an
// error, not a silently ignored cap); a missing file is the zero config.
func readConfig(root string) (fileConfig, error) {
	var c fileConfig
	name := filepath.Join(root, ConfigFile)
	// Through an os.Root: a ralph.yaml linked out of the repository is not read.
	rt, err := os.OpenRoot(root)
	if err != nil {
		return c, err
	}
	defer rt.Close()
	fi, err := rt.Stat(ConfigFile)
	if errors.Is(err, fs.ErrNotExist) {
		return c, nil
	}
	if err != nil {
		return c, err
	}
	if !fi.Mode().IsRegular() || fi.Size() > maxConfigSize {
		return c, fmt.Errorf("%s: not a regular file under 1 MiB", name)
	}
	b, err := rt.ReadFile(ConfigFile)
	if err != nil {
		return c, err
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) { // io.EOF: an empty file
		return c, fmt.Errorf("%s: %w", name, err)
	}
	return c, nil
}

// merge fills opts from the file's fields the command line left unset:
// flags override the file.
func (opts *RalphOptions) merge(cmd *cobra.Command, c fileConfig) error {
	set := func(flag string) bool { return cmd != nil && cmd.Flags().Changed(flag) }
	if !set("prompt") && c.Prompt != "" {
		opts.PromptFile = c.Prompt
	}
	if !set("plan") && c.Plan != "" {
		opts.Plan = c.Plan
	}
	if !set("check") && len(c.Checks) > 0 {
		opts.Checks = c.Checks
	}
	if !set("promise") && c.Promise != "" {
		opts.Promise = c.Promise
	}
	if !set("max-iterations") && c.MaxIterations != 0 {
		opts.MaxIterations = c.MaxIterations
	}
	if !set("max-cost") && c.MaxCost != 0 {
		opts.MaxCost = c.MaxCost
	}
	if !set("price-input") && c.Price.Input != 0 {
		opts.Price.Input = c.Price.Input
	}
	if !set("price-output") && c.Price.Output != 0 {
		opts.Price.Output = c.Price.Output
	}
	if !set("commit") && c.Commit {
		opts.Commit = true
	}
	for _, d := range []struct {
		flag, text string
		into       *time.Duration
	}{{"max-runtime", c.MaxRuntime, &opts.MaxRuntime}, {"check-timeout", c.CheckTimeout, &opts.CheckTimeout}} {
		if set(d.flag) || d.text == "" {
			continue
		}
		v, err := time.ParseDuration(d.text)
		if err != nil {
			return fmt.Errorf("%s: %s: %w", ConfigFile, d.flag, err)
		}
		*d.into = v
	}
	return nil
}
