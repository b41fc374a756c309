package resolve

import (
	"context"
	"os"
	"strconv"
	"strings"
	"testing"
)

// go test ./resolve -run TestProbe -v with PROBE=file:line:col (1-based, bytes).
func TestProbe(t *testing.T) {
	for _, spec := range strings.Fields(os.Getenv("PROBE")) {
		parts := strings.Split(spec, ":")
		line, _ := strconv.Atoi(parts[1])
		col, _ := strconv.Atoi(parts[2])
		src, _ := os.ReadFile(parts[0])
		off := 0
		for i := 1; i < line; i++ {
			off += strings.IndexByte(string(src[off:]), '\n') + 1
		}
		off += col - 1
		fsys := NewRootsFS(os.Getenv("PROBEROOT"))
		r := New(fsys, Config{})
		got, err := r.Definition(context.Background(), parts[0], src, off)
		for _, g := range got {
			t.Logf("%s -> %s@%d %q", spec, g.Path, g.Start, g.Source[g.Start:g.End])
		}
		if len(got) == 0 {
			t.Logf("%s -> nothing %v", spec, err)
		}
		r.Close()
	}
}
