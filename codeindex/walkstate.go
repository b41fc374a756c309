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
// and of their ignore files), and a new process builds from that list,
// stating the folders meanwhile: the index stats each file, as always,
// and if a stamp moved the walk is made after all, the index just built
// serving as the cache for the new list.

// maxWalkState bounds what is read back (Go's tree's is a few hundred KB).
const maxWalkState = 64 << 20

type walkState struct {
	Stamps map[string]int64 // folder or ignore file → modification time; 0: absent
	Files  []string
}

// walkFile is walkState as it is kept: paths joined by NUL (which no path
// holds) decode as one string, where gob takes one allocation and a
// reflective step per string of a list (6 of a warm start's 90 ms on Go's
// tree, against under 1).
type walkFile struct {
	Names string // the stamps' paths
	Times []int64
	List  string // the files
}

func (st walkState) file() walkFile {
	var w walkFile
	names := make([]string, 0, len(st.Stamps))
	for name, t := range st.Stamps {
		names = append(names, name)
		w.Times = append(w.Times, t)
	}
	w.Names = strings.Join(names, "\x00")
	w.List = strings.Join(st.Files, "\x00")
	return w
}

// state is the walk w keeps, or false when w is damaged.
func (w walkFile) state() (walkState, bool) {
	if w.Names == "" {
		return walkState{}, false
	}
	names := strings.Split(w.Names, "\x00")
	if len(names) != len(w.Times) {
		return walkState{}, false
	}
	st := walkState{Stamps: make(map[string]int64, len(names))}
	if w.List != "" {
		st.Files = strings.Split(w.List, "\x00")
	}
	for i, name := range names {
		st.Stamps[name] = w.Times[i]
	}
	return st, true
}

func (s *Service) walkStatePath() string {
	p := analysis.CachePath(s.ws.Root(), s.opts)
	if p == "" {
		return ""
	}
	return strings.TrimSuffix(p, ".idx") + ".walk"
}

// loadWalk returns the walk kept by an earlier process, or nil when there
// is none or it is damaged. Whether the disk moved since is the caller's
// check (stampsChanged), made while the index loads.
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
	var w walkFile
	if err := gob.NewDecoder(f).Decode(&w); err != nil {
		return nil
	}
	st, ok := w.state()
	if !ok {
		return nil
	}
	for _, rel := range st.Files {
		if !filepath.IsLocal(rel) {
			return nil
		}
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
	if err := gob.NewEncoder(&buf).Encode(st.file()); err != nil {
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
