package proxy

import "encoding/json"

// The two wire formats, as far as the proxy reads or writes them. Fields
// the proxy does not translate are not declared: a request passed to an
// upstream of its own format keeps them all (see passThrough), a
// translated one keeps these.

// format is a wire format: OpenAI's chat completions or Anthropic's
// Messages API.
type format int

const (
	openAIFormat format = iota
	anthropicFormat
)

func (f format) String() string {
	if f == anthropicFormat {
		return "anthropic"
	}
	return "openai"
}

// --- OpenAI chat completions ---

type chatRequest struct {
	Model               string          `json:"model"`
	Messages            []chatMessage   `json:"messages"`
	Tools               []chatTool      `json:"tools,omitempty"`
	ToolChoice          json.RawMessage `json:"tool_choice,omitempty"`
	ParallelToolCalls   *bool           `json:"parallel_tool_calls,omitempty"`
	MaxTokens           *int            `json:"max_tokens,omitempty"`
	MaxCompletionTokens *int            `json:"max_completion_tokens,omitempty"`
	Temperature         *float64        `json:"temperature,omitempty"`
	TopP                *float64        `json:"top_p,omitempty"`
	Stop                json.RawMessage `json:"stop,omitempty"`
	N                   *int            `json:"n,omitempty"`
	Stream              bool            `json:"stream,omitempty"`
	StreamOptions       *streamOptions  `json:"stream_options,omitempty"`
}

type streamOptions struct {
	IncludeUsage bool `json:"include_usage"`
}

// chatMessage's Content is a string, null, or an array of parts.
type chatMessage struct {
	Role       string          `json:"role"`
	Content    json.RawMessage `json:"content,omitempty"`
	ToolCalls  []chatToolCall  `json:"tool_calls,omitempty"`
	ToolCallID string          `json:"tool_call_id,omitempty"`
}

type chatPart struct {
	Type     string        `json:"type"`
	Text     string        `json:"text,omitempty"`
	ImageURL *chatImageURL `json:"image_url,omitempty"`
}

type chatImageURL struct {
	URL string `json:"url"`
}

type chatToolCall struct {
	// Index is set in streamed deltas only.
	Index    *int             `json:"index,omitempty"`
	ID       string           `json:"id,omitempty"`
	Type     string           `json:"type,omitempty"`
	Function chatFunctionCall `json:"function"`
}

type chatFunctionCall struct {
	Name      string `json:"name,omitempty"`
	Arguments string `json:"arguments"`
}

type chatTool struct {
	Type     string       `json:"type"`
	Function chatFunction `json:"function"`
}

type chatFunction struct {
	Name        string          `json:"name"`
	Description string          `json:"description,omitempty"`
	Parameters  json.RawMessage `json:"parameters,omitempty"`
}

type chatCompletion struct {
	ID      string       `json:"id"`
	Object  string       `json:"object"`
	Created int64        `json:"created"`
	Model   string       `json:"model"`
	Choices []chatChoice `json:"choices"`
	Usage   *chatUsage   `json:"usage,omitempty"`
}

type chatChoice struct {
	Index        int            `json:"index"`
	Message      chatOutMessage `json:"message"`
	FinishReason string         `json:"finish_reason"`
}

type chatOutMessage struct {
	Role      string         `json:"role"`
	Content   *string        `json:"content"`
	Refusal   *string        `json:"refusal,omitempty"`
	ToolCalls []chatToolCall `json:"tool_calls,omitempty"`
}

type chatChunk struct {
	ID      string        `json:"id"`
	Object  string        `json:"object"`
	Created int64         `json:"created"`
	Model   string        `json:"model"`
	Choices []chunkChoice `json:"choices"`
	Usage   *chatUsage    `json:"usage,omitempty"`
	// Error is an error reported inside a stream (read, never written).
	Error *openAIError `json:"error,omitempty"`
}

