package codeindex

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestQuickMapWhileTheIndexIsBuilt: a run that cannot wait gets the map of
// the focus and its neighbourhood at once; the whole index is built in the
// background, written to the disk cache by the time Wait returns with the
// map the run wanted, and answers the next map in full.
func TestQuickMapWhileTheIndexIsBuilt(t *testing.T) {
	files := map[string]string{
		"focus/a.go": "package focus\n\nfunc Alpha() { NearbyHelper() }\n",
		"focus/b.go": "package focus\n\nfunc NearbyHelper() {}\n",
		"root.go":    "package root\n\nfunc RootThing() {}\n",
	}
	for i := range 5 {
		files[fmt.Sprintf("deep/x/y/far%d.go", i)] = fmt.Sprintf("package y\n\nfunc FarAway%d() {}\n", i)
	}
	s, ws := tree(t, files)
	s.quickFiles = 3
	release := make(chan struct{})
	s.beforeBuild = func(context.Context) { <-release }
	ctx := context.Background()
	cs := ws.NewChangeset()

	m, complete, err := s.QuickRepoMap(ctx, cs, []string{"focus/a.go"}, 1024)
	if err != nil || complete {
		t.Fatalf("quick map: complete %v, err %v", complete, err)
	}
	for _, want := range []string{"focus/a.go", "focus/b.go", "NearbyHelper", "root.go"} {
		if !strings.Contains(m, want) {
			t.Errorf("quick map lacks %s:\n%s", want, m)
		}
	}
	if strings.Contains(m, "FarAway") {
		t.Errorf("quick map went beyond the neighbourhood:\n%s", m)
	}
	if s.Ready() {
		t.Fatal("the whole index was ready while its build was held")
	}

	close(release)
	if err := Wait(ctx); err != nil {
		t.Fatal(err)
	}
	if caches, _ := filepath.Glob(filepath.Join(s.opts.CacheDir, "*.idx")); len(caches) != 1 {
		t.Fatalf("no disk cache after Wait: %v", caches)
	}
	// The map the quick run settled without was rendered and kept for the
	// next run.
	if maps, _ := filepath.Glob(filepath.Join(s.opts.CacheDir, "*.maps")); len(maps) != 1 {
		t.Fatalf("no kept map after Wait: %v", maps)
	}
	full, complete, err := s.QuickRepoMap(ctx, cs, []string{"focus/a.go"}, 1024)
	if err != nil || !complete {
		t.Fatalf("after the build: complete %v, err %v", complete, err)
	}
	if want, _ := s.RepoMap(ctx, cs, []string{"focus/a.go"}, 1024); full != want || !strings.Contains(full, "FarAway") {
		t.Fatalf("map after the build:\n%s\nwant:\n%s", full, want)
	}

	// The next process finds the disk cache: it waits for the load (held
	// here a moment) rather than settle for the neighbourhood.
	next := New(ws, s.opts)
	next.quickFiles = 3
	next.beforeBuild = func(context.Context) { time.Sleep(20 * time.Millisecond) }
	again, complete, err := next.QuickRepoMap(ctx, cs, []string{"focus/a.go"}, 1024)
	if err != nil || !complete || again != full {
		t.Fatalf("next process: complete %v, err %v, map:\n%s", complete, err, again)
	}
}

// TestWaitStopsTheBuild: a Wait whose context ends (Ctrl+C at exit) stops
// the background build instead of hanging on it.
func TestWaitStopsTheBuild(t *testing.T) {
	s, _ := tree(t, map[string]string{"a.go": "package a\n\nfunc A() {}\n"})
	s.beforeBuild = func(ctx context.Context) { <-ctx.Done() }
	done := s.Prepare()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	if err := Wait(ctx); err == nil {
		t.Fatal("Wait returned nil though its context ended first")
	}
	select {
	case <-done:
	case <-time.After(time.Minute): // a hang guard
		t.Fatal("the build did not stop")
	}
	if s.Ready() {
		t.Fatal("a stopped build left an index")
	}
}

// TestWarmServesTheFirstMap: a run starts loading a warm index first thing
// (Warm); its first quick map is that index's, complete and without a
// second stat of every file, and a later one checks the disk as always.
// Without a disk cache, or with the index in memory, Warm does nothing.
func TestWarmServesTheFirstMap(t *testing.T) {
	s, ws := tree(t, map[string]string{
		"a.go": "package a\n\nfunc Alpha() { Beta() }\n",
		"b.go": "package a\n\nfunc Beta() {}\n",
	})
	ctx := context.Background()
	cs := ws.NewChangeset()
	s.Warm() // no disk cache yet: a cold build is QuickRepoMap's to plan
	if s.building != nil || s.Ready() {
		t.Fatal("Warm started a build without a disk cache")
	}
	want, err := s.RepoMap(ctx, cs, nil, 1024)
	if err != nil {
		t.Fatal(err)
	}
	checks := s.Stats().Checks
	s.Warm() // the index is in memory
	if s.building != nil || s.Stats().Checks != checks {
		t.Fatal("Warm rebuilt an index already in memory")
	}

	next := New(ws, s.opts) // the next process
	next.Warm()
	<-next.Prepare() // the warm load is under way; this waits for it
	m, complete, err := next.QuickRepoMap(ctx, cs, nil, 1024)
	if err != nil || !complete || m != want {
		t.Fatalf("first map after Warm: complete %v, err %v:\n%s\nwant:\n%s", complete, err, m, want)
	}
	if c := next.Stats().Checks; c != 1 {
		t.Errorf("the first map after Warm made %d checks of the disk, want the warm load's alone", c)
	}
	if _, _, err := next.QuickRepoMap(ctx, cs, nil, 1024); err != nil {
		t.Fatal(err)
	}
	if c := next.Stats().Checks; c != 2 {
		t.Errorf("a later map made %d checks in all, want 2: the warm load is current for the first map only", c)
	}
}
