package analysis

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"unsafe"
)

// The cache is a compact binary file rather than gob: a warm build must
// load the definitions of thousands of files in a few milliseconds. The
// files are split into a few contiguous segments, encoded in parallel;
// each segment's strings live in one table, decoded as substrings of a
// single string, so loading does one allocation for text per segment
// however many symbols there are.
//
// A warm build reads only the front of the file, the file headers (its
// length is in the file's header): Go's source tree's cache is 23 MB, its
// front 0.4 MB. The rest, string tables and bodies, is read from the file
// kept open when something first needs a symbol.

const (
	cacheMagic  = "LOOMIDX\x05"
	cacheFamily = "LOOMIDX" // every version's prefix
	// cacheHeader is the magic and the front's length (8 bytes, little
	// endian).
	cacheHeader = len(cacheMagic) + 8
	// maxCacheFront bounds the front read back: the headers of millions
	// of files.
	maxCacheFront = 1 << 30
)

var (
	errCacheCorrupt = errors.New("analysis: index cache is corrupt")
	// errCacheStale is a cache written by another Loom version or for
	// other options: rebuilt without a word, as a missing one is.
	errCacheStale = errors.New("analysis: index cache is stale (other version, root or options)")
)

// DefaultCacheDir is the folder of index caches when Options.CacheDir is
// empty: os.UserCacheDir()/loom/index, or "" when there is none.
func DefaultCacheDir() string {
	base, err := os.UserCacheDir()
	if err != nil || base == "" {
		return ""
	}
	return filepath.Join(base, "loom", "index")
}

// cacheFile returns the cache path for root, or "" when there is nowhere to
// put one (no HOME and no XDG_CACHE_HOME, for instance).
func cacheFile(absRoot string, opts Options) string {
	dir := opts.CacheDir
	if dir == "" {
		if dir = DefaultCacheDir(); dir == "" {
			return ""
		}
	}
	sum := sha256.Sum256([]byte(absRoot))
	return filepath.Join(dir, hex.EncodeToString(sum[:8])+".idx")
}

// CachePath returns where root's index cache is kept for opts, or "" when
// there is none (NoCache, or no cache folder). Callers may keep their own
// state beside it, under the same name with another extension.
func CachePath(root string, opts Options) string {
	if opts.NoCache {
		return ""
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		return ""
	}
	return cacheFile(abs, opts.withDefaults())
}

// HasCache reports whether a disk cache of root's index exists for opts:
// a build will then mostly load and stat, not parse.
func HasCache(root string, opts Options) bool {
	if opts.NoCache {
		return false
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		return false
	}
	p := cacheFile(abs, opts.withDefaults())
	if p == "" {
		return false
	}
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular()
}

// fingerprint changes whenever cached entries would come out differently:
// another root, other limits, or edited language tables.
func fingerprint(absRoot string, opts Options) string {
	h := fnv.New64a()
	for _, l := range languageTable {
		fmt.Fprintf(h, "%s\x00%q\x00%s\x00", l.name, l.extensions, l.tags)
	}
	return absRoot + "\x00" + strconv.FormatInt(opts.MaxFileSize, 10) + "\x00" +
		strconv.Itoa(opts.MaxLineLength) + "\x00" + strconv.FormatUint(h.Sum64(), 16)
}

var kindList = []Kind{
	KindFunction, KindMethod, KindConstructor, KindClass, KindStruct, KindInterface,
	KindEnum, KindEnumMember, KindType, KindField, KindConstant, KindVariable,
	KindModule, KindNamespace, KindImpl, KindMacro,
}

var kindIndex = func() map[Kind]uint64 {
	m := make(map[Kind]uint64, len(kindList))
	for i, k := range kindList {
		m[k] = uint64(i)
	}
	return m
}()

type cacheEncoder struct {
	body []byte
	ids  map[string]uint64
	blob []byte
	lens []byte
}

func (e *cacheEncoder) uv(v uint64) { e.body = binary.AppendUvarint(e.body, v) }
func (e *cacheEncoder) sv(v int64)  { e.body = binary.AppendVarint(e.body, v) }

func (e *cacheEncoder) str(s string) {
	id, ok := e.ids[s]
	if !ok {
		id = uint64(len(e.ids))
		e.ids[s] = id
		e.blob = append(e.blob, s...)
		e.lens = binary.AppendUvarint(e.lens, uint64(len(s)))
	}
	e.uv(id)
}

