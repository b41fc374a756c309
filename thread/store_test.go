package thread

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/loom-agent/loom/llm"
)

// TestRoundTrip stores a full thread, reopens the database and reads back
// exactly what went in.
func TestRoundTrip(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "threads.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	big := strings.Repeat("line of file content with ``` fences and ünïcödé 🧵\n", 4000)
	turns := []Turn{
		userTurn("Fix the parser crash\non empty input"),
		{
			Usage: llm.Usage{PromptTokens: 1200, CompletionTokens: 80},
			Messages: []llm.Message{
				{Role: llm.RoleAssistant, Content: "Let me look.", ToolCalls: []llm.ToolCall{
					{ID: "call_1", Name: "read_file", Arguments: `{"path":"parse.go"}`},
					{ID: "call_2", Name: "grep", Arguments: `{"pattern":"\"quoted\" \\ back\u0000slash"`}, // malformed JSON is kept as is
				}},
				{Role: llm.RoleTool, ToolCallID: "call_1", Content: big},
				{Role: llm.RoleTool, ToolCallID: "call_2", Content: "error: invalid arguments\x00 with a NUL"},
			},
		},
		toolTurn("", "call_3", "edit_file", `{"path":"parse.go","old_text":"a","new_text":"b"}`, "edited parse.go"),
		assistant("Fixed: the parser now returns an error on empty input."),
	}
	id := newThread(t, s, Meta{Workspace: "/src/demo", Model: "qwen3-coder", Title: TitleFrom("Fix the parser crash\non empty input")}, turns...)
	diff := "diff --git a/parse.go b/parse.go\n--- a/parse.go\n+++ b/parse.go\n@@ -1 +1 @@\n-a\n+b\n"
	if err := s.Finish(ctx, id, Outcome{Status: StatusDone, Diff: diff}); err != nil {
		t.Fatal(err)
	}
	s.Close()

	s, err = Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got, err := s.Get(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != id || got.Workspace != "/src/demo" || got.Model != "qwen3-coder" || got.Title != "Fix the parser crash" ||
		got.Status != StatusDone || got.Diff != diff || got.Error != "" || got.TurnCount != 4 {
		t.Errorf("thread = %+v", *got)
	}
	if want := (llm.Usage{PromptTokens: 1310, CompletionTokens: 102}); got.Usage != want {
		t.Errorf("usage = %+v, want %+v (the sum of the turns)", got.Usage, want)
	}
	if got.Created.IsZero() || got.Updated.Before(got.Created) || time.Since(got.Created) > time.Minute {
		t.Errorf("created %v, updated %v", got.Created, got.Updated)
	}
	for i, turn := range got.Turns {
		if turn.N != i || turn.Usage != turns[i].Usage || !reflect.DeepEqual(turn.Messages, turns[i].Messages) {
			t.Errorf("turn %d = %+v\nwant %+v", i, turn, turns[i])
		}
	}
	var want []llm.Message
	for _, turn := range turns {
		want = append(want, turn.Messages...)
	}
	if !reflect.DeepEqual(got.Messages(), want) {
		t.Error("Messages() is not the conversation that was stored")
	}
	// SplitTurns is the inverse of Messages for an agent's conversation.
	split := SplitTurns(append([]llm.Message{{Role: llm.RoleSystem, Content: "prompt"}}, want...))
	if len(split) != len(turns) {
		t.Fatalf("SplitTurns made %d turns, want %d", len(split), len(turns))
	}
	for i := range split {
		if !reflect.DeepEqual(split[i].Messages, turns[i].Messages) {
			t.Errorf("SplitTurns turn %d = %+v", i, split[i].Messages)
		}
	}
	var mode os.FileMode
	if fi, err := os.Stat(path); err == nil {
		mode = fi.Mode().Perm()
	}
	if mode != 0o600 {
		t.Errorf("database mode %v, want 0600 (threads hold private code)", mode)
	}
}

func TestSchemaAndPragmas(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	for _, tt := range []struct{ pragma, want string }{
		{"journal_mode", "wal"},
		{"user_version", "2"},
		{"foreign_keys", "1"},
		{"busy_timeout", "1000"},
		{"synchronous", "1"},
	} {
		var got string
		if err := s.db.QueryRowContext(ctx, "PRAGMA "+tt.pragma).Scan(&got); err != nil || got != tt.want {
			t.Errorf("PRAGMA %s = %q, %v; want %q", tt.pragma, got, err, tt.want)
		}
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	notDB := filepath.Join(dir, "junk.db")
	if err := os.WriteFile(notDB, []byte(strings.Repeat("not a database\n", 300)), 0o600); err != nil {
		t.Fatal(err)
	}
	future := filepath.Join(dir, "future.db")
	s, err := Open(future)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.db.Exec("PRAGMA user_version = 99"); err != nil {
		t.Fatal(err)
	}
	s.Close()
	file := filepath.Join(dir, "file")
	os.WriteFile(file, nil, 0o600)
	for _, tt := range []struct{ name, path, want string }{
		{"empty", "", "empty path"},
		{"NUL", "a\x00b.db", "NUL"},
		{"not a database", notDB, "not a database"},
		{"newer schema", future, "newer than this Loom knows"},
		{"under a file", filepath.Join(file, "threads.db"), "not a directory"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Open(tt.path)
			if err == nil {
				s.Close()
				t.Fatal("Open succeeded")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not mention %q", err, tt.want)
			}
		})
	}
}

// TestOddPath opens a database whose path would be misread as URI options.
func TestOddPath(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a?mode=ro#x%20y", "threads.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	newThread(t, s, Meta{Title: "odd"}, userTurn("hello"))
	if _, err := os.Stat(path); err != nil {
		t.Errorf("the database is not at %s: %v", path, err)
	}
}

func TestBadInput(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	id := newThread(t, s, Meta{Title: "t"}, userTurn("hi"))
	tests := []struct {
		name string
		run  func() error
		want string
	}{
		{"append to a missing thread", func() error { _, err := s.AppendTurn(ctx, "0000000zzz", userTurn("x")); return err }, "no such thread"},
		{"empty turn", func() error { _, err := s.AppendTurn(ctx, id, Turn{}); return err }, "at least one message"},
		{"unknown role", func() error {
			_, err := s.AppendTurn(ctx, id, Turn{Messages: []llm.Message{{Role: "robot", Content: "x"}}})
			return err
		}, `unknown role "robot"`},
		{"finish a missing thread", func() error { return s.Finish(ctx, "nope", Outcome{Status: StatusDone}) }, "no such thread"},
		{"unknown status", func() error { return s.Finish(ctx, id, Outcome{Status: "exploded"}) }, `unknown status "exploded"`},
		{"get a missing thread", func() error { _, err := s.Get(ctx, "nope"); return err }, "no such thread"},
		{"delete a missing thread", func() error { return s.Delete(ctx, "nope") }, "no such thread"},
		{"export in an unknown format", func() error { return s.Export(ctx, new(strings.Builder), id, "pdf") }, "unknown export format"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.run()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one mentioning %q", err, tt.want)
			}
		})
	}
	if got, err := s.Get(ctx, id); err != nil || got.TurnCount != 1 || got.Status != StatusRunning {
		t.Errorf("the thread changed: %+v, %v", got, err)
	}
}

func TestListFilters(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	a1 := newThread(t, s, Meta{Workspace: "/a", Title: "a1"}, userTurn("x"))
	a2 := newThread(t, s, Meta{Workspace: "/a", Title: "a2"}, userTurn("x"))
	b1 := newThread(t, s, Meta{Workspace: "/b", Title: "b1"}, userTurn("x"), assistant("y"))
	if err := s.Finish(ctx, a2, Outcome{Status: StatusFailed, Error: "server down"}); err != nil {
		t.Fatal(err)
	}
	// Pin the update times: a1 oldest, b1 newest.
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i, id := range []string{a1, a2, b1} {
		if _, err := s.db.Exec(`UPDATE threads SET updated = ? WHERE id = ?`, base.Add(time.Duration(i)*time.Hour).UnixMilli(), id); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name string
		f    Filter
		want []string
	}{
		{"all, newest first", Filter{}, []string{b1, a2, a1}},
		{"workspace", Filter{Workspace: "/a"}, []string{a2, a1}},
		{"status", Filter{Status: StatusFailed}, []string{a2}},
		{"since", Filter{Since: base.Add(time.Hour)}, []string{b1, a2}},
		{"limit", Filter{Limit: 1}, []string{b1}},
		{"all filters", Filter{Workspace: "/a", Status: StatusRunning, Since: base}, []string{a1}},
		{"nothing", Filter{Workspace: "/c"}, nil},
		{"workspaces", Filter{Workspaces: []string{"/b", "/c"}}, []string{b1}},
		{"workspaces and workspace", Filter{Workspaces: []string{"/b"}, Workspace: "/a"}, nil},
		{"no workspaces at all", Filter{Workspaces: []string{}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.List(ctx, tt.f)
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, th := range got {
				ids = append(ids, th.ID)
				if th.Turns != nil {
					t.Errorf("List filled the turns of %s", th.ID)
				}
			}
			if !reflect.DeepEqual(ids, tt.want) {
				t.Errorf("ids = %v, want %v", ids, tt.want)
			}
		})
	}
	got, _ := s.List(ctx, Filter{Workspace: "/b"})
	if len(got) != 1 || got[0].TurnCount != 2 || got[0].Usage.PromptTokens != 10 || got[0].Title != "b1" {
		t.Errorf("b1 listed as %+v", got)
	}
}

// TestResolveIn: a thread outside the workspaces given is not found, and
// does not make a prefix ambiguous.
func TestResolveIn(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	a := newThread(t, s, Meta{Workspace: "/a", Title: "a"}, userTurn("x"))
	b := newThread(t, s, Meta{Workspace: "/b", Title: "b"}, userTurn("x"))
	for _, tt := range []struct {
		prefix     string
		workspaces []string
		want       string
	}{
		{a, []string{"/a"}, a},
		{b, []string{"/a"}, ""},
		{b, []string{"/a", "/b"}, b},
		{b, nil, ""},
	} {
		got, err := s.ResolveIn(ctx, tt.prefix, tt.workspaces)
		if got != tt.want || (tt.want == "") != errors.Is(err, ErrNotFound) {
			t.Errorf("ResolveIn(%q, %q) = %q, %v; want %q", tt.prefix, tt.workspaces, got, err, tt.want)
		}
	}
	// The prefix both IDs share is ambiguous in the whole store, not among
	// the threads of /b.
	shared := commonPrefix(t, a, b)
	if _, err := s.Resolve(ctx, shared); err == nil || !strings.Contains(err.Error(), "ambiguous") {
		t.Fatalf("Resolve(%q) = %v, want ambiguous: the test proves nothing", shared, err)
	}
	if got, err := s.ResolveIn(ctx, shared, []string{"/b"}); got != b || err != nil {
		t.Errorf("ResolveIn(%q, [/b]) = %q, %v; want %q: the thread of /a made it ambiguous", shared, got, err, b)
	}
}

// commonPrefix returns the start two IDs share. IDs made a moment apart
// share at least their leading time characters; how many more depends on
// the clock and the random part, so tests derive their prefixes from it.
func commonPrefix(t *testing.T, a, b string) string {
	t.Helper()
	n := 0
	for n < len(a) && n < len(b) && a[n] == b[n] {
		n++
	}
	if n == 0 || n == len(a) {
		t.Fatalf("IDs %s and %s: want distinct IDs with a common start", a, b)
	}
	return a[:n]
}

func TestResolveAndDelete(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	id := newThread(t, s, Meta{Title: "first thread about widgets"}, userTurn("widgets"), toolTurn("", "c1", "grep", `{}`, "widgets found"))
	other := newThread(t, s, Meta{Title: "second"}, userTurn("gadgets"))
	// The prefixes come from the IDs made: the random part may repeat.
	shared := commonPrefix(t, id, other)
	unique := id[:len(shared)+1]
	for _, tt := range []struct {
		prefix, want, wantErr string
	}{
		{id, id, ""},
		{strings.ToUpper(id), id, ""},
		{unique, id, ""},
		{strings.ToUpper(unique), id, ""},
		{shared, "", "ambiguous"},
		{"zzzzzzzzzz", "", "no such thread"},
		{"", "", "no such thread"},
		{"%", "", "no such thread"},
		{"0' OR 1=1 --", "", "no such thread"},
	} {
		got, err := s.Resolve(ctx, tt.prefix)
		if got != tt.want || (tt.wantErr == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.wantErr)) {
			t.Errorf("Resolve(%q) = %q, %v; want %q, error %q", tt.prefix, got, err, tt.want, tt.wantErr)
		}
	}
	if err := s.Delete(ctx, id); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, id); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get after Delete: %v", err)
	}
	hits, err := s.Search(ctx, "widgets", Filter{})
	if err != nil || len(hits) != 0 {
		t.Errorf("search after Delete: %v, %v", hits, err)
	}
	// Only the other thread's title and message rows are left in the index.
	var rows, messages int
	s.db.QueryRow(`SELECT count(*) FROM search`).Scan(&rows)
	s.db.QueryRow(`SELECT count(*) FROM messages`).Scan(&messages)
	if rows != 2 || messages != 1 {
		t.Errorf("%d index rows and %d messages left, want 2 and 1", rows, messages)
	}
	if got, err := s.Get(ctx, other); err != nil || got.TurnCount != 1 {
		t.Errorf("the other thread: %+v, %v", got, err)
	}
}

func TestTitleFrom(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"Fix the bug", "Fix the bug"},
		{"\n\n  Fix   the\tbug  \nmore text", "Fix the bug"},
		{"", "(untitled)"},
		{" \n\t\n", "(untitled)"},
		{"a\x00b\xffc", "a b\uFFFDc"},
		{strings.Repeat("é", 100), strings.Repeat("é", 79) + "…"},
	} {
		if got := TitleFrom(tt.in); got != tt.want {
			t.Errorf("TitleFrom(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestNewIDSortsByTime(t *testing.T) {
	a := newID(time.Unix(1_700_000_000, 0))
	b := newID(time.Unix(1_700_000_001, 0))
	c := newID(time.Unix(4_000_000_000, 0))
	if len(a) != 10 || !(a < b && b < c) {
		t.Errorf("IDs %s %s %s: want 10 characters, in time order", a, b, c)
	}
	if strings.Trim(a+b+c, idAlphabet) != "" {
		t.Errorf("IDs use characters outside the alphabet: %s %s %s", a, b, c)
	}
}

// TestShortIDs: each ID's shortest prefix that starts no other thread of
// the store, at least MinShortID long, resolves to it; an ambiguous prefix
// names its candidates.
func TestShortIDs(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	ids := []string{"1111111100", "1111111101", "1111111200", "1111122222", "1111133333", "1111144444", "2222222222"}
	for i, id := range ids {
		// IDs chosen for their shared starts, in place of the clock's.
		old := newThread(t, s, Meta{Workspace: fmt.Sprintf("/w%d", i%2), Title: id})
		if _, err := s.db.ExecContext(ctx, `UPDATE threads SET id = ? WHERE id = ?`, id, old); err != nil {
			t.Fatal(err)
		}
	}
	want := map[string]string{
		"1111111100": "1111111100", // its neighbour shares 9 characters
		"1111111101": "1111111101",
		"1111111200": "11111112",
		"1111122222": "11111222",
		"1111133333": "11111333",
		"1111144444": "11111444",
		"2222222222": "22222222", // no neighbour shares anything: MinShortID
	}
	got, err := s.ShortIDs(ctx, ids)
	if err != nil {
		t.Fatal(err)
	}
	for id, short := range want {
		if got[id] != short {
			t.Errorf("ShortIDs[%s] = %q, want %q", id, got[id], short)
		}
		if r, err := s.Resolve(ctx, got[id]); r != id || err != nil {
			t.Errorf("Resolve(%q) = %q, %v; want %s", got[id], r, err, id)
		}
	}
	for _, tt := range []struct{ prefix, want string }{
		{"1111111", `"1111111" is ambiguous: it starts 1111111100, 1111111101, 1111111200; type more of the ID`},
		{"1", `"1" is ambiguous: it starts 1111111100, 1111111101, 1111111200, 1111122222, 1111133333 and more; type more of the ID`},
	} {
		_, err := s.Resolve(ctx, tt.prefix)
		if !errors.Is(err, ErrAmbiguous) || err.Error() != tt.want {
			t.Errorf("Resolve(%q) = %v\nwant %s", tt.prefix, err, tt.want)
		}
	}
}
