package tui

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sync"

	"github.com/loom-agent/loom/workspace"
)

// An apply is a checkpoint: what it wrote, kept so that /undo can put the
// files back. A checkpoint is the inverse of the applied changes, each
// with the applied content as its base, so undoing goes through the
// changeset's own apply: all or nothing, and refused when a file changed
// on disk since.
//
// Checkpoints live beside the thread database, one file per thread
// (checkpoints/THREAD.json, 0600), so /undo works after a restart and
// /resume; a session without a thread keeps its last one in memory.
type checkpoints struct {
	dir string // "" keeps nothing on disk
}

// maxCheckpoint bounds a checkpoint file read back, in bytes.
const maxCheckpoint = 256 << 20

// threadIDPattern is what a thread ID looks like, so that no ID names a
// file outside the folder.
var threadIDPattern = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`) })

// inverse is what undoes applied: each change turned around, its base the
// content the apply wrote.
func inverse(applied []workspace.FileChange) []workspace.FileChange {
	out := make([]workspace.FileChange, 0, len(applied))
	for _, ch := range applied {
		inv := workspace.FileChange{Path: ch.NewPath, NewPath: ch.Path, Old: ch.New, New: ch.Old, Mode: ch.Mode,
			BaseHash: workspace.Hash(ch.New)}
		switch ch.Kind {
		case workspace.Create:
			inv.Kind = workspace.Delete
		case workspace.Delete:
			inv.Kind, inv.BaseHash = workspace.Create, ""
		case workspace.Modify:
			inv.Kind = workspace.Modify
		case workspace.Rename:
			inv.Kind = workspace.Rename
		default:
			continue
		}
		out = append(out, inv)
	}
	return out
}

func (c checkpoints) path(thread string) (string, bool) {
	if c.dir == "" || !threadIDPattern().MatchString(thread) {
		return "", false
	}
	return filepath.Join(c.dir, thread+".json"), true
}

// save keeps undo as thread's last checkpoint, replacing the one before.
func (c checkpoints) save(thread string, undo []workspace.FileChange) error {
	p, ok := c.path(thread)
	if !ok {
		return nil
	}
	if err := os.MkdirAll(c.dir, 0o700); err != nil {
		return fmt.Errorf("saving the checkpoint: %w", err)
	}
	b, err := json.Marshal(undo)
	if err != nil {
		return fmt.Errorf("saving the checkpoint: %w", err)
	}
	tmp, err := os.CreateTemp(c.dir, ".checkpoint-*")
	if err != nil {
		return fmt.Errorf("saving the checkpoint: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return fmt.Errorf("saving the checkpoint: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("saving the checkpoint: %w", err)
	}
	if err := os.Rename(tmp.Name(), p); err != nil {
		return fmt.Errorf("saving the checkpoint: %w", err)
	}
	return nil
}

// load is thread's last checkpoint; none is nil.
func (c checkpoints) load(thread string) ([]workspace.FileChange, error) {
	p, ok := c.path(thread)
	if !ok {
		return nil, nil
	}
	f, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading the checkpoint: %w", err)
	}
	defer f.Close()
	if st, err := f.Stat(); err != nil || st.Size() > maxCheckpoint {
		return nil, fmt.Errorf("reading the checkpoint %s: missing or over %d bytes", p, maxCheckpoint)
	}
	var undo []workspace.FileChange
	if err := json.NewDecoder(f).Decode(&undo); err != nil {
		return nil, fmt.Errorf("reading the checkpoint %s: %w", p, err)
	}
	return undo, nil
}

// drop forgets thread's checkpoint once it is undone.
func (c checkpoints) drop(thread string) {
	if p, ok := c.path(thread); ok {
		os.Remove(p)
	}
}