func (e *cacheEncoder) pos(p Position, base Position) {
	e.sv(int64(p.Offset - base.Offset))
	e.sv(int64(p.Line - base.Line))
	e.uv(uint64(p.Column))
}

// file appends f's body and returns its length.
func (e *cacheEncoder) file(f *FileEntry) int {
	start := len(e.body)
	e.uv(uint64(len(f.Symbols)))
	for _, s := range f.Symbols {
		e.str(s.Name)
		e.uv(kindIndex[s.Kind])
		e.uv(uint64(s.Parent + 1))
		e.str(s.Signature)
		e.pos(s.Range.Start, Position{})
		e.pos(s.Range.End, s.Range.Start)
		e.pos(s.NameRange.Start, s.Range.Start)
		e.pos(s.NameRange.End, s.NameRange.Start)
	}
	e.uv(uint64(len(f.Refs)))
	for _, r := range f.Refs {
		e.str(r.Name)
		e.uv(uint64(r.Count))
		e.uv(uint64(r.Package))
	}
	return len(e.body) - start
}

// cacheSegments is how many parts the files are split into for encoding.
func cacheSegments(files, workers int) int {
	return max(1, min(workers, files/256))
}

// Layout: the header (magic, the front's length), then the front:
// fingerprint, file headers (inline, so a warm build decodes only these),
// the segments' file counts and string table sizes; then the rest: the
// segments' string tables, then one body per file with its symbols and
// names. Bodies are decoded lazily and in parallel when first needed.
func encodeCache(fp string, files []*FileEntry, workers int) []byte {
	nseg := cacheSegments(len(files), workers)
	encs := make([]cacheEncoder, nseg)
	bounds := make([]int, nseg+1)
	for k := range nseg {
		bounds[k+1] = len(files) * (k + 1) / nseg
	}
	bodyLens := make([]int, len(files))
	var wg sync.WaitGroup
	for k := range encs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			part := files[bounds[k]:bounds[k+1]]
			nsyms := 0
			for _, f := range part {
				nsyms += len(f.Symbols)
			}
			e := &encs[k]
			e.ids = make(map[string]uint64, nsyms)
			e.body = make([]byte, 0, nsyms*24)
			for i, f := range part {
				bodyLens[bounds[k]+i] = e.file(f)
			}
		}()
	}
	wg.Wait()

	front := appendString(nil, fp)
	front = binary.AppendUvarint(front, uint64(len(files)))
	for i, f := range files {
		front = appendString(front, f.Path)
		front = appendString(front, f.Language)
		front = binary.AppendUvarint(front, uint64(f.Size))
		front = binary.AppendVarint(front, f.ModTime)
		front = appendString(front, f.Skipped)
		front = binary.AppendUvarint(front, uint64(len(f.Symbols)))
		front = binary.AppendUvarint(front, uint64(bodyLens[i]))
	}
	front = binary.AppendUvarint(front, uint64(nseg))
	size := cacheHeader + len(front) + 16*nseg
	for k := range encs {
		e := &encs[k]
		front = binary.AppendUvarint(front, uint64(bounds[k+1]-bounds[k]))
		front = binary.AppendUvarint(front, uint64(len(e.ids)))
		front = binary.AppendUvarint(front, uint64(len(e.blob)))
		front = binary.AppendUvarint(front, uint64(len(e.lens)))
		size += len(e.blob) + len(e.lens) + len(e.body)
	}
	out := make([]byte, 0, size)
	out = append(out, cacheMagic...)
	out = binary.LittleEndian.AppendUint64(out, uint64(len(front)))
	out = append(out, front...)
	for k := range encs {
		out = append(out, encs[k].blob...)
		out = append(out, encs[k].lens...)
	}
	for k := range encs {
		out = append(out, encs[k].body...)
	}
	return out
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func saveCache(path, absRoot string, opts Options, files []*FileEntry) error {
	data := encodeCache(fingerprint(absRoot, opts), files, opts.Workers)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".idx-*")
	if err != nil {
		return err
	}
	_, werr := tmp.Write(data)
	cerr := tmp.Close()
	if werr == nil {
		werr = cerr
	}
	if werr == nil {
		// Rename is atomic: concurrent builds never read a half-written cache.
		werr = os.Rename(tmp.Name(), path)
	}
	if werr != nil {
		os.Remove(tmp.Name())
	}
	return werr
}

