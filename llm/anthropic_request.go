package llm

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

// The request body of the Messages API, as far as Loom uses it.
type anthropicRequest struct {
	Model       string             `json:"model"`
	MaxTokens   int                `json:"max_tokens"`
	System      []anthropicBlock   `json:"system,omitempty"`
	Messages    []anthropicMessage `json:"messages"`
	Tools       []anthropicTool    `json:"tools,omitempty"`
	Stream      bool               `json:"stream"`
	Temperature *float64           `json:"temperature,omitempty"`
}

type anthropicMessage struct {
	Role    string           `json:"role"`
	Content []anthropicBlock `json:"content"`
}

// anthropicBlock is a content block: text, tool_use or tool_result.
type anthropicBlock struct {
	Type         string          `json:"type"`
	Text         string          `json:"text,omitempty"`
	ID           string          `json:"id,omitempty"`
	Name         string          `json:"name,omitempty"`
	Input        json.RawMessage `json:"input,omitempty"`
	ToolUseID    string          `json:"tool_use_id,omitempty"`
	Content      string          `json:"content,omitempty"`
	CacheControl *cacheControl   `json:"cache_control,omitempty"`
}

type anthropicTool struct {
	Name         string          `json:"name"`
	Description  string          `json:"description,omitempty"`
	InputSchema  json.RawMessage `json:"input_schema"`
	CacheControl *cacheControl   `json:"cache_control,omitempty"`
}

// cacheControl marks the end of a prefix of the request for the API to
// cache: the next request that starts with the same prefix reads it from
// the cache, at a tenth of the price and faster.
type cacheControl struct {
	Type string `json:"type"`
}

var ephemeral = &cacheControl{Type: "ephemeral"}

// messagesRequest translates our Request into the Messages API's. System
// messages become the top-level system prompt; a tool message becomes a
// tool_result block of a user message; consecutive messages of one role are
// merged, since the API wants user and assistant turns to alternate (the
// results of one turn's tool calls go back in a single user message).
func messagesRequest(model string, req Request) (anthropicRequest, error) {
	ar := anthropicRequest{Model: model, MaxTokens: req.MaxTokens, Stream: true, Temperature: req.Temperature}
	add := func(role string, blocks ...anthropicBlock) {
		if len(blocks) == 0 {
			return
		}
		if n := len(ar.Messages); n > 0 && ar.Messages[n-1].Role == role {
			ar.Messages[n-1].Content = append(ar.Messages[n-1].Content, blocks...)
			return
		}
		ar.Messages = append(ar.Messages, anthropicMessage{Role: role, Content: blocks})
	}
	for _, m := range req.Messages {
		switch m.Role {
		case RoleSystem:
			// The API refuses empty text blocks.
			if strings.TrimSpace(m.Content) != "" {
				ar.System = append(ar.System, anthropicBlock{Type: "text", Text: m.Content})
			}
		case RoleUser:
			add("user", textBlocks(m.Content)...)
		case RoleAssistant:
			blocks := textBlocks(m.Content)
			for _, tc := range m.ToolCalls {
				blocks = append(blocks, anthropicBlock{Type: "tool_use", ID: tc.ID, Name: tc.Name, Input: toolInput(tc.Arguments)})
			}
			add("assistant", blocks...)
		case RoleTool:
			add("user", anthropicBlock{Type: "tool_result", ToolUseID: m.ToolCallID, Content: m.Content})
		default:
			return ar, fmt.Errorf("message of unknown role %q", m.Role)
		}
	}
	for _, t := range req.Tools {
		schema := t.Schema
		if len(bytes.TrimSpace(schema)) == 0 {
			schema = json.RawMessage(`{"type":"object","properties":{}}`)
		} else if !json.Valid(schema) {
			return ar, fmt.Errorf("tool %q has a schema that is not valid JSON", t.Name)
		}
		ar.Tools = append(ar.Tools, anthropicTool{Name: t.Name, Description: t.Description, InputSchema: schema})
	}
	markCache(&ar)
	return ar, nil
}

// markCache sets the API's cache breakpoints (it allows four): after the
// tools, after the system prompt, after the last message and after the
// user message before it. The API looks for a cached prefix at each
// breakpoint and up to 20 blocks before it, so a conversation that grows by
// a turn at a time reads all but its newest turn from the cache; the
// breakpoint a turn back keeps that true after a turn of many tool calls.
func markCache(ar *anthropicRequest) {
	if n := len(ar.Tools); n > 0 {
		ar.Tools[n-1].CacheControl = ephemeral
	}
	if n := len(ar.System); n > 0 {
		ar.System[n-1].CacheControl = ephemeral
	}
	marked := 0
	for i := len(ar.Messages) - 1; i >= 0 && marked < 2; i-- {
		m := &ar.Messages[i]
		if marked == 1 && m.Role != "user" {
			continue
		}
		m.Content[len(m.Content)-1].CacheControl = ephemeral
		marked++
	}
}

func textBlocks(s string) []anthropicBlock {
	if strings.TrimSpace(s) == "" {
		return nil
	}
	return []anthropicBlock{{Type: "text", Text: s}}
}

// toolInput is a call's arguments as the API's input object. Arguments that
// are not a JSON object (a model's malformed call, which the agent answered
// with an error) are sent as an empty object, the only thing the API takes.
func toolInput(args string) json.RawMessage {
	var obj map[string]json.RawMessage
	if json.Unmarshal([]byte(args), &obj) != nil || obj == nil {
		return json.RawMessage(`{}`)
	}
	var buf bytes.Buffer
	if json.Compact(&buf, []byte(args)) != nil {
		return json.RawMessage(`{}`)
	}
	return buf.Bytes()
}
