package llmtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
)

// Script is the sequence of answers the server plays, one turn per chat
// request. See the package documentation for its JSON form.
type Script struct {
	// Model is the id listed by /v1/models (default "llmtest").
	Model string `json:"model,omitempty"`
	Turns []Turn `json:"turns"`
}

// Turn is one scripted answer.
type Turn struct {
	Text                string     `json:"text,omitempty"`
	ToolCalls           []ToolCall `json:"tool_calls,omitempty"`
	InterleaveToolCalls bool       `json:"interleave_tool_calls,omitempty"`
	FinishReason        string     `json:"finish_reason,omitempty"`
	Usage               *Usage     `json:"usage,omitempty"`
	Fault               *Fault     `json:"fault,omitempty"`
}

// ToolCall is a scripted tool call. Arguments is any JSON value, sent as its
// compact text, or a JSON string, sent verbatim (so it may be malformed).
type ToolCall struct {
	ID        string          `json:"id,omitempty"`
	Name      string          `json:"name"`
	Arguments json.RawMessage `json:"arguments,omitempty"`
	// Chunks is how many pieces the arguments are streamed in (default 3).
	Chunks int `json:"chunks,omitempty"`
}

// Usage is the token count reported for a turn. PromptTokens counts every
// prompt token; CacheReadTokens and CacheCreationTokens are the parts of
// them read from and written to a prompt cache (OpenAI's format reports
// the first as prompt_tokens_details.cached_tokens; Anthropic's reports
// both, and input_tokens as the rest).
type Usage struct {
	PromptTokens        int `json:"prompt_tokens"`
	CompletionTokens    int `json:"completion_tokens"`
	CacheReadTokens     int `json:"cache_read_tokens,omitempty"`
	CacheCreationTokens int `json:"cache_creation_tokens,omitempty"`
}

// Fault makes a turn misbehave.
type Fault struct {
	// Status, if not 0, answers with this HTTP status and an OpenAI error body.
	Status  int    `json:"status,omitempty"`
	Message string `json:"message,omitempty"`
	Type    string `json:"type,omitempty"`
	Code    string `json:"code,omitempty"`
	// RetryAfter is the Retry-After header value sent with Status.
	RetryAfter RetryAfter `json:"retry_after,omitempty"`
	// Cut closes the connection without finishing the answer: after
	// CutAfter SSE chunks, or before any response when CutAfter is 0.
	// CutAfter > 0 implies Cut.
	Cut      bool `json:"cut,omitempty"`
	CutAfter int  `json:"cut_after,omitempty"`
	// MalformedArguments drops the last character of every tool call's
	// arguments.
	MalformedArguments bool `json:"malformed_arguments,omitempty"`
	DelayMS            int  `json:"delay_ms,omitempty"`
	ChunkDelayMS       int  `json:"chunk_delay_ms,omitempty"`
	// Stall reads the request and never answers. StallAfterHeaders sends
	// the status and headers of a stream, then nothing. StallAfter sends
	// that many SSE chunks, then nothing. Each holds the connection open
	// until the client leaves or the server closes.
	Stall             bool `json:"stall,omitempty"`
	StallAfterHeaders bool `json:"stall_after_headers,omitempty"`
	StallAfter        int  `json:"stall_after,omitempty"`
	// Endless streams the turn's text over and over, chunk_delay_ms apart,
	// and never finishes.
	Endless bool `json:"endless,omitempty"`
	// StreamErrorAfter sends this many SSE chunks, then an error inside the
	// stream (of Type and Message, defaulting to an overload) and ends it.
	StreamErrorAfter int `json:"stream_error_after,omitempty"`
}

// RetryAfter is a Retry-After header value; in JSON it may be a string or a
// number of seconds, since both are natural to write by hand.
type RetryAfter string

// UnmarshalJSON accepts "1", 1, 1.5 or an HTTP-date string.
func (r *RetryAfter) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*r = RetryAfter(s)
		return nil
	}
	var f float64
	if err := json.Unmarshal(b, &f); err != nil {
		return fmt.Errorf("retry_after must be a string or a number of seconds, got %s", b)
	}
	*r = RetryAfter(strconv.FormatFloat(f, 'f', -1, 64))
	return nil
}

func (f *Fault) cuts() bool { return f != nil && (f.Cut || f.CutAfter > 0) }

// ParseScript decodes and checks a JSON script. Unknown fields are errors,
// so a typo in a hand-written fixture does not silently change the test.
func ParseScript(data []byte) (Script, error) {
	var s Script
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		return Script{}, fmt.Errorf("llmtest: script: %w", err)
	}
	if dec.More() {
		return Script{}, fmt.Errorf("llmtest: script: unexpected data after the top-level object")
	}
	if err := s.Validate(); err != nil {
		return Script{}, err
	}
	return s, nil
}

// LoadScript reads a JSON script from a file, or from stdin when path is "-".
func LoadScript(path string) (Script, error) {
	var (
		data []byte
		err  error
	)
	if path == "-" {
		data, err = io.ReadAll(os.Stdin)
	} else {
		data, err = os.ReadFile(path)
	}
	if err != nil {
		return Script{}, fmt.Errorf("llmtest: %w", err)
	}
	s, err := ParseScript(data)
	if err != nil {
		return Script{}, fmt.Errorf("%w (in %s)", err, path)
	}
	return s, nil
}

// Validate reports the first turn that cannot be played.
func (s Script) Validate() error {
	for i, t := range s.Turns {
		if t.Text == "" && len(t.ToolCalls) == 0 && t.Fault == nil {
			return fmt.Errorf("llmtest: script turn %d is empty: give it text, tool_calls or a fault", i)
		}
		if u := t.Usage; u != nil && (u.CacheReadTokens < 0 || u.CacheCreationTokens < 0 || u.CacheReadTokens+u.CacheCreationTokens > u.PromptTokens) {
			return fmt.Errorf("llmtest: script turn %d: cache_read_tokens and cache_creation_tokens are parts of prompt_tokens, so their sum must not exceed it", i)
		}
		for j, tc := range t.ToolCalls {
			if tc.Name == "" {
				return fmt.Errorf("llmtest: script turn %d, tool call %d has no name", i, j)
			}
			if len(tc.Arguments) > 0 && !json.Valid(tc.Arguments) {
				return fmt.Errorf("llmtest: script turn %d, tool call %d: arguments are not JSON (to send malformed arguments, write them as a JSON string)", i, j)
			}
			if tc.Chunks < 0 {
				return fmt.Errorf("llmtest: script turn %d, tool call %d: chunks must not be negative", i, j)
			}
		}
		if f := t.Fault; f != nil {
			if f.Status != 0 && (f.Status < 400 || f.Status > 599) {
				return fmt.Errorf("llmtest: script turn %d: fault status %d is not an error status (400-599)", i, f.Status)
			}
			if f.CutAfter < 0 || f.DelayMS < 0 || f.ChunkDelayMS < 0 || f.StallAfter < 0 || f.StreamErrorAfter < 0 {
				return fmt.Errorf("llmtest: script turn %d: cut_after, stall_after, stream_error_after, delay_ms and chunk_delay_ms must not be negative", i)
			}
			if f.StreamErrorAfter > 0 && f.Status != 0 {
				return fmt.Errorf("llmtest: script turn %d: stream_error_after is an error inside a stream, status an error instead of one: give one of them", i)
			}
			if f.Endless && t.Text == "" {
				return fmt.Errorf("llmtest: script turn %d: an endless fault repeats the turn's text, and it has none", i)
			}
		}
	}
	return nil
}
