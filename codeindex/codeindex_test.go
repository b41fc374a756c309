package codeindex

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/loom-agent/loom/analysis"
	"github.com/loom-agent/loom/workspace"
)

// tree writes files into a fresh root and opens a service of its own on it.
func tree(t *testing.T, files map[string]string) (*Service, *workspace.Workspace) {
	t.Helper()
	dir := t.TempDir()
	for name, data := range files {
		write(t, dir, name, data)
	}
	ws, err := workspace.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	return New(ws, analysis.Options{CacheDir: t.TempDir()}), ws
}

func write(t *testing.T, root, name, data string) {
	t.Helper()
	p := filepath.Join(root, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

// found reports whether the index defines name, as cs sees the workspace.
func found(t *testing.T, s *Service, cs *workspace.Changeset, name string) bool {
	t.Helper()
	defs, err := s.Definitions(context.Background(), cs, name, analysis.MatchExact, 10)
	if err != nil {
		t.Fatal(err)
	}
	return len(defs) > 0
}

// TestBuiltOnceForManyQueries: the first query builds; the next ones only
// check, walking nothing and reading nothing again.
func TestBuiltOnceForManyQueries(t *testing.T) {
	s, ws := tree(t, map[string]string{"a.go": "package a\n\nfunc Alpha() {}\n", "sub/b.go": "package sub\n\nfunc Beta() {}\n"})
	cs := ws.NewChangeset()
	for range 20 {
		if !found(t, s, cs, "Alpha") || !found(t, s, cs, "Beta") {
			t.Fatal("Alpha or Beta not found")
		}
	}
	if st := s.Stats(); st.Walks != 1 || st.Updates != 0 || st.Checks != 40 {
		t.Fatalf("stats %+v: want 1 walk, no update, 40 checks", st)
	}
}

// TestRefreshedAfterDiskChanges: a change made behind the service's back is
// seen at the next query: an edit or a removal re-reads that file only; a
// new file (its folder's time moved) brings a walk, which honours
// .gitignore.
func TestRefreshedAfterDiskChanges(t *testing.T) {
	tests := []struct {
		name            string
		change          func(t *testing.T, root string)
		present, absent string
		walks, updates  int
	}{
		{"edited", func(t *testing.T, root string) {
			write(t, root, "a.go", "package a\n\nfunc AlphaRenamed() {}\n")
		}, "AlphaRenamed", "Alpha", 1, 1},
		{"removed", func(t *testing.T, root string) {
			if err := os.Remove(filepath.Join(root, "sub", "b.go")); err != nil {
				t.Fatal(err)
			}
		}, "Alpha", "Beta", 2, 0},
		{"created", func(t *testing.T, root string) {
			write(t, root, "sub/c.go", "package sub\n\nfunc Gamma() {}\n")
		}, "Gamma", "Nothing", 2, 0},
		{"created but ignored", func(t *testing.T, root string) {
			write(t, root, ".gitignore", "gen/\n")
			write(t, root, "gen/d.go", "package gen\n\nfunc Delta() {}\n")
		}, "Alpha", "Delta", 2, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, ws := tree(t, map[string]string{"a.go": "package a\n\nfunc Alpha() {}\n", "sub/b.go": "package sub\n\nfunc Beta() {}\n"})
			cs := ws.NewChangeset()
			if !found(t, s, cs, "Alpha") {
				t.Fatal("Alpha not found")
			}
			tc.change(t, ws.Root())
			if !found(t, s, cs, tc.present) || found(t, s, cs, tc.absent) {
				t.Errorf("after the change: %s found %v, %s found %v", tc.present, found(t, s, cs, tc.present), tc.absent, found(t, s, cs, tc.absent))
			}
			if st := s.Stats(); st.Walks != tc.walks || st.Updates != tc.updates {
				t.Errorf("stats %+v: want %d walks, %d updates", st, tc.walks, tc.updates)
			}
		})
	}
}

// TestInvalidateRereadsWhatStatMisses: a file rewritten with the same size
// and time (a save within one tick of the clock) passes the stat check;
// Invalidate, which an editor's save notification calls, reads it again.
func TestInvalidateRereadsWhatStatMisses(t *testing.T) {
	s, ws := tree(t, map[string]string{"a.go": "package a\n\nfunc Alpha() {}\n"})
	cs := ws.NewChangeset()
	if !found(t, s, cs, "Alpha") {
		t.Fatal("Alpha not found")
	}
	p := filepath.Join(ws.Root(), "a.go")
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	write(t, ws.Root(), "a.go", "package a\n\nfunc Omega() {}\n")
	if err := os.Chtimes(p, fi.ModTime(), fi.ModTime()); err != nil {
		t.Fatal(err)
	}
	if found(t, s, cs, "Omega") {
		t.Fatal("the stat check saw a change with the same size and time; the test proves nothing")
	}
	s.Invalidate("a.go", "../outside.go", "/etc/passwd")
	if !found(t, s, cs, "Omega") || found(t, s, cs, "Alpha") {
		t.Fatal("Invalidate did not make the index read a.go again")
	}
	if st := s.Stats(); st.Walks != 1 || st.Updates != 1 {
		t.Fatalf("stats %+v: want 1 walk, 1 update", st)
	}
}

// TestConcurrentQueriesShareOneBuild: queries arriving together wait for
// the one build and get the same index (run with -race).
func TestConcurrentQueriesShareOneBuild(t *testing.T) {
	s, ws := tree(t, map[string]string{"a.go": "package a\n\nfunc Alpha() {}\n", "b.go": "package a\n\nfunc Beta() { Alpha() }\n"})
	const n = 16
	got := make([]*analysis.Index, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			ix, err := s.Index(context.Background())
			if err != nil {
				t.Error(err)
				return
			}
			got[i] = ix
			ix.Definitions("Alpha", analysis.MatchExact, 0)
			if _, err := s.References(context.Background(), ws.NewChangeset(), "Alpha"); err != nil {
				t.Error(err)
			}
		})
	}
	close(start)
	wg.Wait()
	for i := range got {
		if got[i] != got[0] {
			t.Fatalf("query %d got another index", i)
		}
	}
	if st := s.Stats(); st.Walks != 1 || st.Updates != 0 {
		t.Fatalf("stats %+v: want one build", st)
	}
}

