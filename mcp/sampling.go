package mcp

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	mcpgo "github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/loom-agent/loom/llm"
)

// defaultSamplingTokens is the completion cap sent when the agent sets
// none: sampling/createMessage requires one.
const defaultSamplingTokens = 8192

// SamplingModel names the model of runs on the client's model in thread
// records: the client chooses the model, and says which only in each answer.
const SamplingModel = "mcp-sampling"

// samplingProvider is an llm.Provider whose completions are the MCP
// client's, asked with sampling/createMessage on the session of the tool
// call whose context each Stream gets: a desktop assistant can run
// loom_agent on its own model, with no key on Loom's side. Tools are sent
// only when the client declared sampling.tools (protocol 2025-11-25);
// otherwise the model answers in text only.
type samplingProvider struct {
	srv *server.MCPServer
}

// clientSampling reports whether the client of this request declared the
// sampling capability, and its tools sub-capability. A client of protocol
// 2026-07-28 or later cannot be asked: that version removed requests from
// the server in the middle of a call (and deprecated sampling), and an
// agent's run cannot be suspended into "input required" answers.
func clientSampling(ctx context.Context) (ok, tools bool) {
	if server.IsModernRequest(ctx) {
		return false, false
	}
	ci, isCI := server.ClientSessionFromContext(ctx).(server.SessionWithClientInfo)
	if !isCI {
		return false, false
	}
	caps := ci.GetClientCapabilities()
	if caps.Sampling == nil {
		return false, false
	}
	return true, caps.Sampling.Tools != nil
}

func (p samplingProvider) Stream(ctx context.Context, req llm.Request) (llm.Stream, error) {
	_, withTools := clientSampling(ctx)
	params := mcpgo.CreateMessageParams{MaxTokens: req.MaxTokens, IncludeContext: "none"}
	if params.MaxTokens <= 0 {
		params.MaxTokens = defaultSamplingTokens
	}
	if req.Temperature != nil {
		params.Temperature = *req.Temperature
	}
	if req.Model != "" {
		params.ModelPreferences = &mcpgo.ModelPreferences{Hints: []mcpgo.ModelHint{{Name: req.Model}}}
	}
	var system []string
	for _, m := range req.Messages {
		switch m.Role {
		case llm.RoleSystem:
			system = append(system, m.Content)
		case llm.RoleUser:
			params.Messages = append(params.Messages, mcpgo.SamplingMessage{Role: mcpgo.RoleUser, Content: mcpgo.NewTextContent(m.Content)})
		case llm.RoleAssistant:
			params.Messages = append(params.Messages, assistantMessage(m, withTools))
		case llm.RoleTool:
			params.Messages = appendToolResult(params.Messages, m, withTools)
		}
	}
	params.SystemPrompt = strings.Join(system, "\n\n")
	if withTools {
		for _, t := range req.Tools {
			tool := mcpgo.Tool{Name: t.Name, Description: t.Description, RawInputSchema: t.Schema}
			if len(t.Schema) == 0 {
				tool.RawInputSchema = json.RawMessage(`{"type":"object"}`)
			}
			params.Tools = append(params.Tools, tool)
		}
	}
	res, err := p.srv.RequestSampling(ctx, mcpgo.CreateMessageRequest{
		Request:             mcpgo.Request{Method: string(mcpgo.MethodSamplingCreateMessage)},
		CreateMessageParams: params,
	})
	if err != nil {
		// A refusal (the user declined, no sampling support) is not
		// worth a retry.
		kind := llm.KindBadRequest
		if ctx.Err() != nil {
			kind = llm.KindCanceled
		}
		return nil, &llm.Error{Kind: kind, Model: SamplingModel, Message: "the MCP client's model (sampling/createMessage): " + err.Error()}
	}
	events, err := samplingEvents(res)
	if err != nil {
		return nil, &llm.Error{Kind: llm.KindProtocol, Model: SamplingModel, Message: "the MCP client's model answered: " + err.Error()}
	}
	return &eventStream{events: events}, nil
}

