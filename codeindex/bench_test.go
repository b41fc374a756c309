package codeindex

import (
	"context"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/loom-agent/loom/analysis"
	"github.com/loom-agent/loom/workspace"
)

// BenchmarkRepoMapGOROOT is a run's repo map of $GOROOT/src by a process
// that starts with the disk cache present and nothing changed: what
// `loom run` does before its first model request.
func BenchmarkRepoMapGOROOT(b *testing.B) {
	ws, err := workspace.New(filepath.Join(runtime.GOROOT(), "src"))
	if err != nil {
		b.Fatal(err)
	}
	opts := analysis.Options{CacheDir: b.TempDir()}
	ctx := context.Background()
	first := New(ws, opts)
	if _, err := first.RepoMap(ctx, ws.NewChangeset(), nil, 1024); err != nil {
		b.Fatal(err)
	}

	for b.Loop() {
		s := New(ws, opts)
		if _, err := s.RepoMap(ctx, ws.NewChangeset(), nil, 1024); err != nil {
			b.Fatal(err)
		}
	}
}
