package proxy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// badRequest is an error in the client's request, answered 400.
type badRequest struct{ msg string }

func (e *badRequest) Error() string { return e.msg }

func badf(format string, args ...any) error { return &badRequest{fmt.Sprintf(format, args...)} }

var emptySchema = json.RawMessage(`{"type":"object","properties":{}}`)

// chatToMessages translates an OpenAI chat-completions request into a
// Messages API request for model: system and developer messages become
// the system prompt, tool messages tool_result blocks of a user message,
// and consecutive messages of one role are merged, since the API wants
// user and assistant turns to alternate.
func chatToMessages(in chatRequest, model string, defaultMax int) (messagesRequest, error) {
	out := messagesRequest{Model: model, Stream: in.Stream, Temperature: in.Temperature, TopP: in.TopP, MaxTokens: defaultMax}
	if in.N != nil && *in.N > 1 {
		return out, badf("n: this model answers one choice at a time")
	}
	if in.MaxCompletionTokens != nil {
		out.MaxTokens = *in.MaxCompletionTokens
	} else if in.MaxTokens != nil {
		out.MaxTokens = *in.MaxTokens
	}
	stop, err := stopList(in.Stop)
	if err != nil {
		return out, err
	}
	out.StopSequences = stop
	var system []anthBlock
	add := func(role string, blocks ...anthBlock) {
		if len(blocks) == 0 {
			return
		}
		if n := len(out.Messages); n > 0 && out.Messages[n-1].Role == role {
			var prev []anthBlock
			json.Unmarshal(out.Messages[n-1].Content, &prev)
			out.Messages[n-1].Content = mustJSON(append(prev, blocks...))
			return
		}
		out.Messages = append(out.Messages, anthMessage{Role: role, Content: mustJSON(blocks)})
	}
	for i, m := range in.Messages {
		parts, err := chatParts(m.Content)
		if err != nil {
			return out, badf("messages[%d].content: %v", i, err)
		}
		switch m.Role {
		case "system", "developer":
			for _, p := range parts {
				if p.Type == "text" && strings.TrimSpace(p.Text) != "" {
					system = append(system, anthBlock{Type: "text", Text: p.Text})
				}
			}
		case "user":
			blocks, err := partsToBlocks(parts)
			if err != nil {
				return out, badf("messages[%d].content: %v", i, err)
			}
			add("user", blocks...)
		case "assistant":
			blocks, err := partsToBlocks(parts)
			if err != nil {
				return out, badf("messages[%d].content: %v", i, err)
			}
			for _, tc := range m.ToolCalls {
				blocks = append(blocks, anthBlock{Type: "tool_use", ID: tc.ID, Name: tc.Function.Name, Input: objectOrEmpty(tc.Function.Arguments)})
			}
			add("assistant", blocks...)
		case "tool":
			add("user", anthBlock{Type: "tool_result", ToolUseID: m.ToolCallID, Content: mustJSON(partsText(parts))})
		default:
			return out, badf("messages[%d].role: %q is not system, developer, user, assistant or tool", i, m.Role)
		}
	}
	if len(system) > 0 {
		out.System = mustJSON(system)
	}
	for i, t := range in.Tools {
		if t.Type != "function" {
			return out, badf("tools[%d].type: %q is not function", i, t.Type)
		}
		schema := t.Function.Parameters
		if len(bytes.TrimSpace(schema)) == 0 || string(schema) == "null" {
			schema = emptySchema
		}
		out.Tools = append(out.Tools, anthTool{Name: t.Function.Name, Description: t.Function.Description, InputSchema: schema})
	}
	if len(in.ToolChoice) > 0 && string(in.ToolChoice) != "null" {
		var s string
		var obj struct {
			Type     string `json:"type"`
			Function struct {
				Name string `json:"name"`
			} `json:"function"`
		}
		switch {
		case json.Unmarshal(in.ToolChoice, &s) == nil:
			switch s {
			case "auto", "none":
				out.ToolChoice = &anthToolChoice{Type: s}
			case "required":
				out.ToolChoice = &anthToolChoice{Type: "any"}
			default:
				return out, badf("tool_choice: %q is not auto, none or required", s)
			}
		case json.Unmarshal(in.ToolChoice, &obj) == nil && obj.Type == "function" && obj.Function.Name != "":
			out.ToolChoice = &anthToolChoice{Type: "tool", Name: obj.Function.Name}
		default:
			return out, badf("tool_choice: want auto, none, required or {\"type\": \"function\", \"function\": {\"name\": …}}")
		}
	}
	if in.ParallelToolCalls != nil && !*in.ParallelToolCalls && len(out.Tools) > 0 {
		if out.ToolChoice == nil {
			out.ToolChoice = &anthToolChoice{Type: "auto"}
		}
		if out.ToolChoice.Type != "none" {
			out.ToolChoice.DisableParallelToolUse = true
		}
	}
	return out, nil
}