// assistantMessage is the model's earlier turn: its text and, when tools
// go to the client, its tool calls; without tools they are told in text.
func assistantMessage(m llm.Message, withTools bool) mcpgo.SamplingMessage {
	var content []mcpgo.Content
	if m.Content != "" {
		content = append(content, mcpgo.NewTextContent(m.Content))
	}
	for _, c := range m.ToolCalls {
		if withTools {
			content = append(content, mcpgo.ToolUseContent{Type: "tool_use", ID: c.ID, Name: c.Name, Input: json.RawMessage(orEmptyObject(c.Arguments))})
		} else {
			content = append(content, mcpgo.NewTextContent(fmt.Sprintf("(called %s with %s)", c.Name, c.Arguments)))
		}
	}
	if len(content) == 1 {
		return mcpgo.SamplingMessage{Role: mcpgo.RoleAssistant, Content: content[0]}
	}
	return mcpgo.SamplingMessage{Role: mcpgo.RoleAssistant, Content: content}
}

// appendToolResult adds a tool's answer: a tool_result in a user message,
// the results of one turn's calls gathered in one message as MCP wants.
func appendToolResult(msgs []mcpgo.SamplingMessage, m llm.Message, withTools bool) []mcpgo.SamplingMessage {
	var c mcpgo.Content = mcpgo.ToolResultContent{Type: "tool_result", ToolUseID: m.ToolCallID, Content: []mcpgo.Content{mcpgo.NewTextContent(m.Content)}}
	if !withTools {
		c = mcpgo.NewTextContent("(result of the call)\n" + m.Content)
	}
	if n := len(msgs); n > 0 && msgs[n-1].Role == mcpgo.RoleUser {
		if list, ok := msgs[n-1].Content.([]mcpgo.Content); ok {
			msgs[n-1].Content = append(list, c)
			return msgs
		}
	}
	return append(msgs, mcpgo.SamplingMessage{Role: mcpgo.RoleUser, Content: []mcpgo.Content{c}})
}

func orEmptyObject(args string) string {
	if strings.TrimSpace(args) == "" {
		return "{}"
	}
	return args
}

// samplingEvents turns the client's answer into the stream's events. The
// content is read back from JSON, so every form mcp-go may have decoded it
// into (one block or a list, typed or a map) reads the same.
func samplingEvents(res *mcpgo.CreateMessageResult) ([]llm.Event, error) {
	raw, err := json.Marshal(res.Content)
	if err != nil {
		return nil, err
	}
	var blocks []samplingBlock
	if len(raw) > 0 && raw[0] == '[' {
		err = json.Unmarshal(raw, &blocks)
	} else {
		blocks = make([]samplingBlock, 1)
		err = json.Unmarshal(raw, &blocks[0])
	}
	if err != nil {
		return nil, fmt.Errorf("content: %w", err)
	}
	var out []llm.Event
	calls := false
	for _, b := range blocks {
		switch b.Type {
		case "text":
			out = append(out, llm.Event{Kind: llm.EventText, Text: b.Text})
		case "tool_use":
			calls = true
			out = append(out, llm.Event{Kind: llm.EventToolCall, ToolCall: llm.ToolCall{ID: b.ID, Name: b.Name, Arguments: string(b.Input)}})
		default:
			return nil, fmt.Errorf("content of type %q, which Loom's agent cannot use", b.Type)
		}
	}
	finish := llm.FinishStop
	switch {
	case res.StopReason == "maxTokens":
		finish = llm.FinishLength
	case calls || res.StopReason == "toolUse":
		finish = llm.FinishToolCalls
	}
	return append(out, llm.Event{Kind: llm.EventFinish, FinishReason: finish}), nil
}

// samplingBlock is one content block of a sampling answer, of any type.
type samplingBlock struct {
	Type  string          `json:"type"`
	Text  string          `json:"text"`
	ID    string          `json:"id"`
	Name  string          `json:"name"`
	Input json.RawMessage `json:"input"`
}

// eventStream plays a whole answer as a stream.
type eventStream struct{ events []llm.Event }

func (s *eventStream) Recv() (llm.Event, error) {
	if len(s.events) == 0 {
		return llm.Event{}, io.EOF
	}
	ev := s.events[0]
	s.events = s.events[1:]
	return ev, nil
}

func (s *eventStream) Close() error { return nil }