type cacheDecoder struct {
	data []byte
	pos  int
	strs []string
	bad  bool
	// Without strs, strings are read from a segment's table in data:
	// ends[i] is where string i ends, the first starting at tab. They are
	// copies, or with view the table's text in place.
	ends []int
	tab  int
	view bool
	// text, when set, is data as a string: inline strings are its
	// substrings, one copy for a whole front of file headers instead of
	// two allocations per file.
	text string
}

func (d *cacheDecoder) uv() uint64 {
	v, n := binary.Uvarint(d.data[d.pos:])
	if n <= 0 {
		d.bad = true
		d.pos = len(d.data)
		return 0
	}
	d.pos += n
	return v
}

func (d *cacheDecoder) sv() int64 {
	v, n := binary.Varint(d.data[d.pos:])
	if n <= 0 {
		d.bad = true
		d.pos = len(d.data)
		return 0
	}
	d.pos += n
	return v
}

// count reads a length and rejects one the remaining bytes cannot hold,
// so a corrupt file cannot make us allocate wildly.
func (d *cacheDecoder) count() int {
	v := d.uv()
	if v > uint64(len(d.data)-d.pos) {
		d.bad = true
		return 0
	}
	return int(v)
}

// inline reads a length-prefixed string stored in place.
func (d *cacheDecoder) inline() string {
	n := d.count()
	if d.bad {
		return ""
	}
	var s string
	if len(d.text) == len(d.data) {
		s = d.text[d.pos : d.pos+n]
	} else {
		s = string(d.data[d.pos : d.pos+n])
	}
	d.pos += n
	return s
}

func (d *cacheDecoder) str() string {
	id := d.uv()
	if d.ends == nil {
		if id >= uint64(len(d.strs)) {
			d.bad = true
			return ""
		}
		return d.strs[id]
	}
	if id >= uint64(len(d.ends)) {
		d.bad = true
		return ""
	}
	start := d.tab
	if id > 0 {
		start = d.ends[id-1]
	}
	switch {
	case start == d.ends[id]:
		return ""
	case d.view:
		return unsafe.String(&d.data[start], d.ends[id]-start)
	}
	return string(d.data[start:d.ends[id]])
}

func (d *cacheDecoder) position(base Position) Position {
	off := d.sv()
	line := d.sv()
	col := d.uv()
	return Position{Offset: base.Offset + int(off), Line: base.Line + int(line), Column: int(col)}
}

// cacheRest is the part of a cache file after its front, string tables
// and bodies, read on first use from the file left open.
type cacheRest struct {
	r      io.ReaderAt
	closer io.Closer // closed once read, when the reader is a file
	off    int64
	size   int64
	once   sync.Once
	data   []byte
	err    error
}

func (c *cacheRest) load() ([]byte, error) {
	c.once.Do(func() {
		c.data = make([]byte, c.size)
		if _, err := c.r.ReadAt(c.data, c.off); err != nil {
			c.data, c.err = nil, errCacheCorrupt
		}
		if c.closer != nil {
			c.closer.Close()
		}
		c.r, c.closer = nil, nil
	})
	return c.data, c.err
}

// cacheData is one segment of a loaded cache file whose bodies are not
// decoded yet.
type cacheData struct {
	rest   *cacheRest
	strtab int // offset of the segment's string table in the rest
	nstr   int
	blob   int // the table's lengths in bytes
	lens   int
	once   sync.Once
	data   []byte // the rest, once loaded
	strs   []string
	err    error

	tabOnce sync.Once
	ends    []int // where each string of the table ends in data: table
	tabErr  error
}

// lazyBody locates a file's undecoded symbols and names: off is from the
// start of the rest.
type lazyBody struct {
	c        *cacheData
	off, len int
}

// loadCache reads the front of the cache file at path; the file stays open
// for the rest until the first body is decoded (or the index is collected).
func loadCache(path, absRoot string, opts Options) (map[string]*FileEntry, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		f.Close()
		if err == nil {
			err = errCacheCorrupt
		}
		return nil, err
	}
	files, rest, err := decodeCacheFront(f, fi.Size(), fingerprint(absRoot, opts))
	if err != nil {
		f.Close()
		return nil, err
	}
	if rest.size == 0 {
		f.Close()
	} else {
		rest.closer = f
	}
	m := make(map[string]*FileEntry, len(files))
	for _, f := range files {
		m[f.Path] = f
	}
	return m, nil
}

