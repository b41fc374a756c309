package analysis

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"strings"
	"testing"
)

// repoMapTree: util.go is used by four files; other.go only by lonely.go.
func repoMapTree(t *testing.T) *Index {
	t.Helper()
	files := map[string]string{
		"util.go":   "package p\n\n// ParseConfigFile is used everywhere.\nfunc ParseConfigFile(path string) error { return nil }\n\nfunc unusedHelper() {}\n",
		"other.go":  "package p\n\nfunc RenderOtherThing() {}\n",
		"lonely.go": "package p\n\nfunc Lonely() { RenderOtherThing() }\n",
	}
	for i := range 4 {
		files[fmt.Sprintf("user%d.go", i)] = fmt.Sprintf("package p\n\nfunc User%d() { _ = ParseConfigFile(\"x\") }\n", i)
	}
	root, paths := writeTree(t, files)
	ix, err := BuildIndex(context.Background(), root, paths, Options{NoCache: true})
	if err != nil {
		t.Fatal(err)
	}
	return ix
}

func firstFile(m string) string {
	line, _, _ := strings.Cut(m, "\n")
	return strings.TrimSuffix(line, ":")
}

func TestRepoMapRanking(t *testing.T) {
	ix := repoMapTree(t)
	tests := []struct {
		name  string
		focus []string
		first string
	}{
		{"most referenced first", nil, "util.go"},
		{"focus pulls in what it uses", []string{"lonely.go"}, "other.go"},
		{"focus on a user", []string{"user2.go"}, "util.go"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := ix.RepoMap(RepoMapOptions{Focus: tc.focus, MaxTokens: 1000})
			if got := firstFile(m); got != tc.first {
				t.Fatalf("first file %q, want %q; map:\n%s", got, tc.first, m)
			}
			if !strings.Contains(m, "│ func ParseConfigFile(path string) error") {
				t.Fatalf("map lacks the signature line:\n%s", m)
			}
		})
	}
}

func TestRepoMapRespectsBudget(t *testing.T) {
	ix := repoMapTree(t)
	full := ix.RepoMap(RepoMapOptions{MaxTokens: 100000})
	for _, budget := range []int{5, 20, 40, 80} {
		m := ix.RepoMap(RepoMapOptions{MaxTokens: budget})
		if tokens := (len(m) + 3) / 4; tokens > budget {
			t.Errorf("budget %d: %d tokens:\n%s", budget, tokens, m)
		}
		if budget >= 20 && m == "" {
			t.Errorf("budget %d: empty map", budget)
		}
		if !strings.HasPrefix(full, firstFile(m)) {
			t.Errorf("budget %d: map does not start like the full one:\n%s", budget, m)
		}
	}
	if m := ix.RepoMap(RepoMapOptions{MaxTokens: 5}); m != "" {
		t.Errorf("5 tokens cannot hold a file and a symbol, got %q", m)
	}
	for _, name := range []string{"util.go", "other.go", "lonely.go", "user0.go", "unusedHelper"} {
		if !strings.Contains(full, name) {
			t.Errorf("generous map lacks %s:\n%s", name, full)
		}
	}
}

func TestIsTestPath(t *testing.T) {
	for _, tt := range []struct {
		path string
		want bool
	}{
		{"pkg/parse_test.go", true},
		{"tests/test_lexer.py", true},
		{"src/app.test.ts", true},
		{"spec/models/user_spec.rb", true},
		{"src/main/java/FooTest.java", true},
		{"web/__tests__/App.tsx", true},
		{"pkg/parse.go", false},
		{"src/contest.py", false},
		{"src/attestation.ts", false},
		{"latest/main.go", false},
	} {
		if got := isTestPath(tt.path); got != tt.want {
			t.Errorf("isTestPath(%q) = %v, want %v", tt.path, got, tt.want)
		}
	}
}

// TestCompressEdges checks the compressed file graph against plain maps on
// random edges: repeated targets within a row merge, rows never share
// entries, and files without edges get empty rows.
func TestCompressEdges(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for round := range 50 {
		n := 1 + rng.IntN(40)
		type edge struct {
			from, to int32
			w        float64
		}
		var edges []edge
		for from := range n {
			if rng.IntN(3) == 0 {
				continue // a file without edges
			}
			for range rng.IntN(12) {
				edges = append(edges, edge{int32(from), int32(rng.IntN(n)), float64(1 + rng.IntN(5))})
			}
		}
		start, targets, weights, out := compressEdges(n, func(fn func(from, to int32, w float64)) {
			for _, e := range edges {
				fn(e.from, e.to, e.w)
			}
		})
		want := make([]map[int32]float64, n)
		wantOut := make([]float64, n)
		for _, e := range edges {
			if want[e.from] == nil {
				want[e.from] = map[int32]float64{}
			}
			want[e.from][e.to] += e.w
			wantOut[e.from] += e.w
		}
		for f := range n {
			got := map[int32]float64{}
			for e := start[f]; e < start[f+1]; e++ {
				if _, dup := got[targets[e]]; dup {
					t.Fatalf("round %d: file %d lists target %d twice", round, f, targets[e])
				}
				got[targets[e]] = weights[e]
			}
			if !maps.Equal(got, want[f]) {
				t.Fatalf("round %d: file %d has edges %v, want %v", round, f, got, want[f])
			}
			if out[f] != wantOut[f] {
				t.Fatalf("round %d: file %d has out %v, want %v", round, f, out[f], wantOut[f])
			}
		}
	}
}

// TestRepoMapIgnoresPackageNamesAndBuiltins: uses of an imported package's
// name (strings.Split) and of predeclared names (string, len) do not make a
// definition that happens to share the name (a method strings, len) look
// important.
func TestRepoMapIgnoresPackageNamesAndBuiltins(t *testing.T) {
	files := map[string]string{
		"cache.go":  "package p\n\ntype cache struct{}\n\nfunc (c *cache) strings() []string { return nil }\n\nfunc (c *cache) len() int { return 0 }\n",
		"useful.go": "package p\n\n// UsefulThing is what the others call.\nfunc UsefulThing() {}\n",
	}
	for i := range 6 {
		files[fmt.Sprintf("pkg%d.go", i)] = fmt.Sprintf("package p\n\nimport \"strings\"\n\nfunc Split%d(s string) int {\n\t_ = strings.Split(s, \",\")\n\t_ = strings.ToUpper(s)\n\treturn len(s)\n}\n", i)
	}
	for i := range 2 {
		files[fmt.Sprintf("user%d.go", i)] = fmt.Sprintf("package p\n\nfunc User%d() { UsefulThing() }\n", i)
	}
	root, paths := writeTree(t, files)
	ix, err := BuildIndex(context.Background(), root, paths, Options{NoCache: true})
	if err != nil {
		t.Fatal(err)
	}
	m := ix.RepoMap(RepoMapOptions{MaxTokens: 1000})
	if got := firstFile(m); got != "useful.go" {
		t.Fatalf("first file %q, want useful.go; map:\n%s", got, m)
	}
}
