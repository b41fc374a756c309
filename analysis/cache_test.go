package analysis

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"testing"
)

// TestCacheRoundTrip encodes files in one and in several segments (each
// with its own string table) and decodes every body back.
func TestCacheRoundTrip(t *testing.T) {
	for _, n := range []int{0, 1, 300, 1500} {
		for _, workers := range []int{1, 2, 3} {
			files := make([]*FileEntry, n)
			for i := range files {
				f := &FileEntry{Path: fmt.Sprintf("pkg%d/f%d.go", i%7, i), Language: "go", Size: int64(i * 10), ModTime: int64(i) << 20}
				if i%11 == 0 {
					f.Skipped = "too large"
				}
				for j := range i % 5 {
					at := Position{Offset: 100 * j, Line: 3 * j, Column: j}
					f.Symbols = append(f.Symbols, Symbol{
						Name: fmt.Sprintf("Name%d", (i+j)%40), Kind: kindList[(i+j)%len(kindList)],
						Range:     Range{Start: at, End: Position{Offset: at.Offset + 50, Line: at.Line + 2, Column: 1}},
						NameRange: Range{Start: Position{Offset: at.Offset + 5, Line: at.Line, Column: at.Column + 5}, End: Position{Offset: at.Offset + 10, Line: at.Line, Column: at.Column + 10}},
						Signature: fmt.Sprintf("func Name%d()", j), Parent: j - 1,
					})
					f.Refs = append(f.Refs, NameCount{Name: fmt.Sprintf("ref%d", (i*j)%13), Count: j + 1, Package: j % 2})
				}
				f.nsyms = len(f.Symbols)
				files[i] = f
			}
			data := encodeCache("fp", files, workers)
			got, _, err := decodeCacheFront(bytes.NewReader(data), int64(len(data)), "fp")
			if err != nil {
				t.Fatalf("%d files, %d workers: %v", n, workers, err)
			}
			if len(got) != n {
				t.Fatalf("%d files, %d workers: decoded %d", n, workers, len(got))
			}
			for i, g := range got {
				decode := g.lazy.decode
				if i%2 == 1 {
					decode = g.lazy.decodeAlone
				}
				if err := decode(g); err != nil {
					t.Fatalf("file %d: %v", i, err)
				}
				g.lazy = nil
				if !reflect.DeepEqual(g, files[i]) {
					t.Fatalf("%d files, %d workers: file %d is\n%+v\nwant\n%+v", n, workers, i, g, files[i])
				}
			}
			if _, _, err := decodeCacheFront(bytes.NewReader(data[:len(data)-1]), int64(len(data)-1), "fp"); err == nil && n > 1 {
				t.Fatalf("%d files: a truncated cache decoded", n)
			}
		}
	}
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r    io.ReaderAt
	read int
}

func (c *countingReader) ReadAt(p []byte, off int64) (int, error) {
	n, err := c.r.ReadAt(p, off)
	c.read += n
	return n, err
}

// TestCacheFrontAlone: loading reads the front only (the headers a warm
// build needs); the rest is read once, by the first body decoded; a rest
// that is gone by then leaves the body undecoded, reported corrupt.
func TestCacheFrontAlone(t *testing.T) {
	files := make([]*FileEntry, 1000)
	for i := range files {
		f := &FileEntry{Path: fmt.Sprintf("f%d.go", i), Language: "go"}
		for j := range 20 {
			f.Symbols = append(f.Symbols, Symbol{Name: fmt.Sprintf("Name%d_%d", i, j), Kind: KindFunction, Signature: "func()", Parent: -1})
		}
		f.nsyms = len(f.Symbols)
		files[i] = f
	}
	data := encodeCache("fp", files, 2)
	cr := &countingReader{r: bytes.NewReader(data)}
	got, _, err := decodeCacheFront(cr, int64(len(data)), "fp")
	if err != nil {
		t.Fatal(err)
	}
	if cr.read > len(data)/4 {
		t.Errorf("loading read %d of %d bytes", cr.read, len(data))
	}
	for _, g := range got {
		if err := g.lazy.decode(g); err != nil || len(g.Symbols) != 20 {
			t.Fatalf("%s: %v, %d symbols", g.Path, err, len(g.Symbols))
		}
	}
	if cr.read != len(data) {
		t.Errorf("read %d bytes in all, want the file's %d once", cr.read, len(data))
	}

	short := bytes.NewReader(data[:len(data)-10])
	got, _, err = decodeCacheFront(short, int64(len(data)), "fp")
	if err != nil {
		t.Fatal(err)
	}
	if err := got[0].lazy.decode(got[0]); !errors.Is(err, errCacheCorrupt) || got[0].Symbols != nil {
		t.Errorf("a rest cut short decoded: %v, %d symbols", err, len(got[0].Symbols))
	}
}