// decodeCacheFront decodes what a warm build needs, the file headers, from
// a cache of size bytes read through r, and checks the rest is laid out
// consistently; the entries' bodies are read through r when needed.
func decodeCacheFront(r io.ReaderAt, size int64, fp string) ([]*FileEntry, *cacheRest, error) {
	head := make([]byte, cacheHeader)
	if n, _ := r.ReadAt(head, 0); n < len(cacheMagic) {
		return nil, nil, errCacheCorrupt
	} else if !bytes.HasPrefix(head, []byte(cacheMagic)) {
		if bytes.HasPrefix(head, []byte(cacheFamily)) && n > len(cacheFamily) {
			return nil, nil, errCacheStale
		}
		return nil, nil, errCacheCorrupt
	} else if n < cacheHeader {
		return nil, nil, errCacheCorrupt
	}
	frontLen := binary.LittleEndian.Uint64(head[len(cacheMagic):])
	if frontLen > maxCacheFront || int64(frontLen) > size-int64(cacheHeader) {
		return nil, nil, errCacheCorrupt
	}
	front := make([]byte, frontLen)
	if _, err := r.ReadAt(front, int64(cacheHeader)); err != nil {
		return nil, nil, errCacheCorrupt
	}
	rest := &cacheRest{r: r, off: int64(cacheHeader) + int64(frontLen), size: size - int64(cacheHeader) - int64(frontLen)}
	d := &cacheDecoder{data: front, text: string(front)}
	if got := d.inline(); d.bad {
		return nil, nil, errCacheCorrupt
	} else if got != fp {
		return nil, nil, errCacheStale
	}
	n := d.count()
	entries := make([]FileEntry, n)
	files := make([]*FileEntry, n)
	lazies := make([]lazyBody, n)
	bodyOff := int64(0)
	for i := 0; i < n && !d.bad; i++ {
		f := &entries[i]
		f.Path = d.inline()
		f.Language = d.inline()
		f.Size = int64(d.uv())
		f.ModTime = d.sv()
		f.Skipped = d.inline()
		f.nsyms = int(d.uv())
		l := d.uv()
		if l > uint64(rest.size) {
			return nil, nil, errCacheCorrupt
		}
		lazies[i] = lazyBody{off: int(bodyOff), len: int(l)}
		f.lazy = &lazies[i]
		bodyOff += int64(l)
		files[i] = f
	}
	nseg := d.count()
	next := 0
	tables := int64(0)
	for range nseg {
		if d.bad {
			break
		}
		nf := d.uv()
		if nf > uint64(n-next) {
			return nil, nil, errCacheCorrupt
		}
		c := &cacheData{rest: rest, strtab: int(tables)}
		c.nstr, c.blob, c.lens = int(d.uv()), int(d.uv()), int(d.uv())
		if d.bad || c.nstr < 0 || c.blob < 0 || c.lens < 0 || int64(c.blob)+int64(c.lens) > rest.size-tables {
			return nil, nil, errCacheCorrupt
		}
		for _, f := range files[next : next+int(nf)] {
			f.lazy.c = c
		}
		next += int(nf)
		tables += int64(c.blob) + int64(c.lens)
	}
	if d.bad || next != n || d.pos != len(front) || tables+bodyOff != rest.size {
		return nil, nil, errCacheCorrupt
	}
	for _, f := range files {
		f.lazy.off += int(tables)
	}
	return files, rest, nil
}

func (c *cacheData) strings() ([]string, []byte, error) {
	c.once.Do(func() {
		data, err := c.rest.load()
		if err != nil {
			c.err = err
			return
		}
		c.data = data
		d := &cacheDecoder{data: data[:c.strtab+c.blob+c.lens], pos: c.strtab + c.blob}
		// One copy of all text; every string is a substring of it.
		blob := string(data[c.strtab : c.strtab+c.blob])
		c.strs = make([]string, min(c.nstr, c.lens))
		off := 0
		for i := range c.strs {
			l := int(d.uv())
			if d.bad || l < 0 || off+l > len(blob) {
				c.err = errCacheCorrupt
				return
			}
			c.strs[i] = blob[off : off+l]
			off += l
		}
		if len(c.strs) != c.nstr {
			c.err = errCacheCorrupt
		}
	})
	return c.strs, c.data, c.err
}

