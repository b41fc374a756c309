package codeindex

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/loom-agent/loom/workspace"
)

// TestWarmStartWalksNothing: a new process on an unchanged tree builds
// from the walk an earlier one kept, walking nothing; a folder that gained
// a file or an ignore file edited in place makes it walk again.
func TestWarmStartWalksNothing(t *testing.T) {
	s, ws := tree(t, map[string]string{
		".gitignore": "",
		"a.go":       "package a\n\nfunc Alpha() {}\n",
		"sub/b.go":   "package sub\n\nfunc Beta() {}\n",
	})
	cs := ws.NewChangeset()
	ctx := context.Background()
	if _, err := s.Index(ctx); err != nil {
		t.Fatal(err)
	}
	next := func(want map[string]bool, walks int) {
		t.Helper()
		n := New(ws, s.opts)
		for name, ok := range want {
			if found(t, n, cs, name) != ok {
				t.Errorf("%s found: %v, want %v", name, !ok, ok)
			}
		}
		if st := n.Stats(); st.Walks != walks {
			t.Errorf("walks: %d, want %d", st.Walks, walks)
		}
	}
	next(map[string]bool{"Alpha": true, "Beta": true}, 0)

	later := time.Now().Add(time.Hour)
	write(t, ws.Root(), "sub/c.go", "package sub\n\nfunc Gamma() {}\n")
	os.Chtimes(filepath.Join(ws.Root(), "sub"), later, later)
	next(map[string]bool{"Gamma": true, "Beta": true}, 1)
	next(map[string]bool{"Gamma": true}, 0)

	// In place: the root folder's time does not move, the file's does.
	f, err := os.OpenFile(filepath.Join(ws.Root(), ".gitignore"), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("sub/b.go\n")
	f.Close()
	later = later.Add(time.Hour)
	os.Chtimes(filepath.Join(ws.Root(), ".gitignore"), later, later)
	next(map[string]bool{"Beta": false, "Alpha": true}, 1)

	// An ignore file where there was none: its folder gained an entry.
	write(t, ws.Root(), "sub/.gitignore", "c.go\n")
	next(map[string]bool{"Gamma": false, "Alpha": true}, 1)
	next(map[string]bool{"Gamma": false}, 0)

	// A damaged kept walk is ignored: the tree is walked.
	walks, _ := filepath.Glob(filepath.Join(s.opts.CacheDir, "*.walk"))
	if len(walks) != 1 {
		t.Fatalf("kept walks: %v", walks)
	}
	if err := os.WriteFile(walks[0], []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	next(map[string]bool{"Alpha": true, "Beta": false}, 1)
}

// TestStampsChangedAcrossWorkers: with enough folders for every core to
// take a share, a move in any folder is found, whichever share holds it.
func TestStampsChangedAcrossWorkers(t *testing.T) {
	root := t.TempDir()
	stamps := map[string]int64{}
	var rels []string
	for i := range 1200 {
		rel := fmt.Sprintf("d%02d/%d", i%26, i)
		if err := os.MkdirAll(filepath.Join(root, rel), 0o755); err != nil {
			t.Fatal(err)
		}
		rels = append(rels, rel)
	}
	ws, err := workspace.New(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, rel := range rels {
		stamps[rel] = stamp(ws, rel)
	}
	if stampsChanged(ws, stamps) {
		t.Fatal("an unchanged tree reads as moved")
	}
	for _, rel := range []string{rels[0], rels[1], rels[599], rels[1198], rels[1199]} {
		was := stamps[rel]
		stamps[rel] = was - 1
		if !stampsChanged(ws, stamps) {
			t.Errorf("a move in %s went unseen", rel)
		}
		stamps[rel] = was
	}
}
