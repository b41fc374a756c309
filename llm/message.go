package llm

import "encoding/json"

// Role is the author of a Message.
type Role string

// The roles of the chat-completions protocol.
const (
	RoleSystem    Role = "system"
	RoleUser      Role = "user"
	RoleAssistant Role = "assistant"
	RoleTool      Role = "tool"
)

// Message is one entry of the conversation sent to the model.
//
// An assistant message may carry ToolCalls (the calls the model asked for);
// each call is answered by a RoleTool message whose ToolCallID names it.
type Message struct {
	Role       Role       `json:"role"`
	Content    string     `json:"content,omitempty"`
	ToolCalls  []ToolCall `json:"tool_calls,omitempty"`
	ToolCallID string     `json:"tool_call_id,omitempty"`
}

// ToolCall is one fully assembled call the model asked for.
//
// Arguments is the JSON text exactly as the model produced it. It is not
// validated here: models do emit malformed JSON, and the agent is the one
// that can tell the model so and let it try again.
type ToolCall struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	Arguments string `json:"arguments"`
}

// ToolSpec describes a tool the model may call. Schema is a JSON Schema
// object for the arguments; an empty Schema means "no arguments".
type ToolSpec struct {
	Name        string          `json:"name"`
	Description string          `json:"description,omitempty"`
	Schema      json.RawMessage `json:"schema,omitempty"`
}

// Request is one call to the model.
type Request struct {
	// Model overrides the provider's configured model when not empty.
	Model    string
	Messages []Message
	Tools    []ToolSpec
	// MaxTokens caps the completion length; 0 means the provider's
	// configured cap (Config.MaxOutputTokens).
	MaxTokens int
	// Temperature is sent only when not nil.
	Temperature *float64
}
