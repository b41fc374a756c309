package analysis

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
)

// stopAfter is a context that reports itself cancelled after its Err has
// been asked n times: a build stopped midway, at a point a test can choose.
type stopAfter struct {
	context.Context
	n atomic.Int64
}

func (c *stopAfter) Err() error {
	if c.n.Add(-1) < 0 {
		return context.Canceled
	}
	return nil
}

// TestCancelledBuildResumes: a build stopped midway saves what it parsed,
// and the next build reuses it, parsing only the rest.
func TestCancelledBuildResumes(t *testing.T) {
	const n = 40
	files := map[string]string{}
	for i := range n {
		files[fmt.Sprintf("f%02d.go", i)] = fmt.Sprintf("package p\n\nfunc F%d() {}\n", i)
	}
	root, paths := writeTree(t, files)
	opts := Options{CacheDir: t.TempDir(), Workers: 1}
	// Stat every file, then parse about ten before stopping.
	ctx := &stopAfter{Context: context.Background()}
	ctx.n.Store(n + 2 + 10)
	if _, err := BuildIndex(ctx, root, paths, opts); !errors.Is(err, context.Canceled) {
		t.Fatalf("stopped build: err %v", err)
	}
	ix, err := BuildIndex(context.Background(), root, paths, opts)
	if err != nil {
		t.Fatal(err)
	}
	st := ix.Stats()
	if st.Reused == 0 || st.Reused == n || st.Reused+st.Parsed != n {
		t.Fatalf("resumed build: %+v", st)
	}
	if defs := ix.Definitions(fmt.Sprintf("F%d", n-1), MatchExact, 0); len(defs) != 1 {
		t.Fatalf("F%d: %v", n-1, defs)
	}
}