type chunkChoice struct {
	Index        int       `json:"index"`
	Delta        chatDelta `json:"delta"`
	FinishReason *string   `json:"finish_reason"`
}

type chatDelta struct {
	Role      string         `json:"role,omitempty"`
	Content   *string        `json:"content,omitempty"`
	Refusal   *string        `json:"refusal,omitempty"`
	ToolCalls []chatToolCall `json:"tool_calls,omitempty"`
}

type chatUsage struct {
	PromptTokens        int64         `json:"prompt_tokens"`
	CompletionTokens    int64         `json:"completion_tokens"`
	TotalTokens         int64         `json:"total_tokens"`
	PromptTokensDetails *promptDetail `json:"prompt_tokens_details,omitempty"`
}

type promptDetail struct {
	CachedTokens int64 `json:"cached_tokens"`
}

type openAIErrorBody struct {
	Error *openAIError `json:"error"`
}

type openAIError struct {
	Message string `json:"message"`
	Type    string `json:"type"`
	Param   any    `json:"param"`
	Code    any    `json:"code"`
}

// --- Anthropic Messages API ---

type messagesRequest struct {
	Model         string          `json:"model"`
	MaxTokens     int             `json:"max_tokens"`
	System        json.RawMessage `json:"system,omitempty"`
	Messages      []anthMessage   `json:"messages"`
	Tools         []anthTool      `json:"tools,omitempty"`
	ToolChoice    *anthToolChoice `json:"tool_choice,omitempty"`
	Temperature   *float64        `json:"temperature,omitempty"`
	TopP          *float64        `json:"top_p,omitempty"`
	StopSequences []string        `json:"stop_sequences,omitempty"`
	Stream        bool            `json:"stream,omitempty"`
}

// anthMessage's Content is a string or an array of blocks.
type anthMessage struct {
	Role    string          `json:"role"`
	Content json.RawMessage `json:"content"`
}

// anthBlock is a content block: text, image, tool_use, tool_result,
// thinking, ….
type anthBlock struct {
	Type      string          `json:"type"`
	Text      string          `json:"text,omitempty"`
	ID        string          `json:"id,omitempty"`
	Name      string          `json:"name,omitempty"`
	Input     json.RawMessage `json:"input,omitempty"`
	ToolUseID string          `json:"tool_use_id,omitempty"`
	// Content of a tool_result: a string or an array of blocks.
	Content json.RawMessage `json:"content,omitempty"`
	IsError bool            `json:"is_error,omitempty"`
	Source  *anthSource     `json:"source,omitempty"`
}

type anthSource struct {
	Type      string `json:"type"`
	MediaType string `json:"media_type,omitempty"`
	Data      string `json:"data,omitempty"`
	URL       string `json:"url,omitempty"`
}

type anthTool struct {
	// Type is empty (or "custom") for a client tool; Anthropic's server
	// tools (web search, …) have their own.
	Type        string          `json:"type,omitempty"`
	Name        string          `json:"name"`
	Description string          `json:"description,omitempty"`
	InputSchema json.RawMessage `json:"input_schema"`
}

type anthToolChoice struct {
	Type                   string `json:"type"`
	Name                   string `json:"name,omitempty"`
	DisableParallelToolUse bool   `json:"disable_parallel_tool_use,omitempty"`
}

type anthResponse struct {
	ID           string      `json:"id"`
	Type         string      `json:"type"`
	Role         string      `json:"role"`
	Content      []anthBlock `json:"content"`
	Model        string      `json:"model"`
	StopReason   *string     `json:"stop_reason"`
	StopSequence *string     `json:"stop_sequence"`
	Usage        anthUsage   `json:"usage"`
}

// anthUsage counts tokens as the API does: input_tokens excludes what was
// read from or written to the prompt cache.
type anthUsage struct {
	InputTokens              int64 `json:"input_tokens"`
	OutputTokens             int64 `json:"output_tokens"`
	CacheCreationInputTokens int64 `json:"cache_creation_input_tokens"`
	CacheReadInputTokens     int64 `json:"cache_read_input_tokens"`
}

