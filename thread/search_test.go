package thread

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// searchFixture is a small store of threads with known words.
type searchFixture struct {
	s                                     *Store
	parser, verbose, tokenizer, grep, old string
}

func newSearchFixture(t *testing.T) *searchFixture {
	s := openStore(t)
	f := &searchFixture{s: s}
	f.parser = newThread(t, s, Meta{Workspace: "/a", Title: "Fix the parser crash on empty input"},
		userTurn("Fix the parser crash on empty input"),
		toolTurn("Reading the parser.", "c1", "read_file", `{"path":"parse.go"}`, "package parse\n\nfunc Parse(s string) (*Node, error) {"),
		assistant("Done: Parse returns an error for empty input."))
	f.verbose = newThread(t, s, Meta{Workspace: "/a", Title: "Add a --verbose flag"},
		userTurn("Add a --verbose flag to main.go"),
		assistant(strings.Repeat("The flag is wired through the options struct and printed in the usage text. ", 20)+
			"The parser of flags was not touched."))
	f.tokenizer = newThread(t, s, Meta{Workspace: "/b", Title: "Speed up lexing"},
		userTurn("Speed up lexing"),
		assistant("The tokenizer allocates: the tokenizer now reuses its buffer, so the tokenizer is faster."))
	f.grep = newThread(t, s, Meta{Workspace: "/b", Title: "Find uses of Deprecated"},
		userTurn("Find every use of the old API"),
		toolTurn("", "c9", "grep", `{"pattern":"OldAPI"}`, "a.go:3: OldAPI()\nb.go:9: OldAPI()"))
	f.old = newThread(t, s, Meta{Workspace: "/a", Title: "Parsing dates"},
		userTurn("Handle ISO dates when parsing"))
	ctx := context.Background()
	if err := s.Finish(ctx, f.verbose, Outcome{Status: StatusDone}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.db.Exec(`UPDATE threads SET updated = ? WHERE id = ?`, time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli(), f.old); err != nil {
		t.Fatal(err)
	}
	return f
}

func hitIDs(hits []Hit) []string {
	var ids []string
	for _, h := range hits {
		ids = append(ids, h.Thread.ID)
	}
	return ids
}

func TestSearchRankingAndSnippets(t *testing.T) {
	f := newSearchFixture(t)
	ctx := context.Background()
	hits, err := f.s.Search(ctx, "parser", Filter{})
	if err != nil {
		t.Fatal(err)
	}
	// The thread with "parser" in its title and messages beats the one
	// that mentions it once at the end of a long message.
	if ids := hitIDs(hits); len(ids) != 2 || ids[0] != f.parser || ids[1] != f.verbose {
		t.Fatalf("hits %v, want [parser verbose] = [%s %s]", ids, f.parser, f.verbose)
	}
	if hits[0].Score <= hits[1].Score {
		t.Errorf("scores %v, %v: want the first higher", hits[0].Score, hits[1].Score)
	}
	for _, h := range hits {
		if !strings.Contains(h.Snippet, MarkOpen+"parser"+MarkClose) || strings.ContainsAny(h.Snippet, "\n\t") {
			t.Errorf("snippet %q: want «parser» marked, on one line", h.Snippet)
		}
	}
	if hits[0].Role != "title" || hits[0].Seq != -1 {
		t.Errorf("best hit of the parser thread: role %q seq %d, want its title", hits[0].Role, hits[0].Seq)
	}
	if h := hits[1]; h.Role != "assistant" || h.Seq != 1 || !strings.HasPrefix(h.Snippet, "…") {
		t.Errorf("verbose hit: role %q seq %d snippet %q; want the assistant message 1, cut before", h.Role, h.Seq, h.Snippet)
	}
	// Term frequency counts: three "tokenizer"s in a short message.
	hits, err = f.s.Search(ctx, "tokenizer", Filter{})
	if err != nil || len(hits) != 1 || hits[0].Thread.ID != f.tokenizer || strings.Count(hits[0].Snippet, "«tokenizer»") != 3 {
		t.Errorf("tokenizer: %+v, %v", hits, err)
	}
	// Tool names are indexed: the call and its result both name grep.
	hits, err = f.s.Search(ctx, "tools:grep", Filter{})
	if err != nil || len(hits) != 1 || hits[0].Thread.ID != f.grep || hits[0].Snippet != "«grep»" {
		t.Errorf("tools:grep: %+v, %v", hits, err)
	}
	// The thread comes back whole, but without its turns.
	if th := hits[0].Thread; th.Title != "Find uses of Deprecated" || th.Workspace != "/b" || th.TurnCount != 2 || th.Turns != nil {
		t.Errorf("hit thread %+v", th)
	}
}

func TestSearchPrefixAndFilters(t *testing.T) {
	f := newSearchFixture(t)
	ctx := context.Background()
	tests := []struct {
		name  string
		query string
		f     Filter
		want  []string
	}{
		// BM25 favours the short title "Parsing dates".
		{"prefix finds parser and parsing", "pars*", Filter{}, []string{f.old, f.parser, f.verbose}},
		{"two-letter prefix", "to*", Filter{}, []string{f.tokenizer, f.verbose}},
		{"prefix and word", "pars* crash", Filter{}, []string{f.parser}},
		{"phrase", `"empty input"`, Filter{}, []string{f.parser}},
		{"OR", "tokenizer OR OldAPI", Filter{}, []string{f.tokenizer, f.grep}},
		// NOT works per title or message: the parser thread has messages
		// with "parser" and without "crash".
		{"NOT", "pars* NOT crash", Filter{}, []string{f.old, f.parser, f.verbose}},
		{"NOT excludes", "tokenizer NOT faster", Filter{}, nil},
		{"column filter", "title:parser", Filter{}, []string{f.parser}},
		{"case and accents are folded", "PÄRSER", Filter{}, []string{f.parser, f.verbose}},
		{"workspace", "pars*", Filter{Workspace: "/a"}, []string{f.old, f.parser, f.verbose}},
		{"other workspace", "pars*", Filter{Workspace: "/b"}, nil},
		{"status", "pars*", Filter{Status: StatusDone}, []string{f.verbose}},
		{"since", "pars*", Filter{Since: time.Now().Add(-time.Hour)}, []string{f.parser, f.verbose}},
		{"limit", "pars*", Filter{Limit: 1}, []string{f.old}},
		{"no match", "zebra", Filter{}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hits, err := f.s.Search(ctx, tt.query, tt.f)
			if err != nil {
				t.Fatal(err)
			}
			got := hitIDs(hits)
			if len(got) != len(tt.want) {
				t.Fatalf("hits %v, want %v", got, tt.want)
			}
			// Only the best hit's place is asserted when the rest tie or
			// nearly do; every wanted thread must be there.
			if len(got) > 0 && got[0] != tt.want[0] {
				t.Errorf("best hit %s, want %s (all: %v)", got[0], tt.want[0], got)
			}
			for _, w := range tt.want {
				if !strings.Contains(strings.Join(got, " "), w) {
					t.Errorf("%s missing from %v", w, got)
				}
			}
		})
	}
}