// messagesToChat translates a Messages API request into an OpenAI
// chat-completions request for model: the system prompt becomes the first
// message, each tool_result block a tool message (before the rest of its
// user message, as OpenAI wants them right after the calls), and tool_use
// blocks the assistant's tool_calls. Thinking blocks are dropped: other
// providers neither read nor return them. OpenAI itself takes the output
// cap as max_completion_tokens, compatible servers as max_tokens.
func messagesToChat(in messagesRequest, model, kind string) (chatRequest, error) {
	out := chatRequest{Model: model, Stream: in.Stream, Temperature: in.Temperature, TopP: in.TopP}
	if in.Stream {
		out.StreamOptions = &streamOptions{IncludeUsage: true}
	}
	if in.MaxTokens > 0 {
		n := in.MaxTokens
		if kind == KindOpenAI {
			out.MaxCompletionTokens = &n
		} else {
			out.MaxTokens = &n
		}
	}
	if len(in.StopSequences) > 0 {
		out.Stop = mustJSON(in.StopSequences)
	}
	system, err := anthBlocks(in.System)
	if err != nil {
		return out, badf("system: %v", err)
	}
	if text := blocksText(system); text != "" {
		out.Messages = append(out.Messages, chatMessage{Role: "system", Content: mustJSON(text)})
	}
	for i, m := range in.Messages {
		blocks, err := anthBlocks(m.Content)
		if err != nil {
			return out, badf("messages[%d].content: %v", i, err)
		}
		switch m.Role {
		case "user":
			var parts []chatPart
			for j, b := range blocks {
				switch b.Type {
				case "tool_result":
					inner, err := anthBlocks(b.Content)
					if err != nil {
						return out, badf("messages[%d].content[%d].content: %v", i, j, err)
					}
					text := blocksText(inner)
					if b.IsError {
						text = "Error: " + text
					}
					out.Messages = append(out.Messages, chatMessage{Role: "tool", ToolCallID: b.ToolUseID, Content: mustJSON(text)})
				case "text":
					parts = append(parts, chatPart{Type: "text", Text: b.Text})
				case "image":
					p, err := imagePart(b.Source)
					if err != nil {
						return out, badf("messages[%d].content[%d]: %v", i, j, err)
					}
					parts = append(parts, p)
				default:
					return out, badf("messages[%d].content[%d]: a %q block cannot be sent to this model", i, j, b.Type)
				}
			}
			if len(parts) > 0 {
				out.Messages = append(out.Messages, chatMessage{Role: "user", Content: partsContent(parts)})
			}
		case "assistant":
			msg := chatMessage{Role: "assistant"}
			var text strings.Builder
			for _, b := range blocks {
				switch b.Type {
				case "text":
					text.WriteString(b.Text)
				case "tool_use":
					msg.ToolCalls = append(msg.ToolCalls, chatToolCall{ID: b.ID, Type: "function",
						Function: chatFunctionCall{Name: b.Name, Arguments: compactOr(b.Input, "{}")}})
				}
			}
			if text.Len() > 0 || len(msg.ToolCalls) == 0 {
				msg.Content = mustJSON(text.String())
			}
			out.Messages = append(out.Messages, msg)
		default:
			return out, badf("messages[%d].role: %q is not user or assistant", i, m.Role)
		}
	}
	for i, t := range in.Tools {
		if t.Type != "" && t.Type != "custom" {
			return out, badf("tools[%d]: %q is one of Anthropic's server tools, which this model cannot run", i, t.Type)
		}
		schema := t.InputSchema
		if len(bytes.TrimSpace(schema)) == 0 || string(schema) == "null" {
			schema = emptySchema
		}
		out.Tools = append(out.Tools, chatTool{Type: "function", Function: chatFunction{Name: t.Name, Description: t.Description, Parameters: schema}})
	}
	if c := in.ToolChoice; c != nil {
		switch c.Type {
		case "auto", "none":
			out.ToolChoice = mustJSON(c.Type)
		case "any":
			out.ToolChoice = mustJSON("required")
		case "tool":
			out.ToolChoice = mustJSON(map[string]any{"type": "function", "function": map[string]string{"name": c.Name}})
		default:
			return out, badf("tool_choice.type: %q is not auto, any, tool or none", c.Type)
		}
		if c.DisableParallelToolUse && len(out.Tools) > 0 {
			no := false
			out.ParallelToolCalls = &no
		}
	}
	return out, nil
}

