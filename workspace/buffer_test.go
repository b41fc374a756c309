package workspace

import (
	"os"
	"path/filepath"
	"testing"
)

// TestBuffersOverlayTheDisk: reads see an open buffer, not the disk, until
// it is cleared; what a read returns is the reader's to change.
func TestBuffersOverlayTheDisk(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "a.go"), []byte("disk\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ws, err := New(dir)
	if err != nil {
		t.Fatal(err)
	}
	read := func() string {
		t.Helper()
		b, err := ws.ReadFile("a.go")
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	if err := ws.SetBufferText("a.go", "typed\n"); err != nil {
		t.Fatal(err)
	}
	if got := read(); got != "typed\n" {
		t.Fatalf("read %q, want the buffer", got)
	}
	b, _ := ws.Buffer("a.go")
	b[0] = 'X'
	if got := read(); got != "typed\n" {
		t.Fatalf("changing a read changed the buffer: %q", got)
	}
	if n, ok := ws.BufferSize("a.go"); !ok || n != len("typed\n") {
		t.Fatalf("BufferSize = %d, %v", n, ok)
	}
	if err := ws.SetBuffer("a.go", []byte("bytes\n")); err != nil {
		t.Fatal(err)
	}
	if got := read(); got != "bytes\n" {
		t.Fatalf("read %q after SetBuffer", got)
	}
	if err := ws.ClearBuffer("a.go"); err != nil {
		t.Fatal(err)
	}
	if got := read(); got != "disk\n" {
		t.Fatalf("read %q after ClearBuffer, want the disk", got)
	}
	if _, ok := ws.BufferSize("a.go"); ok {
		t.Fatal("BufferSize reports a cleared buffer")
	}
	if err := ws.SetBufferText("../outside.go", "x"); err == nil {
		t.Fatal("a buffer outside the root was accepted")
	}
}
