package cmdutil

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/loom-agent/loom/client"
	"github.com/loom-agent/loom/llm"
)

// ModelSource says where a run's model comes from.
type ModelSource string

const (
	// SourceLocal is a model configured on this machine (flags with a
	// provider's settings, LOOM_* and provider variables, config.json).
	SourceLocal ModelSource = "local configuration"
	// SourceTeamServer is the LLM proxy of the team server signed in to
	// with `loom login`.
	SourceTeamServer ModelSource = "team server"
)

// ResolveModel completes the model configuration the flags start: a model
// configured locally wins; otherwise, after `loom login`, the team
// server's proxy serves it (the model the flags name, else the first the
// server offers). Without either it is llm's error that says how to
// configure one.
func ResolveModel(flags llm.Config) (llm.Config, ModelSource, error) {
	return resolveModel(flags, llm.LoadConfig, client.Options{})
}

func resolveModel(flags llm.Config, load func(llm.Config) (llm.Config, error), co client.Options) (llm.Config, ModelSource, error) {
	// A model named by flag alone is not a local configuration: without
	// a provider configured here it is the team server's to serve.
	bare := flags
	bare.Model = ""
	local, err := load(bare)
	switch {
	case err == nil:
		if flags.Model != "" {
			local.Model = flags.Model
		}
		return local, SourceLocal, nil
	case !errors.Is(err, llm.ErrNoModel):
		return llm.Config{}, "", err
	}
	// A provider set up here (a key, or a server of one's own such as
	// Ollama) with the model given by flag is local too.
	if local.APIKey != "" || local.BaseURL != llm.DefaultBaseURL && local.BaseURL != llm.DefaultAnthropicBaseURL {
		cfg, err := load(flags)
		return cfg, SourceLocal, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	ep, epErr := client.ModelEndpoint(ctx, co, flags.Model)
	switch {
	case errors.Is(epErr, client.ErrNotSignedIn):
		cfg, err := load(flags)
		return cfg, SourceLocal, err
	case epErr != nil:
		return llm.Config{}, "", fmt.Errorf("no model is configured here, and the team server cannot serve one: %w", epErr)
	}
	cfg := local // the timeouts and output cap configured here still apply
	cfg.Provider, cfg.BaseURL, cfg.APIKey, cfg.Model = "openai", ep.BaseURL, ep.Token, ep.Model
	server := "the team server signed in to (loom login)"
	cfg.From = llm.Origins{Provider: server, Model: server, BaseURL: server, APIKey: server}
	cfg.HTTPClient = flags.HTTPClient
	return cfg, SourceTeamServer, nil
}

// memoModel remembers resolve's last successful answer for ttl: a command
// asks for its model more than once (the thread record's name, the
// agent), and with a team server each asking is a request for its models.
// Failures are not remembered, and after ttl a long-lived server asks
// again (a `loom login` since, a model configured since).
func memoModel(resolve func(llm.Config) (llm.Config, ModelSource, error), ttl time.Duration, now func() time.Time) func(llm.Config) (llm.Config, error) {
	var mu sync.Mutex
	var key, cfg llm.Config
	var at time.Time
	var ok bool
	return func(flags llm.Config) (llm.Config, error) {
		mu.Lock()
		defer mu.Unlock()
		if ok && key == flags && now().Sub(at) < ttl {
			return cfg, nil
		}
		c, _, err := resolve(flags)
		if err != nil {
			ok = false
			return c, err
		}
		key, cfg, at, ok = flags, c, now(), true
		return c, nil
	}
}