// chatParts reads a chat message's content: a string, null, or parts.
func chatParts(raw json.RawMessage) ([]chatPart, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		if s == "" {
			return nil, nil
		}
		return []chatPart{{Type: "text", Text: s}}, nil
	}
	var parts []chatPart
	if err := json.Unmarshal(raw, &parts); err != nil {
		return nil, errors.New("want a string or an array of parts")
	}
	return parts, nil
}

// partsToBlocks turns text and image parts into content blocks; the API
// refuses empty text blocks, so they are left out.
func partsToBlocks(parts []chatPart) ([]anthBlock, error) {
	var out []anthBlock
	for _, p := range parts {
		switch p.Type {
		case "text":
			if strings.TrimSpace(p.Text) != "" {
				out = append(out, anthBlock{Type: "text", Text: p.Text})
			}
		case "image_url":
			if p.ImageURL == nil {
				return nil, errors.New("an image_url part without its image_url")
			}
			src, err := imageSource(p.ImageURL.URL)
			if err != nil {
				return nil, err
			}
			out = append(out, anthBlock{Type: "image", Source: src})
		default:
			return nil, fmt.Errorf("a %q part cannot be sent to this model", p.Type)
		}
	}
	return out, nil
}

func partsText(parts []chatPart) string {
	var sb strings.Builder
	for _, p := range parts {
		if p.Type == "text" {
			sb.WriteString(p.Text)
		}
	}
	return sb.String()
}

// partsContent is a message's content: a plain string when it is all
// text, which every compatible server reads, else the parts.
func partsContent(parts []chatPart) json.RawMessage {
	for _, p := range parts {
		if p.Type != "text" {
			return mustJSON(parts)
		}
	}
	return mustJSON(partsText(parts))
}

// imageSource reads a data: URL (base64) or an http(s) URL.
func imageSource(u string) (*anthSource, error) {
	if rest, ok := strings.CutPrefix(u, "data:"); ok {
		meta, data, ok := strings.Cut(rest, ",")
		mediaType, isBase64 := strings.CutSuffix(meta, ";base64")
		if !ok || !isBase64 || mediaType == "" {
			return nil, errors.New("an image data URL must be data:TYPE;base64,DATA")
		}
		return &anthSource{Type: "base64", MediaType: mediaType, Data: data}, nil
	}
	if strings.HasPrefix(u, "https://") || strings.HasPrefix(u, "http://") {
		return &anthSource{Type: "url", URL: u}, nil
	}
	return nil, errors.New("an image URL must be a data: URL or http(s)")
}

func imagePart(src *anthSource) (chatPart, error) {
	switch {
	case src == nil:
		return chatPart{}, errors.New("an image block without its source")
	case src.Type == "base64":
		return chatPart{Type: "image_url", ImageURL: &chatImageURL{URL: "data:" + src.MediaType + ";base64," + src.Data}}, nil
	case src.Type == "url":
		return chatPart{Type: "image_url", ImageURL: &chatImageURL{URL: src.URL}}, nil
	}
	return chatPart{}, fmt.Errorf("an image source of type %q cannot be sent to this model", src.Type)
}

// anthBlocks reads content given as a string or as blocks.
func anthBlocks(raw json.RawMessage) ([]anthBlock, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return []anthBlock{{Type: "text", Text: s}}, nil
	}
	var blocks []anthBlock
	if err := json.Unmarshal(raw, &blocks); err != nil {
		return nil, errors.New("want a string or an array of content blocks")
	}
	return blocks, nil
}

func blocksText(blocks []anthBlock) string {
	var texts []string
	for _, b := range blocks {
		if b.Type == "text" && b.Text != "" {
			texts = append(texts, b.Text)
		}
	}
	return strings.Join(texts, "\n")
}

// stopList reads stop: a string or a list of them.
func stopList(raw json.RawMessage) ([]string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return []string{s}, nil
	}
	var list []string
	if err := json.Unmarshal(raw, &list); err != nil {
		return nil, badf("stop: want a string or a list of strings")
	}
	return list, nil
}

// objectOrEmpty is a tool call's arguments as the Messages API's input
// object; arguments that are not an object (a model's malformed call)
// become {}, the only thing the API takes.
func objectOrEmpty(args string) json.RawMessage {
	var obj map[string]json.RawMessage
	if json.Unmarshal([]byte(args), &obj) != nil || obj == nil {
		return json.RawMessage(`{}`)
	}
	return json.RawMessage(compactOr(json.RawMessage(args), "{}"))
}

func compactOr(raw json.RawMessage, def string) string {
	var buf bytes.Buffer
	if len(raw) == 0 || json.Compact(&buf, raw) != nil {
		return def
	}
	return buf.String()
}

// mustJSON marshals values made of strings, numbers, slices and maps,
// which cannot fail.
func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("proxy: marshalling %T: %v", v, err))
	}
	return b
}
