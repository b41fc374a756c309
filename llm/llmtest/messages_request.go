package llmtest

import (
	"encoding/json"
	"fmt"
	"strings"
)

// MessagesRequest is the part of an Anthropic Messages API request tests
// assert on.
type MessagesRequest struct {
	Model     string `json:"model"`
	MaxTokens int    `json:"max_tokens"`
	// System is the system prompt; a string is read as one text block.
	System      Blocks             `json:"system,omitempty"`
	Messages    []AnthropicMessage `json:"messages"`
	Tools       []AnthropicTool    `json:"tools,omitempty"`
	Stream      bool               `json:"stream"`
	Temperature *float64           `json:"temperature,omitempty"`
}

// AnthropicMessage is one message of a MessagesRequest; content given as a
// string is read as one text block.
type AnthropicMessage struct {
	Role    string `json:"role"`
	Content Blocks `json:"content"`
}

// Blocks is a list of content blocks, which the API also takes as a string.
type Blocks []Block

// UnmarshalJSON accepts a string (one text block) or an array of blocks.
func (b *Blocks) UnmarshalJSON(data []byte) error {
	var s string
	if json.Unmarshal(data, &s) == nil {
		*b = Blocks{{Type: "text", Text: s}}
		return nil
	}
	var blocks []Block
	if err := json.Unmarshal(data, &blocks); err != nil {
		return err
	}
	*b = blocks
	return nil
}

// Block is a content block: text, tool_use or tool_result.
type Block struct {
	Type  string          `json:"type"`
	Text  string          `json:"text,omitempty"`
	ID    string          `json:"id,omitempty"`
	Name  string          `json:"name,omitempty"`
	Input json.RawMessage `json:"input,omitempty"`
	// ToolUseID, Content and IsError belong to tool_result blocks; Content
	// given as blocks is flattened to the concatenation of their text.
	ToolUseID    string        `json:"tool_use_id,omitempty"`
	Content      ResultContent `json:"content,omitempty"`
	IsError      bool          `json:"is_error,omitempty"`
	CacheControl *CacheControl `json:"cache_control,omitempty"`
}

// ResultContent is a tool result's content, a string or text blocks.
type ResultContent string

// UnmarshalJSON accepts a string or an array of text blocks.
func (c *ResultContent) UnmarshalJSON(data []byte) error {
	var s string
	if json.Unmarshal(data, &s) == nil {
		*c = ResultContent(s)
		return nil
	}
	var parts []struct {
		Text string `json:"text"`
	}
	if err := json.Unmarshal(data, &parts); err != nil {
		return err
	}
	var sb strings.Builder
	for _, p := range parts {
		sb.WriteString(p.Text)
	}
	*c = ResultContent(sb.String())
	return nil
}

// AnthropicTool is a tool offered in a MessagesRequest.
type AnthropicTool struct {
	Name         string          `json:"name"`
	Description  string          `json:"description,omitempty"`
	InputSchema  json.RawMessage `json:"input_schema,omitempty"`
	CacheControl *CacheControl   `json:"cache_control,omitempty"`
}

// CacheControl is a prompt-cache breakpoint.
type CacheControl struct {
	Type string `json:"type"`
	TTL  string `json:"ttl,omitempty"`
}

// maxCacheBreakpoints is how many blocks the API lets a request mark.
const maxCacheBreakpoints = 4

// validate refuses what the real API refuses with 400, so a test against
// llmtest catches a client that would fail against the API.
func (r *MessagesRequest) validate() error {
	if r.Model == "" {
		return fmt.Errorf("model: field required")
	}
	if r.MaxTokens <= 0 {
		return fmt.Errorf("max_tokens: field required (a positive number)")
	}
	if len(r.Messages) == 0 {
		return fmt.Errorf("messages: at least one message is required")
	}
	marks := 0
	for _, b := range r.System {
		if b.Type != "text" || b.Text == "" {
			return fmt.Errorf("system: text content blocks must be non-empty")
		}
		if b.CacheControl != nil {
			marks++
		}
	}
	for i, t := range r.Tools {
		if t.Name == "" {
			return fmt.Errorf("tools.%d.name: field required", i)
		}
		var schema map[string]any
		if json.Unmarshal(t.InputSchema, &schema) != nil || schema == nil {
			return fmt.Errorf("tools.%d.input_schema: an object is required", i)
		}
		if t.CacheControl != nil {
			marks++
		}
	}
	var pending map[string]bool // tool_use ids of the previous assistant message
	for i, m := range r.Messages {
		want := "user"
		if i%2 == 1 {
			want = "assistant"
		}
		if m.Role != want {
			return fmt.Errorf("messages.%d: roles must alternate between \"user\" and \"assistant\", starting with \"user\"; got %q", i, m.Role)
		}
		if len(m.Content) == 0 {
			return fmt.Errorf("messages.%d: all messages must have non-empty content", i)
		}
		uses := map[string]bool{}
		for j, b := range m.Content {
			if b.CacheControl != nil {
				marks++
			}
			switch b.Type {
			case "text":
				if b.Text == "" {
					return fmt.Errorf("messages.%d.content.%d: text content blocks must be non-empty", i, j)
				}
			case "tool_use":
				var input map[string]any
				if m.Role != "assistant" || b.ID == "" || b.Name == "" || json.Unmarshal(b.Input, &input) != nil || input == nil {
					return fmt.Errorf("messages.%d.content.%d: a tool_use block belongs to an assistant message and needs an id, a name and an input object", i, j)
				}
				uses[b.ID] = true
			case "tool_result":
				if m.Role != "user" || !pending[b.ToolUseID] {
					return fmt.Errorf("messages.%d.content.%d: unexpected `tool_use_id` %q in `tool_result` blocks: each tool_result must answer a tool_use block of the previous message", i, j, b.ToolUseID)
				}
				delete(pending, b.ToolUseID)
			default:
				return fmt.Errorf("messages.%d.content.%d: llmtest reads text, tool_use and tool_result blocks, not %q", i, j, b.Type)
			}
		}
		if m.Role == "user" {
			if len(pending) > 0 {
				return fmt.Errorf("messages.%d: `tool_use` ids were found without `tool_result` blocks immediately after: %s", i, strings.Join(keys(pending), ", "))
			}
			pending = nil
		} else {
			pending = uses
		}
	}
	if marks > maxCacheBreakpoints {
		return fmt.Errorf("a maximum of %d blocks with cache_control may be provided; found %d", maxCacheBreakpoints, marks)
	}
	return nil
}

func keys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
