package llm

import (
	"reflect"
	"testing"

	openai "github.com/sashabaranov/go-openai"
)

func delta(index *int, id, name, args string) openai.ToolCall {
	return openai.ToolCall{Index: index, ID: id, Function: openai.FunctionCall{Name: name, Arguments: args}}
}

func idx(i int) *int { return &i }

// Servers differ in how they stream tool calls; all these must assemble.
func TestCallAssembler(t *testing.T) {
	tests := []struct {
		name   string
		deltas []openai.ToolCall
		want   []ToolCall
	}{
		{
			name: "OpenAI style: indexed, interleaved, out of order",
			deltas: []openai.ToolCall{
				delta(idx(1), "b", "read", ""),
				delta(idx(0), "a", "grep", `{"pat`),
				delta(idx(1), "", "", `{"path":"x"}`),
				delta(idx(0), "", "", `tern":"y"}`),
			},
			want: []ToolCall{{ID: "a", Name: "grep", Arguments: `{"pattern":"y"}`}, {ID: "b", Name: "read", Arguments: `{"path":"x"}`}},
		},
		{
			name: "no index, whole calls keyed by id",
			deltas: []openai.ToolCall{
				delta(nil, "a", "grep", `{"p":1}`),
				delta(nil, "b", "read", `{"q":2}`),
			},
			want: []ToolCall{{ID: "a", Name: "grep", Arguments: `{"p":1}`}, {ID: "b", Name: "read", Arguments: `{"q":2}`}},
		},
		{
			name: "no index, continuation pieces without id",
			deltas: []openai.ToolCall{
				delta(nil, "a", "grep", `{"p"`),
				delta(nil, "", "", `:1}`),
			},
			want: []ToolCall{{ID: "a", Name: "grep", Arguments: `{"p":1}`}},
		},
		{
			name: "repeated id and name on every delta",
			deltas: []openai.ToolCall{
				delta(idx(0), "a", "grep", `{"p"`),
				delta(idx(0), "a", "grep", `:1}`),
			},
			want: []ToolCall{{ID: "a", Name: "grep", Arguments: `{"p":1}`}},
		},
		{
			name:   "missing id and arguments",
			deltas: []openai.ToolCall{delta(idx(0), "", "list", "")},
			want:   []ToolCall{{ID: "call_0", Name: "list", Arguments: "{}"}},
		},
		{
			name:   "continuation with nothing before it",
			deltas: []openai.ToolCall{delta(nil, "", "", `{}`)},
			want:   []ToolCall{{ID: "call_0", Arguments: "{}"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var a callAssembler
			for _, d := range tt.deltas {
				a.add(d)
			}
			if got := a.done(); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
			if len(a.done()) != 0 {
				t.Error("done did not reset the assembler")
			}
		})
	}
}
