package analysis

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// A repo map of a big repository costs the whole index's bodies decoded,
// a graph of every name and a PageRank (0.6 s on Go's source tree, most of
// a warm run's start), yet it changes only when a file does. So the maps
// an index renders are kept beside its disk cache, keyed by what they
// depend on: every entry's path, language, size and modification time (as
// the cache itself trusts them), the focus and the budget. A run that
// finds the index unchanged reads its map back without decoding a body.
//
// The file holds the most recent maxKeptMaps maps, each under the budget
// it was cut to, so it stays small; a damaged one is ignored and replaced.

const (
	mapsMagic   = "LOOMMAP\x01"
	maxKeptMaps = 16
	// maxMapsFile bounds what is read back: maxKeptMaps maps of a budget
	// far above any the agent uses.
	maxMapsFile = 8 << 20
)

type keptMap struct {
	key  [32]byte
	text string
}

// mapMemo holds an index's maps in memory and reaches the file beside its
// disk cache.
type mapMemo struct {
	once sync.Once
	sig  [32]byte
	mu   sync.Mutex
	mem  []keptMap // newest last
}

// signature sums what an index's maps depend on: the options' fingerprint
// and each entry's path, language, size, time and skip reason.
func (ix *Index) signature() [32]byte {
	ix.memo.once.Do(func() {
		h := sha256.New()
		h.Write([]byte(fingerprint(ix.root, ix.opts)))
		var b []byte
		for _, f := range ix.all {
			b = appendString(b[:0], f.Path)
			b = appendString(b, f.Language)
			b = binary.AppendUvarint(b, uint64(f.Size))
			b = binary.AppendVarint(b, f.ModTime)
			b = appendString(b, f.Skipped)
			h.Write(b)
		}
		h.Sum(ix.memo.sig[:0])
	})
	return ix.memo.sig
}

// Signature sums what the index's entries depend on (the options and each
// entry's path, language, size, time and skip reason, as the disk cache
// trusts them): what callers key state kept beside the cache with
// (CachePath). ok is false when the index has no disk cache or its entries
// are not the cache's, so such state would not be found again.
func (ix *Index) Signature() (sig [32]byte, ok bool) {
	if ix.mapsFile() == "" {
		return sig, false
	}
	return ix.signature(), true
}

func (ix *Index) mapKey(opts RepoMapOptions, budget int) [32]byte {
	sig := ix.signature()
	h := sha256.New()
	h.Write(sig[:])
	b := binary.AppendUvarint(nil, uint64(budget))
	b = binary.AppendUvarint(b, uint64(len(opts.Focus)))
	for _, f := range opts.Focus {
		b = appendString(b, f)
	}
	h.Write(b)
	var k [32]byte
	h.Sum(k[:0])
	return k
}

// mapsFile is where the maps of ix are kept, or "" when ix has no disk
// cache or its entries are not the cache's (Update's, until a Refresh
// saves them: a file re-read with its size and time unchanged would not
// change the signature).
func (ix *Index) mapsFile() string {
	if ix.opts.NoCache || ix.unsaved {
		return ""
	}
	p := cacheFile(ix.root, ix.opts)
	if p == "" {
		return ""
	}
	return strings.TrimSuffix(p, ".idx") + ".maps"
}

// keptMap returns a map rendered before for key, from memory or disk.
func (ix *Index) keptMap(key [32]byte) (string, bool) {
	m := &ix.memo
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, k := range m.mem {
		if k.key == key {
			return k.text, true
		}
	}
	if path := ix.mapsFile(); path != "" {
		for _, k := range readMaps(path) {
			if k.key == key {
				m.mem = append(m.mem, k)
				return k.text, true
			}
		}
	}
	return "", false
}

// keepMap remembers text as the map for key, in memory and, when ix has a
// disk cache, in the file beside it (with the most recent others).
func (ix *Index) keepMap(key [32]byte, text string) {
	m := &ix.memo
	m.mu.Lock()
	defer m.mu.Unlock()
	m.mem = append(m.mem, keptMap{key, text})
	if len(m.mem) > maxKeptMaps {
		m.mem = m.mem[len(m.mem)-maxKeptMaps:]
	}
	path := ix.mapsFile()
	if path == "" {
		return
	}
	kept := append(readMaps(path), keptMap{key, text})
	if len(kept) > maxKeptMaps {
		kept = kept[len(kept)-maxKeptMaps:]
	}
	// A map not kept is computed again next time: nothing to report.
	_ = writeMaps(path, kept)
}

func readMaps(path string) []keptMap {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() || fi.Size() > maxMapsFile {
		return nil
	}
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(f); err != nil {
		return nil
	}
	data := buf.Bytes()
	if !bytes.HasPrefix(data, []byte(mapsMagic)) {
		return nil
	}
	d := &cacheDecoder{data: data, pos: len(mapsMagic)}
	var out []keptMap
	for d.pos < len(data) {
		var k keptMap
		if len(data)-d.pos < len(k.key) {
			return nil
		}
		copy(k.key[:], data[d.pos:])
		d.pos += len(k.key)
		k.text = d.inline()
		if d.bad {
			return nil
		}
		out = append(out, k)
	}
	return out
}

func writeMaps(path string, kept []keptMap) error {
	out := []byte(mapsMagic)
	for _, k := range kept {
		out = append(out, k.key[:]...)
		out = appendString(out, k.text)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".maps-*")
	if err != nil {
		return err
	}
	_, werr := tmp.Write(out)
	if cerr := tmp.Close(); werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Rename(tmp.Name(), path)
	}
	if werr != nil {
		os.Remove(tmp.Name())
	}
	return werr
}