// TestSearchMalformedQueries feeds queries that are not valid FTS5: each
// is searched as plain words or refused with ErrBadQuery, never a crash or
// an SQL error.
func TestSearchMalformedQueries(t *testing.T) {
	f := newSearchFixture(t)
	ctx := context.Background()
	tests := []struct {
		name    string
		query   string
		want    string // the best hit, or "" for no hits
		wantErr bool   // refused with ErrBadQuery
	}{
		{"unbalanced quote before", `"parser crash`, f.parser, false},
		{"unbalanced quote after", `parser"`, f.parser, false},
		{"quote inside a word", `pars"er`, "", false},
		// An operator alone is searched as the word: the verbose thread
		// says "and" and "not".
		{"AND alone", "AND", f.verbose, false},
		{"OR alone", "OR", "", false},
		{"NOT alone", "NOT", f.verbose, false},
		{"operators only", "AND OR NOT", "", false},
		{"dangling AND", "parser AND", f.parser, false},
		{"leading NOT", "NOT parser", f.parser, false},
		{"unbalanced parenthesis", "(parser crash", f.parser, false},
		{"closing parenthesis", "parser)", f.parser, false},
		{"NEAR unclosed", "NEAR(parser crash", f.parser, false},
		{"unknown column", "nosuch:parser", "", false},
		{"unindexed column", "thread_rid:1", "", false},
		{"empty column filter", "title:", "", false},
		{"column set", "{title body}: tokenizer", f.tokenizer, false},
		{"hyphen", "--verbose", f.verbose, false},
		{"minus", "parser -crash", f.parser, false},
		{"dotted file name", "main.go", f.verbose, false},
		{"double star", "pars**", f.old, false},
		{"caret", "^fix", f.parser, false},
		{"caret alone", "^", "", true},
		{"lone star", "*", "", true},
		{"punctuation only", `"" () * : ^ -`, "", true},
		{"NUL byte", "\x00", "", true},
		{"NUL inside", "parser\x00crash", f.parser, false},
		{"control characters", "\x01parser\x7f\r\n", f.parser, false},
		{"terminal escape", "\x1b[31mparser", "", false},
		{"invalid UTF-8", "\xff\xfeparser", f.parser, false},
		{"emoji", "🧵 parser", "", false},
		{"SQL injection", `parser'; DROP TABLE threads; --`, "", false},
		{"empty", "", "", true},
		{"spaces", "   \t\n", "", true},
		{"long but allowed", strings.Repeat("parser ", MaxQueryLen/7), f.parser, false},
		{"too long", strings.Repeat("parser ", 10000), "", true},
		{"many ORs", strings.Repeat("parser OR ", 90) + "crash", f.parser, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hits, err := f.s.Search(ctx, tt.query, Filter{})
			if tt.wantErr {
				if !errors.Is(err, ErrBadQuery) {
					t.Fatalf("err %v, want ErrBadQuery", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("err %v", err)
			}
			got := ""
			if len(hits) > 0 {
				got = hits[0].Thread.ID
			}
			if got != tt.want {
				t.Errorf("best hit %q, want %q (%d hits)", got, tt.want, len(hits))
			}
		})
	}
	if _, err := f.s.Get(ctx, f.parser); err != nil {
		t.Errorf("the store is damaged: %v", err)
	}
}

// TestSearchIndexFollowsChanges checks the triggers: replaced turns leave
// the index, new ones enter it.
func TestSearchIndexFollowsChanges(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	id := newThread(t, s, Meta{Title: "rewrite"}, userTurn("start"), assistant("preview of the walrus"))
	if err := s.ReplaceTurns(ctx, id, 1, []Turn{assistant("the whole narwhal")}, Outcome{Status: StatusDone}); err != nil {
		t.Fatal(err)
	}
	for q, want := range map[string]int{"walrus": 0, "narwhal": 1, "rewrite": 1, "start": 1} {
		hits, err := s.Search(ctx, q, Filter{})
		if err != nil || len(hits) != want {
			t.Errorf("%s: %d hits, %v; want %d", q, len(hits), err, want)
		}
	}
	if _, err := s.db.Exec(`INSERT INTO search (search) VALUES ('integrity-check')`); err != nil {
		t.Errorf("FTS integrity check: %v", err)
	}
}

// TestSearchTitlesIndex checks the titles index, which ranks title
// matches: it follows renames and deletes, honours column filters, and a
// filtered search gives the same hits and snippets as an unfiltered one.
func TestSearchTitlesIndex(t *testing.T) {
	f := newSearchFixture(t)
	ctx := context.Background()
	if err := f.s.SetTitle(ctx, f.tokenizer, "Faster lexing of walrus files"); err != nil {
		t.Fatal(err)
	}
	hits, err := f.s.Search(ctx, "walrus", Filter{})
	if err != nil || len(hits) != 1 || hits[0].Thread.ID != f.tokenizer || hits[0].Role != "title" || hits[0].Snippet != "Faster lexing of «walrus» files" {
		t.Fatalf("walrus after rename: %+v, %v", hits, err)
	}
	if hits, err := f.s.Search(ctx, "title:speed", Filter{}); err != nil || len(hits) != 0 {
		t.Errorf("old title still found: %+v, %v", hits, err)
	}
	if hits, err := f.s.Search(ctx, "body:walrus", Filter{}); err != nil || len(hits) != 0 {
		t.Errorf("body:walrus matched the title: %+v, %v", hits, err)
	}
	all, err := f.s.Search(ctx, "pars*", Filter{})
	if err != nil {
		t.Fatal(err)
	}
	filtered, err := f.s.Search(ctx, "pars*", Filter{Workspace: "/a"})
	if err != nil || len(filtered) != len(all) {
		t.Fatalf("filtered: %d hits, %v; want %d", len(filtered), err, len(all))
	}
	for i := range all {
		a, b := all[i], filtered[i]
		if a.Thread.ID != b.Thread.ID || a.Snippet != b.Snippet || a.Role != b.Role || a.Seq != b.Seq || a.Snippet == "" {
			t.Errorf("hit %d: unfiltered %+v, filtered %+v", i, a, b)
		}
	}
	if err := f.s.Delete(ctx, f.tokenizer); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := f.s.db.QueryRow(`SELECT count(*) FROM titles WHERE titles MATCH 'walrus'`).Scan(&n); err != nil || n != 0 {
		t.Errorf("titles index after Delete: %d rows, %v", n, err)
	}
	if _, err := f.s.db.Exec(`INSERT INTO titles (titles) VALUES ('integrity-check')`); err != nil {
		t.Errorf("FTS integrity check: %v", err)
	}
}
