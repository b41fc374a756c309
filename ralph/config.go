package ralph

import (
	"errors"
	"fmt"
	"time"

	"github.com/loom-agent/loom/llm"
)

// DefaultIterations caps a loop given no cap at all: a loop is bounded.
const DefaultIterations = 10

// DefaultCheckTimeout bounds a check that sets no timeout of its own.
const DefaultCheckTimeout = 10 * time.Minute

// Price is what the model costs, in US dollars per million tokens.
type Price struct {
	Input  float64 `json:"input" yaml:"input"`
	Output float64 `json:"output" yaml:"output"`
}

// Known reports whether a price was given.
func (p Price) Known() bool { return p.Input > 0 || p.Output > 0 }

// Cost is what usage cost at p.
func (p Price) Cost(u llm.Usage) float64 {
	return (float64(u.PromptTokens)*p.Input + float64(u.CompletionTokens)*p.Output) / 1e6
}

// Config is what a loop does and how far it may go.
type Config struct {
	// Prompt is the text every iteration starts from (PROMPT.md's).
	Prompt string
	// Plan names the plan file, workspace-relative; "" for none. The
	// agent keeps it current: ticks off what it did, adds what it found.
	Plan string
	// Checks are shell commands run in the repository after each
	// iteration; all must exit 0 for the loop to be done.
	Checks       []string
	CheckTimeout time.Duration
	// Promise is the text the agent states, as <promise>TEXT</promise>
	// in its final answer, when it deems the work done. Empty: the loop
	// runs until a cap.
	Promise string
	Caps    Caps
	// Price prices the model's usage; the cost cap needs it.
	Price Price
	// Commit commits each applied iteration with git.
	Commit bool
}

// Validate refuses a loop that is unbounded or cannot keep its caps.
func (c Config) Validate() error {
	var errs []error
	if c.Prompt == "" {
		errs = append(errs, errors.New("the prompt is empty"))
	}
	if c.Caps.Iterations < 0 || c.Caps.Runtime < 0 || c.Caps.Cost < 0 || c.CheckTimeout < 0 {
		errs = append(errs, errors.New("caps and timeouts cannot be negative"))
	}
	if c.Caps.Iterations == 0 && c.Caps.Runtime == 0 && c.Caps.Cost == 0 {
		errs = append(errs, errors.New("a loop needs a cap: --max-iterations, --max-runtime or --max-cost"))
	}
	if c.Price.Input < 0 || c.Price.Output < 0 {
		errs = append(errs, errors.New("prices cannot be negative"))
	}
	if c.Caps.Cost > 0 && !c.Price.Known() {
		errs = append(errs, fmt.Errorf("--max-cost $%.2f needs the model's price to count the cost: give --price-input and --price-output (US dollars per million tokens) or price: in ralph.yaml", c.Caps.Cost))
	}
	for _, ch := range c.Checks {
		if ch == "" {
			errs = append(errs, errors.New("a check is an empty command"))
		}
	}
	return errors.Join(errs...)
}