// table is strings without a copy of the text: where each string of the
// segment's table ends in the rest's data (they follow each other from
// c.strtab).
func (c *cacheData) table() ([]byte, []int, error) {
	c.tabOnce.Do(func() {
		data, err := c.rest.load()
		if err != nil {
			c.tabErr = err
			return
		}
		d := &cacheDecoder{data: data[:c.strtab+c.blob+c.lens], pos: c.strtab + c.blob}
		c.ends = make([]int, min(c.nstr, c.lens))
		end := c.strtab
		for i := range c.ends {
			l := int(d.uv())
			if d.bad || l < 0 || end+l > c.strtab+c.blob {
				c.tabErr = errCacheCorrupt
				return
			}
			end += l
			c.ends[i] = end
		}
		if len(c.ends) != c.nstr {
			c.tabErr = errCacheCorrupt
		}
	})
	return c.rest.data, c.ends, c.tabErr
}

// brief appends the name, kind and line of each of the body's symbols to
// buf, checking the rest of the body is laid out as decode expects. The
// names are the cache's text in place, not copies: it is never modified.
func (b *lazyBody) brief(buf []Brief) ([]Brief, error) {
	data, ends, err := b.c.table()
	if err != nil {
		return buf, err
	}
	if b.off+b.len > len(data) {
		return buf, errCacheCorrupt
	}
	d := &cacheDecoder{data: data[:b.off+b.len], pos: b.off, ends: ends, tab: b.c.strtab, view: true}
	str := d.str
	ns := d.count()
	for range ns {
		name := str()
		k := d.uv()
		if k >= uint64(len(kindList)) {
			return buf, errCacheCorrupt
		}
		d.uv() // parent
		str()  // signature
		start := d.position(Position{})
		d.position(start) // end
		nameStart := d.position(start)
		d.position(nameStart) // name's end
		buf = append(buf, Brief{Name: name, Kind: kindList[k], Line: nameStart.Line})
	}
	nr := d.count()
	for range nr {
		str()
		d.uv()
		d.uv()
	}
	if d.bad || d.pos != len(d.data) {
		return buf, errCacheCorrupt
	}
	return buf, nil
}

// decode fills f.Symbols and f.Refs from its cached body, their text
// substrings of one copy of its segment's string table (decoding every
// body, that is one allocation per segment).
func (b *lazyBody) decode(f *FileEntry) error {
	strs, data, err := b.c.strings()
	if err != nil {
		return err
	}
	if b.off+b.len > len(data) {
		return errCacheCorrupt
	}
	return decodeBody(f, &cacheDecoder{data: data[:b.off+b.len], pos: b.off, strs: strs})
}

// decodeAlone is decode for a body decoded alone: its text is copied
// string by string rather than its segment's whole table (megabytes on a
// big repository).
func (b *lazyBody) decodeAlone(f *FileEntry) error {
	data, ends, err := b.c.table()
	if err != nil {
		return err
	}
	if b.off+b.len > len(data) {
		return errCacheCorrupt
	}
	return decodeBody(f, &cacheDecoder{data: data[:b.off+b.len], pos: b.off, ends: ends, tab: b.c.strtab})
}

func decodeBody(f *FileEntry, d *cacheDecoder) error {
	if ns := d.count(); ns > 0 {
		f.Symbols = make([]Symbol, ns)
		for j := range f.Symbols {
			s := &f.Symbols[j]
			s.Name = d.str()
			k := d.uv()
			if k >= uint64(len(kindList)) {
				f.Symbols = nil
				return errCacheCorrupt
			}
			s.Kind = kindList[k]
			s.Parent = int(d.uv()) - 1
			s.Signature = d.str()
			s.Range.Start = d.position(Position{})
			s.Range.End = d.position(s.Range.Start)
			s.NameRange.Start = d.position(s.Range.Start)
			s.NameRange.End = d.position(s.NameRange.Start)
		}
	}
	if nr := d.count(); nr > 0 {
		f.Refs = make([]NameCount, nr)
		for j := range f.Refs {
			f.Refs[j] = NameCount{Name: d.str(), Count: int(d.uv()), Package: int(d.uv())}
		}
	}
	if d.bad || d.pos != len(d.data) {
		f.Symbols, f.Refs = nil, nil
		return errCacheCorrupt
	}
	return nil
}