// TestWaitEndsWithContext: a query waiting for a build in flight gives up
// when its context ends; the build goes on for the others.
func TestWaitEndsWithContext(t *testing.T) {
	s, _ := tree(t, map[string]string{"a.go": "package a\n"})
	s.sem <- struct{}{} // a build in flight
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := s.Index(ctx); err != context.DeadlineExceeded {
		t.Fatalf("Index while a build holds the service = %v, want the deadline", err)
	}
	<-s.sem
	if _, err := s.Index(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// TestOverlayAndApply: staged edits and editor buffers answer for their
// files; once applied, the disk does, seen by the next query.
func TestOverlayAndApply(t *testing.T) {
	s, ws := tree(t, map[string]string{"a.go": "package a\n\nfunc Alpha() {}\n", "b.go": "package a\n\nfunc Beta() {}\n"})
	cs := ws.NewChangeset()
	if _, err := cs.WriteFile("a.go", []byte("package a\n\nfunc Staged() { Beta() }\n")); err != nil {
		t.Fatal(err)
	}
	if err := ws.SetBufferText("b.go", "package a\n\nfunc Buffered() {}\n"); err != nil {
		t.Fatal(err)
	}
	if !found(t, s, cs, "Staged") || found(t, s, cs, "Alpha") || !found(t, s, cs, "Buffered") || found(t, s, cs, "Beta") {
		t.Fatal("the overlay does not answer for a.go and b.go")
	}
	refs, err := s.References(context.Background(), cs, "Beta")
	if err != nil || len(refs) != 1 || refs[0].Path != "a.go" {
		t.Fatalf("references to Beta through the overlay: %v, %v", refs, err)
	}
	if found(t, s, ws.NewChangeset(), "Staged") {
		t.Fatal("another changeset sees this one's edit")
	}
	if err := ws.ClearBuffer("b.go"); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.Apply(); err != nil {
		t.Fatal(err)
	}
	if other := ws.NewChangeset(); !found(t, s, other, "Staged") || found(t, s, other, "Alpha") {
		t.Fatal("the applied edit is not in the index")
	}
}

// TestOnePerRoot: workspaces opened on one folder share its service; the
// registry keeps the most recently used roots only.
func TestOnePerRoot(t *testing.T) {
	open := func(dir string) *workspace.Workspace {
		ws, err := workspace.New(dir)
		if err != nil {
			t.Fatal(err)
		}
		return ws
	}
	dir := t.TempDir()
	first := For(open(dir))
	if For(open(dir)) != first {
		t.Fatal("two workspaces on one folder got two services")
	}
	for range maxServices - 1 {
		For(open(t.TempDir()))
	}
	if For(open(dir)) != first {
		t.Fatal("a root was dropped before the registry was full")
	}
	For(open(t.TempDir())) // drops the least recently used, not dir
	if For(open(dir)) != first {
		t.Fatal("the most recently used root was dropped")
	}
	for range maxServices {
		For(open(t.TempDir()))
	}
	if For(open(dir)) == first {
		t.Fatal("the registry kept more than maxServices roots")
	}
}
