package session

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/loom-agent/loom/llm"
	"github.com/loom-agent/loom/thread"
)

// seed records a finished thread of two turns in workspace dir.
func seed(t *testing.T, st *thread.Store, dir, title, answer string, status thread.Status) string {
	t.Helper()
	ctx := context.Background()
	th, err := st.Create(ctx, thread.Meta{Workspace: dir, Title: title, Model: "m"})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []llm.Message{{Role: llm.RoleUser, Content: title}, {Role: llm.RoleAssistant, Content: answer}} {
		if _, err := st.AppendTurn(ctx, th.ID, thread.Turn{Messages: []llm.Message{m}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.Finish(ctx, th.ID, thread.Outcome{Status: status}); err != nil {
		t.Fatal(err)
	}
	return th.ID
}

// TestSearchThreads: the search front ends offer, its scope and filters,
// and the client's mistakes told apart as ErrBadSearch.
func TestSearchThreads(t *testing.T) {
	st := openStore(t)
	seed(t, st, "/mine", "fix the tokenizer", "Fixed the tokenizer.", thread.StatusDone)
	seed(t, st, "/mine", "speed up the tokenizer", "The model failed.", thread.StatusFailed)
	seed(t, st, "/theirs", "tokenizer secrets", "Not yours.", thread.StatusDone)
	svc := &Service{Store: st}
	tests := []struct {
		name    string
		q       ThreadSearch
		want    []string // titles, any order
		wantErr string   // "" for success; else ErrBadSearch with this text
	}{
		{"every workspace", ThreadSearch{Query: "tokenizer"}, []string{"fix the tokenizer", "speed up the tokenizer", "tokenizer secrets"}, ""},
		{"in scope", ThreadSearch{Query: "tokenizer", Workspaces: []string{"/mine"}}, []string{"fix the tokenizer", "speed up the tokenizer"}, ""},
		{"empty scope sees none", ThreadSearch{Query: "tokenizer", Workspaces: []string{}}, nil, ""},
		{"status", ThreadSearch{Query: "tokenizer", Status: "failed"}, []string{"speed up the tokenizer"}, ""},
		{"since", ThreadSearch{Query: "tokenizer", Since: "2999-01-01"}, nil, ""},
		{"limit", ThreadSearch{Query: "tokenizer", Workspaces: []string{"/mine"}, Limit: 1}, []string{"?"}, ""},
		{"unknown status", ThreadSearch{Query: "x", Status: "great"}, nil, `status "great": want one of running, done`},
		{"since no time", ThreadSearch{Query: "x", Since: "yesterday"}, nil, `since "yesterday"`},
		{"nothing to search", ThreadSearch{Query: "**"}, nil, "bad search query"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hits, err := svc.SearchThreads(context.Background(), tt.q)
			if tt.wantErr != "" {
				if !errors.Is(err, ErrBadSearch) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("err = %v, want ErrBadSearch with %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(hits) != len(tt.want) {
				t.Fatalf("%d hits %+v, want %q", len(hits), hits, tt.want)
			}
			for _, h := range hits {
				if tt.want[0] != "?" && !slices.Contains(tt.want, h.Title) {
					t.Errorf("hit %q, want only %q", h.Title, tt.want)
				}
				if h.ID == "" || h.Turns != 2 || h.Updated.IsZero() || !strings.Contains(h.Snippet, thread.MarkOpen) {
					t.Errorf("hit = %+v, want its ID, 2 turns, a time and a marked snippet", h)
				}
			}
		})
	}
}

// TestResolveAndShowThreads: a prefix resolves among every thread, or
// among a scope's only, where another workspace's thread is unknown; a
// thread reads as Markdown; without a store each says why there is none.
func TestResolveAndShowThreads(t *testing.T) {
	st := openStore(t)
	mine := seed(t, st, "/mine", "fix the tokenizer", "Fixed.", thread.StatusDone)
	theirs := seed(t, st, "/theirs", "their secret", "Not yours.", thread.StatusDone)
	svc := &Service{Store: st}
	ctx := context.Background()
	if id, err := svc.ResolveThread(ctx, " "+theirs[:len(theirs)-2]+" "); err != nil || id != theirs {
		t.Errorf("ResolveThread(prefix) = %q, %v; want %s", id, err, theirs)
	}
	if id, err := svc.ResolveThreadIn(ctx, mine, []string{"/mine"}); err != nil || id != mine {
		t.Errorf("ResolveThreadIn(mine) = %q, %v", id, err)
	}
	if id, err := svc.ResolveThreadIn(ctx, theirs, []string{"/mine"}); !errors.Is(err, ErrNoThread) {
		t.Errorf("ResolveThreadIn(another workspace's) = %q, %v; want ErrNoThread", id, err)
	}
	md, err := svc.ThreadMarkdown(ctx, mine)
	if err != nil || !strings.Contains(md, "# fix the tokenizer\n") || !strings.Contains(md, "Fixed.") {
		t.Errorf("ThreadMarkdown = %q, %v", md, err)
	}

	bare := &Service{StoreErr: errors.New("read-only file system")}
	if bare.KeepsThreads() || !svc.KeepsThreads() {
		t.Error("KeepsThreads does not follow the store")
	}
	for name, err := range map[string]error{
		"ResolveThread":    func() error { _, err := bare.ResolveThread(ctx, mine); return err }(),
		"ResolveThreadIn":  func() error { _, err := bare.ResolveThreadIn(ctx, mine, nil); return err }(),
		"SearchThreads":    func() error { _, err := bare.SearchThreads(ctx, ThreadSearch{Query: "x"}); return err }(),
		"ThreadMarkdown":   func() error { _, err := bare.ThreadMarkdown(ctx, mine); return err }(),
		"LoadConversation": func() error { _, err := bare.LoadConversation(ctx, mine); return err }(),
	} {
		if err == nil || !strings.Contains(err.Error(), "threads are unavailable: read-only file system") {
			t.Errorf("%s without a store: %v, want why", name, err)
		}
	}
}
