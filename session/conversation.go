package session

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"slices"
	"sync"

	"github.com/loom-agent/loom/llm"
	"github.com/loom-agent/loom/thread"
)

// Conversation is a series of runs that continue one another, for a front
// end whose client keeps a session open across requests (an ACP session).
// With a store it lives in a thread, made when it starts, whose ID names
// it; without one, or while its thread cannot be recorded, it lives in
// memory: a broken database must not stop work. Its runs are meant to
// follow one another; the front end does not start two at once.
type Conversation struct {
	svc   *Service
	id    string
	model string

	mu      sync.Mutex
	history []llm.Message // the conversation so far, system prompt left out
}

// StartConversation begins a conversation in the workspace rooted at root
// (as workspace.Workspace.Root names it), recorded with model: with a
// store, in a new thread, titled by its first instruction.
func (s *Service) StartConversation(ctx context.Context, root, model string) (*Conversation, error) {
	c := &Conversation{svc: s, model: model}
	if !s.KeepsThreads() {
		var b [8]byte
		_, _ = rand.Read(b[:]) // never fails (crypto/rand panics rather)
		c.id = "loom-" + hex.EncodeToString(b[:])
		return c, nil
	}
	t, err := s.Store.Create(ctx, thread.Meta{Workspace: root, Model: model})
	if err != nil {
		return nil, fmt.Errorf("creating the conversation's thread: %w", err)
	}
	c.id = t.ID
	return c, nil
}

// LoadConversation reopens the conversation of thread id (a whole ID):
// its History is the thread's, and its runs continue the thread. An ID
// no thread has is ErrNoThread.
func (s *Service) LoadConversation(ctx context.Context, id string) (*Conversation, error) {
	if !s.KeepsThreads() {
		return nil, s.threadsErr()
	}
	t, err := s.Store.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	return &Conversation{svc: s, id: t.ID, model: t.Model, history: t.Messages()}, nil
}

// ID names the conversation: its thread's ID, when it has one.
func (c *Conversation) ID() string { return c.id }

// Model is the model the conversation was started with or recorded with.
func (c *Conversation) Model() string { return c.model }

// History is the conversation so far: every message but the system
// prompt.
func (c *Conversation) History() []llm.Message {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.history)
}

// Run performs req as the conversation's next run: req.ThreadID and
// req.History are the conversation's. When its thread cannot be continued
// (the database broke since), the run goes on in memory from the history
// kept here, and the warning is logged.
func (c *Conversation) Run(ctx context.Context, req Request) (Outcome, error) {
	req.History = c.History()
	inThread := req
	if c.svc.KeepsThreads() {
		inThread.ThreadID = c.id
	}
	out, err := c.svc.Run(ctx, inThread)
	if err != nil && len(out.Transcript) == 0 && c.svc.KeepsThreads() {
		c.svc.log().Warn("cannot record the conversation's run; keeping it in memory", "thread", c.id, "err", err)
		out, err = (&Service{Log: c.svc.Log}).Run(ctx, req)
	}
	if err != nil {
		return out, err
	}
	var msgs []llm.Message
	for _, m := range out.Transcript {
		if m.Role != llm.RoleSystem {
			msgs = append(msgs, m)
		}
	}
	if len(msgs) > 0 {
		c.mu.Lock()
		c.history = msgs
		c.mu.Unlock()
	}
	return out, nil
}
