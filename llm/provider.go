package llm

import (
	"fmt"
	"slices"
	"strings"
)

// DefaultProvider is the provider used when none is configured.
const DefaultProvider = "openai"

// providerInfo is one entry of the provider table: how to build the
// provider, where its settings come from besides Loom's own, and what to
// tell a person about it. Adding a provider is adding an entry here.
type providerInfo struct {
	name string
	// defaultBaseURL is used when no base URL is configured.
	defaultBaseURL string
	// baseURLEnv and apiKeyEnv are the provider's own environment
	// variables, read after LOOM_BASE_URL and LOOM_API_KEY. Only the
	// configured provider's are read, so a key meant for one vendor is
	// never sent to another.
	baseURLEnv, apiKeyEnv string
	// api names the protocol in hints: "… points at <api>".
	api string
	// notFound is the hint for a 404 on model.
	notFound func(model string) string
	// exampleModel is shown in the instructions for configuring a model.
	exampleModel string
	build        func(Config) (Provider, error)
}

// providers is the table New chooses from.
var providers = []*providerInfo{
	{
		name:           "openai",
		defaultBaseURL: DefaultBaseURL,
		baseURLEnv:     "OPENAI_BASE_URL",
		apiKeyEnv:      "OPENAI_API_KEY",
		api:            "an OpenAI-compatible API (usually ending in /v1)",
		notFound: func(model string) string {
			return fmt.Sprintf("check the model name (LOOM_MODEL=%q) and that the base URL ends in /v1 (e.g. http://localhost:11434/v1 for Ollama); with Ollama, download the model with `ollama pull %s`", model, model)
		},
		exampleModel: "gpt-4o-mini",
		build:        func(c Config) (Provider, error) { return NewOpenAI(c) },
	},
	{
		name:           "anthropic",
		defaultBaseURL: DefaultAnthropicBaseURL,
		baseURLEnv:     "ANTHROPIC_BASE_URL",
		apiKeyEnv:      "ANTHROPIC_API_KEY",
		api:            "Anthropic's Messages API (e.g. https://api.anthropic.com)",
		notFound: func(model string) string {
			return fmt.Sprintf("check the model name (LOOM_MODEL=%q, e.g. claude-sonnet-4-5) and the base URL (LOOM_BASE_URL, e.g. https://api.anthropic.com)", model)
		},
		exampleModel: "claude-sonnet-4-5",
		build:        func(c Config) (Provider, error) { return NewAnthropic(c) },
	},
}

// ProviderNames lists the providers New knows, in the order of the table.
func ProviderNames() []string {
	names := make([]string, len(providers))
	for i, p := range providers {
		names[i] = p.name
	}
	return names
}

// lookupProvider finds a provider by name, ignoring case and surrounding
// space; "" is DefaultProvider.
func lookupProvider(name string) (*providerInfo, error) {
	name = strings.ToLower(strings.TrimSpace(name))
	if name == "" {
		name = DefaultProvider
	}
	i := slices.IndexFunc(providers, func(p *providerInfo) bool { return p.name == name })
	if i < 0 {
		return nil, fmt.Errorf("llm: unknown provider %q: the known providers are %s (set it with --provider, LOOM_PROVIDER or \"provider\" in the loom config file)",
			name, strings.Join(ProviderNames(), ", "))
	}
	return providers[i], nil
}

// New returns the provider cfg.Provider names ("" is DefaultProvider),
// built from cfg. An unknown name is an error that lists the known ones.
func New(cfg Config) (Provider, error) {
	p, err := lookupProvider(cfg.Provider)
	if err != nil {
		return nil, err
	}
	return p.build(cfg)
}
