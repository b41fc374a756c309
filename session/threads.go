package session

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/loom-agent/loom/thread"
)

// The thread operations a front end offers its client besides runs:
// search, resolve an ID prefix, show. They read the Service's store, and
// fail with the reason there is none (StoreErr) when it has none.

// ErrNoThread is the error, or is wrapped by it, when no thread (of those
// the caller may see) has the ID or prefix given.
var ErrNoThread = thread.ErrNotFound

// ErrBadSearch is wrapped by the error for a search that cannot run as
// given: a query with nothing to search, an unknown status, a since
// that is no time. The client's mistake, to be told so.
var ErrBadSearch = thread.ErrBadQuery

// KeepsThreads reports whether the service records runs and can answer
// the thread operations.
func (s *Service) KeepsThreads() bool { return s != nil && s.Store != nil }

// threadsErr is why there are no threads to read.
func (s *Service) threadsErr() error {
	if s != nil && s.StoreErr != nil {
		return fmt.Errorf("threads are unavailable: %w", s.StoreErr)
	}
	return errors.New("threads are unavailable: there is no thread database")
}

// ThreadStatuses lists the statuses a thread can have, for a search's
// Status.
func ThreadStatuses() []string {
	out := make([]string, len(thread.Statuses))
	for i, st := range thread.Statuses {
		out[i] = string(st)
	}
	return out
}

// ThreadSearch is a search of the threads.
type ThreadSearch struct {
	// Query is words (all must match), "phrases", prefix*, OR, NOT, and
	// title:, body:, tools: for one column.
	Query string
	// Workspaces, when not nil, keeps the threads of these root folders
	// only, as threads record them (symlinks resolved), and none when
	// empty: a server's scope. nil searches every workspace's threads.
	Workspaces []string
	// Status, when set, keeps threads whose latest run ended so (one of
	// ThreadStatuses).
	Status string
	// Since, when set, keeps threads updated since then: a duration
	// (36h, 7d), a date (2026-01-31) or an RFC 3339 time.
	Since string
	// Limit bounds the hits; 0 is the store's default.
	Limit int
}

// ThreadHit is one thread a search found.
type ThreadHit struct {
	ID, Title, Workspace string
	// Status is how the thread's latest run ended.
	Status  string
	Updated time.Time
	Turns   int
	// Snippet is the best-matching passage, on one line, the matched
	// terms marked «like this».
	Snippet string
}

// SearchThreads finds the threads that match q, best first. A search that
// cannot run as given is an error wrapping ErrBadSearch.
func (s *Service) SearchThreads(ctx context.Context, q ThreadSearch) ([]ThreadHit, error) {
	if !s.KeepsThreads() {
		return nil, s.threadsErr()
	}
	f := thread.Filter{Workspaces: q.Workspaces, Status: thread.Status(q.Status), Limit: q.Limit}
	if q.Status != "" && !f.Status.Valid() {
		return nil, fmt.Errorf("%w: status %q: want one of %s", ErrBadSearch, q.Status, strings.Join(ThreadStatuses(), ", "))
	}
	if q.Since != "" {
		since, err := thread.ParseSince(q.Since, time.Now())
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrBadSearch, err)
		}
		f.Since = since
	}
	found, err := s.Store.Search(ctx, q.Query, f)
	if err != nil {
		return nil, err
	}
	hits := make([]ThreadHit, len(found))
	for i, h := range found {
		t := h.Thread
		hits[i] = ThreadHit{ID: t.ID, Title: t.Title, Workspace: t.Workspace, Status: string(t.Status),
			Updated: t.Updated, Turns: t.TurnCount, Snippet: h.Snippet}
	}
	return hits, nil
}

// ResolveThread expands a thread ID or unique prefix to the thread's ID,
// among every workspace's threads. A prefix no thread has is ErrNoThread;
// one several have is an error that says to type more.
func (s *Service) ResolveThread(ctx context.Context, idOrPrefix string) (string, error) {
	if !s.KeepsThreads() {
		return "", s.threadsErr()
	}
	return s.Store.Resolve(ctx, strings.TrimSpace(idOrPrefix))
}

// ResolveThreadIn is ResolveThread among the threads of the workspaces
// given (root folders as threads record them, symlinks resolved): a
// thread of another workspace is ErrNoThread, exactly as one that does
// not exist, and does not make a prefix ambiguous.
func (s *Service) ResolveThreadIn(ctx context.Context, idOrPrefix string, workspaces []string) (string, error) {
	if !s.KeepsThreads() {
		return "", s.threadsErr()
	}
	return s.Store.ResolveIn(ctx, strings.TrimSpace(idOrPrefix), workspaces)
}

// ThreadMarkdown is thread id (a whole ID, as the Resolve methods return)
// as Markdown: its facts, every instruction, answer, tool call and
// result, and the diff of its latest run.
func (s *Service) ThreadMarkdown(ctx context.Context, id string) (string, error) {
	if !s.KeepsThreads() {
		return "", s.threadsErr()
	}
	var b strings.Builder
	if err := s.Store.Export(ctx, &b, id, thread.FormatMarkdown); err != nil {
		return "", err
	}
	return b.String(), nil
}
