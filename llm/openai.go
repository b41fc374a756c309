package llm

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/url"
	"strings"

	openai "github.com/sashabaranov/go-openai"
)

// OpenAI is a Provider for any server that speaks OpenAI's chat-completions
// API: OpenAI itself, Ollama, llama.cpp's server, vLLM, LM Studio,
// OpenRouter, ...
type OpenAI struct {
	client    *openai.Client
	ep        endpoint
	maxOutput int
}

// NewOpenAI returns a provider for cfg. An empty BaseURL means OpenAI's; an
// empty APIKey is fine for local servers, which ignore it. Zero bounds take
// their defaults (see Config).
func NewOpenAI(cfg Config) (*OpenAI, error) {
	cfg, base, err := prepare(cfg, DefaultBaseURL,
		"the base URL must look like https://api.openai.com/v1 or http://localhost:11434/v1")
	if err != nil {
		return nil, err
	}
	oc := openai.DefaultConfig(cfg.APIKey)
	oc.BaseURL = base
	oc.HTTPClient = newHTTPClient(cfg)
	return &OpenAI{
		client:    openai.NewClientWithConfig(oc),
		ep:        endpoint{baseURL: base, model: cfg.Model, keySet: cfg.APIKey != "", from: cfg.From},
		maxOutput: cfg.MaxOutputTokens,
	}, nil
}

// prepare fills in cfg's defaults and returns its base URL (def when
// none is set), refusing a missing model or a base URL that is not an
// http(s) address; hint says what one looks like for the provider.
func prepare(cfg Config, def, hint string) (Config, string, error) {
	cfg = cfg.withDefaults()
	if strings.TrimSpace(cfg.Model) == "" {
		return cfg, "", noModelError(configPath(osEnv))
	}
	base := strings.TrimRight(strings.TrimSpace(cfg.BaseURL), "/")
	if base == "" {
		base = def
	}
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return cfg, "", &Error{Kind: KindBadRequest, BaseURL: base, Message: "invalid base URL",
			Hint: hint + " (set by " + cfg.From.baseURLOrigin() + ")", Err: err}
	}
	return cfg, base, nil
}

// Model is the model used when a Request does not name one.
func (p *OpenAI) Model() string { return p.ep.model }

// BaseURL is the API endpoint the provider talks to.
func (p *OpenAI) BaseURL() string { return p.ep.baseURL }

// Stream implements Provider.
func (p *OpenAI) Stream(ctx context.Context, req Request) (Stream, error) {
	ep, req := p.ep.forRequest(req, p.maxOutput)
	creq, err := chatRequest(ep.model, req)
	if err != nil {
		return nil, &Error{Kind: KindBadRequest, Model: ep.model, Message: err.Error(), Err: err}
	}
	mctx, meta := withRespMeta(ctx)
	s, err := p.client.CreateChatCompletionStream(mctx, creq)
	if err != nil {
		return nil, classify(ctx, err, ep, meta.get())
	}
	return newOpenAIStream(ctx, s, ep, meta), nil
}

// chatRequest translates our Request into go-openai's.
func chatRequest(model string, req Request) (openai.ChatCompletionRequest, error) {
	creq := openai.ChatCompletionRequest{
		Model:         model,
		Stream:        true,
		StreamOptions: &openai.StreamOptions{IncludeUsage: true},
	}
	for _, m := range req.Messages {
		cm := openai.ChatCompletionMessage{
			Role:       string(m.Role),
			Content:    m.Content,
			ToolCallID: m.ToolCallID,
		}
		for _, tc := range m.ToolCalls {
			args := tc.Arguments
			if strings.TrimSpace(args) == "" {
				args = "{}"
			}
			cm.ToolCalls = append(cm.ToolCalls, openai.ToolCall{
				ID:       tc.ID,
				Type:     openai.ToolTypeFunction,
				Function: openai.FunctionCall{Name: tc.Name, Arguments: args},
			})
		}
		creq.Messages = append(creq.Messages, cm)
	}
	for _, t := range req.Tools {
		schema := t.Schema
		if len(strings.TrimSpace(string(schema))) == 0 {
			schema = json.RawMessage(`{"type":"object","properties":{}}`)
		} else if !json.Valid(schema) {
			return creq, fmt.Errorf("tool %q has a schema that is not valid JSON", t.Name)
		}
		creq.Tools = append(creq.Tools, openai.Tool{
			Type: openai.ToolTypeFunction,
			Function: &openai.FunctionDefinition{
				Name:        t.Name,
				Description: t.Description,
				Parameters:  schema,
			},
		})
	}
	if req.MaxTokens > 0 {
		// OpenAI's reasoning models refuse max_tokens; everything else,
		// including local servers, understands it.
		if isReasoningModel(model) {
			creq.MaxCompletionTokens = req.MaxTokens
		} else {
			creq.MaxTokens = req.MaxTokens
		}
	}
	if req.Temperature != nil {
		t := float32(*req.Temperature)
		if t == 0 {
			// go-openai omits a zero temperature (omitempty), which would
			// silently mean the server's default; the smallest positive
			// float is greedy decoding in practice.
			t = math.SmallestNonzeroFloat32
		}
		creq.Temperature = t
	}
	return creq, nil
}

func isReasoningModel(model string) bool {
	for _, p := range []string{"o1", "o3", "o4", "gpt-5", "gpt-6"} {
		if strings.HasPrefix(model, p) {
			return true
		}
	}
	return false
}