// anthEvent is any event of a stream, as read.
type anthEvent struct {
	Type         string        `json:"type"`
	Message      *anthResponse `json:"message"`
	Index        int           `json:"index"`
	ContentBlock *anthBlock    `json:"content_block"`
	Delta        *struct {
		Type        string `json:"type"`
		Text        string `json:"text"`
		PartialJSON string `json:"partial_json"`
		StopReason  string `json:"stop_reason"`
	} `json:"delta"`
	Usage *anthUsageDelta `json:"usage"`
	Error *anthError      `json:"error"`
}

// anthUsageDelta is message_delta's usage: counts it leaves out are not
// zero but unchanged.
type anthUsageDelta struct {
	InputTokens              *int64 `json:"input_tokens"`
	OutputTokens             *int64 `json:"output_tokens"`
	CacheCreationInputTokens *int64 `json:"cache_creation_input_tokens"`
	CacheReadInputTokens     *int64 `json:"cache_read_input_tokens"`
}

type anthErrorBody struct {
	Type  string     `json:"type"`
	Error *anthError `json:"error"`
}

type anthError struct {
	Type    string `json:"type"`
	Message string `json:"message"`
}

// tokens is what a call used, in one shape for both formats: Input counts
// every prompt token, CacheRead and CacheWrite the parts of it read from
// and written to the provider's prompt cache.
type tokens struct {
	Input, Output, CacheRead, CacheWrite int64
}

func (u chatUsage) tokens() tokens {
	t := tokens{Input: u.PromptTokens, Output: u.CompletionTokens}
	if u.PromptTokensDetails != nil {
		t.CacheRead = u.PromptTokensDetails.CachedTokens
	}
	return t
}

func (t tokens) chat() *chatUsage {
	u := &chatUsage{PromptTokens: t.Input, CompletionTokens: t.Output, TotalTokens: t.Input + t.Output}
	if t.CacheRead > 0 {
		u.PromptTokensDetails = &promptDetail{CachedTokens: t.CacheRead}
	}
	return u
}

func (u anthUsage) tokens() tokens {
	return tokens{
		Input:  u.InputTokens + u.CacheCreationInputTokens + u.CacheReadInputTokens,
		Output: u.OutputTokens, CacheRead: u.CacheReadInputTokens, CacheWrite: u.CacheCreationInputTokens,
	}
}

func (t tokens) anthropic() anthUsage {
	return anthUsage{
		InputTokens:  max(0, t.Input-t.CacheRead-t.CacheWrite),
		OutputTokens: t.Output, CacheReadInputTokens: t.CacheRead, CacheCreationInputTokens: t.CacheWrite,
	}
}

// merge takes the counts a message_delta repeats or adds.
func (u *anthUsage) merge(d *anthUsageDelta) {
	if d == nil {
		return
	}
	for _, f := range []struct {
		dst *int64
		v   *int64
	}{
		{&u.InputTokens, d.InputTokens}, {&u.OutputTokens, d.OutputTokens},
		{&u.CacheCreationInputTokens, d.CacheCreationInputTokens}, {&u.CacheReadInputTokens, d.CacheReadInputTokens},
	} {
		if f.v != nil {
			*f.dst = *f.v
		}
	}
}

// Stop reasons: the proxy's own are OpenAI's finish reasons.
func stopToFinish(stop string) string {
	switch stop {
	case "end_turn", "stop_sequence", "pause_turn", "":
		return "stop"
	case "tool_use":
		return "tool_calls"
	case "max_tokens", "model_context_window_exceeded":
		return "length"
	case "refusal":
		return "content_filter"
	}
	return stop
}

func finishToStop(finish string) string {
	switch finish {
	case "stop", "":
		return "end_turn"
	case "tool_calls", "function_call":
		return "tool_use"
	case "length":
		return "max_tokens"
	case "content_filter":
		return "refusal"
	}
	return finish
}
