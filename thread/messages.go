package thread

import "github.com/loom-agent/loom/llm"

// Messages returns the thread's conversation in order, ready to pass as
// agent.Task.History to continue it (the thread holds no system prompt;
// the agent adds a fresh one).
func (t *Thread) Messages() []llm.Message {
	var msgs []llm.Message
	for _, turn := range t.Turns {
		msgs = append(msgs, turn.Messages...)
	}
	return msgs
}

// SplitTurns cuts a conversation into turns the way the agent produces
// them: a user message is a turn of its own, an assistant message starts a
// turn that takes the tool results after it. System messages are dropped
// (the agent rebuilds the system prompt on every run). Turn numbers and
// times are left for the store to assign.
func SplitTurns(msgs []llm.Message) []Turn {
	var turns []Turn
	for _, m := range msgs {
		switch {
		case m.Role == llm.RoleSystem:
			continue
		case m.Role == llm.RoleTool && len(turns) > 0 && turns[len(turns)-1].Messages[0].Role == llm.RoleAssistant:
			last := &turns[len(turns)-1]
			last.Messages = append(last.Messages, m)
		default:
			turns = append(turns, Turn{Messages: []llm.Message{m}})
		}
	}
	return turns
}
