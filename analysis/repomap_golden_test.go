package analysis

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"

	"golang.org/x/tools/txtar"
)

// goldenMaps are the maps TestRepoMapGolden pins: the agent's default (no
// focus, 1024 tokens), a focused one, and budgets either side.
var goldenMaps = []struct {
	focus  []string
	tokens int
}{
	{nil, 1024},
	{nil, 256},
	{nil, 4096},
	{[]string{"workspace/apply.go"}, 1024},
	{[]string{"codeindex/overlay.go", "workspace/walk.go"}, 1024},
}

func goldenName(focus []string, tokens int) string {
	return fmt.Sprintf("want/%s@%d", strings.Join(append([]string{"focus"}, focus...), ","), tokens)
}

// TestRepoMapGolden pins the repo map of a frozen tree (Loom's workspace and
// codeindex packages) byte for byte, however the map is computed, kept or
// cut: whatever makes it faster must not change what the model reads.
// go test -run RepoMapGolden -update rewrites testdata/repomap/golden.txtar.
func TestRepoMapGolden(t *testing.T) {
	tree, err := txtar.ParseFile("testdata/repomap/tree.txtar")
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{}
	for _, f := range tree.Files {
		files[f.Name] = string(f.Data)
	}
	root, paths := writeTree(t, files)
	ix, err := BuildIndex(context.Background(), root, paths, Options{NoCache: true})
	if err != nil {
		t.Fatal(err)
	}
	const golden = "testdata/repomap/golden.txtar"
	if *update {
		ar := &txtar.Archive{Comment: []byte("Repo maps of tree.txtar, written by go test -run RepoMapGolden -update.\n")}
		for _, g := range goldenMaps {
			ar.Files = append(ar.Files, txtar.File{Name: goldenName(g.focus, g.tokens), Data: []byte(ix.RepoMap(RepoMapOptions{Focus: g.focus, MaxTokens: g.tokens}))})
		}
		if err := os.WriteFile(golden, txtar.Format(ar), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ar, err := txtar.ParseFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{}
	for _, f := range ar.Files {
		want[f.Name] = string(f.Data)
	}
	for _, g := range goldenMaps {
		name := goldenName(g.focus, g.tokens)
		t.Run(name, func(t *testing.T) {
			w, ok := want[name]
			if !ok {
				t.Fatalf("%s has no %s", golden, name)
			}
			if got := ix.RepoMap(RepoMapOptions{Focus: g.focus, MaxTokens: g.tokens}); got != w {
				t.Errorf("map changed:\n--- got\n%s\n--- want\n%s", got, w)
			}
		})
	}
}
