package workspace

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestMaxFileSize: a file over MaxFileSize is neither read into memory
// nor staged; one of exactly MaxFileSize is both. The files on disk are
// sparse, so the test writes no 16 MB.
func TestMaxFileSize(t *testing.T) {
	ws, dir := newWorkspace(t, nil)
	for name, size := range map[string]int64{"at.bin": MaxFileSize, "over.bin": MaxFileSize + 1} {
		f, err := os.Create(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := f.Truncate(size); err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
	cs := ws.NewChangeset()
	if b, err := cs.ReadFile("at.bin"); err != nil || len(b) != MaxFileSize {
		t.Errorf("ReadFile(at.bin): %d bytes, %v; want all %d", len(b), err, MaxFileSize)
	}
	b, err := cs.ReadFile("over.bin")
	var tl *TooLargeError
	if !errors.As(err, &tl) || tl.Size != MaxFileSize+1 || b != nil {
		t.Errorf("ReadFile(over.bin): %d bytes, err = %v; want a TooLargeError", len(b), err)
	}

	if _, err := cs.WriteFile("at.txt", make([]byte, MaxFileSize)); err != nil {
		t.Errorf("WriteFile of %d bytes: %v", MaxFileSize, err)
	}
	_, err = cs.WriteFile("over.txt", make([]byte, MaxFileSize+1))
	if err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("WriteFile of %d bytes: err = %v, want a refusal", MaxFileSize+1, err)
	}
	if _, err := cs.ReadFile("over.txt"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the refused write was staged: ReadFile err = %v", err)
	}
}
