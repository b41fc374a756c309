package analyze

import (
	"bytes"
	"encoding/binary"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/loom-agent/loom/analysis"
)

// A warm `loom analyze symbols` of a big repository would spend most of its
// time reading 380,000 definitions back from the index cache and printing
// them (Go's source tree: a 24.5 MB listing). The listing changes only when
// the index does, so it is kept beside the index cache under the index's
// signature, and printed again by copying the file when the signature is
// the same. A damaged or other-sized file is not trusted: the listing is
// made again and replaces it.

const listingMagic = "LOOMLST\x01"

// listingPath is where the listing of ix is kept, and the key it is kept
// under; "" when it has no disk cache to keep it beside.
func listingPath(ix *analysis.Index) (string, [32]byte) {
	sig, ok := ix.Signature()
	p := ix.Stats().CachePath
	if !ok || p == "" {
		return "", sig
	}
	return strings.TrimSuffix(p, ".idx") + ".list", sig
}

// copyKeptListing copies the listing kept for key to w; false (and nothing
// written) when there is none, it is for another key, or damaged.
func copyKeptListing(w io.Writer, path string, key [32]byte) (bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return false, nil
	}
	defer f.Close()
	fi, err := f.Stat()
	head := make([]byte, len(listingMagic)+len(key)+8)
	if err != nil || !fi.Mode().IsRegular() || fi.Size() < int64(len(head)) {
		return false, nil
	}
	if _, err := io.ReadFull(f, head); err != nil || !bytes.HasPrefix(head, []byte(listingMagic)) ||
		!bytes.Equal(head[len(listingMagic):len(listingMagic)+len(key)], key[:]) {
		return false, nil
	}
	n := binary.LittleEndian.Uint64(head[len(head)-8:])
	if n != uint64(fi.Size()-int64(len(head))) {
		return false, nil
	}
	_, err = io.CopyN(w, f, int64(n))
	return true, err
}

// listingKeeper writes a listing beside the cache as it is printed, and
// puts it in place once complete; failing is harmless (it is made again).
type listingKeeper struct {
	path string
	tmp  *os.File
	n    uint64
	err  error
}

func newListingKeeper(path string, key [32]byte) *listingKeeper {
	k := &listingKeeper{path: path}
	if k.err = os.MkdirAll(filepath.Dir(path), 0o755); k.err != nil {
		return k
	}
	if k.tmp, k.err = os.CreateTemp(filepath.Dir(path), ".list-*"); k.err != nil {
		return k
	}
	head := append([]byte(listingMagic), key[:]...)
	_, k.err = k.tmp.Write(binary.LittleEndian.AppendUint64(head, 0))
	return k
}

func (k *listingKeeper) Write(p []byte) (int, error) {
	if k.err == nil {
		_, k.err = k.tmp.Write(p)
		k.n += uint64(len(p))
	}
	return len(p), nil
}

// finish puts the listing in place when complete; else drops it.
func (k *listingKeeper) finish(complete bool) {
	if k.tmp == nil {
		return
	}
	if k.err == nil && complete {
		var size [8]byte
		binary.LittleEndian.PutUint64(size[:], k.n)
		_, k.err = k.tmp.WriteAt(size[:], int64(len(listingMagic)+32))
	}
	if cerr := k.tmp.Close(); k.err == nil {
		k.err = cerr
	}
	if k.err == nil && complete {
		k.err = os.Rename(k.tmp.Name(), k.path)
	}
	if k.err != nil || !complete {
		os.Remove(k.tmp.Name())
	}
}
