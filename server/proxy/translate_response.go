package proxy

import (
	"encoding/json"
	"strings"
	"time"
)

// chatToAnthropic translates a whole chat completion into a Messages API
// answer for a client that asked for model. Tool-call arguments that are
// not a JSON object (a model's malformed call) are passed as a string, so
// the client sees what the model wrote.
func chatToAnthropic(c chatCompletion, model string) anthResponse {
	out := anthResponse{ID: "msg_" + strings.TrimPrefix(c.ID, "chatcmpl-"), Type: "message", Role: "assistant", Model: model, Content: []anthBlock{}}
	finish := ""
	if len(c.Choices) > 0 {
		ch := c.Choices[0]
		finish = ch.FinishReason
		if ch.Message.Content != nil && *ch.Message.Content != "" {
			out.Content = append(out.Content, anthBlock{Type: "text", Text: *ch.Message.Content})
		}
		if ch.Message.Refusal != nil && *ch.Message.Refusal != "" {
			out.Content = append(out.Content, anthBlock{Type: "text", Text: *ch.Message.Refusal})
		}
		for _, tc := range ch.Message.ToolCalls {
			out.Content = append(out.Content, anthBlock{Type: "tool_use", ID: tc.ID, Name: tc.Function.Name, Input: toolInput(tc.Function.Arguments)})
		}
	}
	stop := finishToStop(finish)
	out.StopReason = &stop
	if c.Usage != nil {
		out.Usage = c.Usage.tokens().anthropic()
	}
	return out
}

// toolInput is arguments as an input object, or as a JSON string when
// they are not one.
func toolInput(args string) json.RawMessage {
	var obj map[string]json.RawMessage
	if json.Unmarshal([]byte(args), &obj) == nil && obj != nil {
		return json.RawMessage(compactOr(json.RawMessage(args), "{}"))
	}
	return mustJSON(args)
}

// anthropicToChat translates a whole Messages API answer into a chat
// completion for a client that asked for model. Thinking blocks are left
// out: chat completions have no place for them.
func anthropicToChat(a anthResponse, model string) chatCompletion {
	msg := chatOutMessage{Role: "assistant"}
	var text strings.Builder
	for _, b := range a.Content {
		switch b.Type {
		case "text":
			text.WriteString(b.Text)
		case "tool_use":
			msg.ToolCalls = append(msg.ToolCalls, chatToolCall{ID: b.ID, Type: "function",
				Function: chatFunctionCall{Name: b.Name, Arguments: compactOr(b.Input, "{}")}})
		}
	}
	if text.Len() > 0 || len(msg.ToolCalls) == 0 {
		s := text.String()
		msg.Content = &s
	}
	stop := ""
	if a.StopReason != nil {
		stop = *a.StopReason
	}
	return chatCompletion{
		ID: "chatcmpl-" + strings.TrimPrefix(a.ID, "msg_"), Object: "chat.completion", Created: time.Now().Unix(), Model: model,
		Choices: []chatChoice{{Index: 0, Message: msg, FinishReason: stopToFinish(stop)}},
		Usage:   a.Usage.tokens().chat(),
	}
}
