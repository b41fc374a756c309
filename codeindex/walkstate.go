package codeindex

import (
	"bytes"
	"encoding/gob"
	"os"
	"path/filepath"
	"strings"

	"github.com/loom-agent/loom/analysis"
)

// A warm start must not walk the tree: listing Go's source tree's 1,300
// folders and matching their .gitignore files is four fifths of loading its
// index from the disk cache. So the walk's result is kept beside the cache
// (the files it found, and the modification times of the folders it listed
// and of their ignore files), and a new process whose stamps all hold
// builds from that list: the index then stats each file, as always.

// maxWalkState bounds what is read back (Go's tree's is a few hundred KB).
const maxWalkState = 64 << 20

type walkState struct {
	Stamps map[string]int64 // folder or ignore file → modification time; 0: absent
	Files  []string
}

func (s *Service) walkStatePath() string {
	p := analysis.CachePath(s.ws.Root(), s.opts)
	if p == "" {
		return ""
	}
	return strings.TrimSuffix(p, ".idx") + ".walk"
}

// loadWalk returns the walk kept by an earlier process, or nil when there
// is none, it is damaged, or the disk moved since (stampsChanged).
func (s *Service) loadWalk() *walkState {
	path := s.walkStatePath()
	if path == "" {
		return nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() || fi.Size() > maxWalkState {
		return nil
	}
	var st walkState
	if err := gob.NewDecoder(f).Decode(&st); err != nil || len(st.Stamps) == 0 {
		return nil
	}
	for _, rel := range st.Files {
		if !filepath.IsLocal(rel) {
			return nil
		}
	}
	if stampsChanged(s.ws.Root(), st.Stamps) {
		return nil
	}
	return &st
}

// saveWalk keeps a walk for the next process; failing is harmless (it
// walks).
func (s *Service) saveWalk(st walkState) {
	path := s.walkStatePath()
	if path == "" {
		return
	}
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(st); err != nil {
		return
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".walk-*")
	if err != nil {
		return
	}
	_, werr := tmp.Write(buf.Bytes())
	if cerr := tmp.Close(); werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Rename(tmp.Name(), path)
	}
	if werr != nil {
		os.Remove(tmp.Name())
	}
}
