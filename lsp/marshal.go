package lsp

import (
	"runtime"
	"sync"
	"sync/atomic"

	"go.lsp.dev/jsonrpc2"
	"go.lsp.dev/protocol"
)

// codec marshals payloads with the protocol package's union-aware JSON, as
// protocol.NewServer does; the server builds its own connection to put its
// middleware in front of the dispatcher.
type codec struct{}

func (codec) Marshal(v any) ([]byte, error) {
	switch m := v.(type) {
	case jsonrpc2.RawMessage:
		if m == nil {
			return []byte("null"), nil
		}
		return m, nil
	case protocol.DocumentSymbolSlice:
		return marshalSymbols(m)
	}
	return protocol.Marshal(v)
}

func (codec) Unmarshal(data []byte, v any) error {
	if p, ok := v.(*jsonrpc2.RawMessage); ok {
		*p = append(jsonrpc2.RawMessage(nil), data...)
		return nil
	}
	return protocol.Unmarshal(data, v)
}

// symbolsPerPart is the least number of symbols worth a goroutine.
const symbolsPerPart = 256

// cores is how many parts to marshal in at most (a variable for tests).
var cores = func() int { return runtime.GOMAXPROCS(0) }

// symbolBytes estimates an answer's size per symbol, from the last large
// answer, so buffers are allocated once at about the right size.
var symbolBytes atomic.Int64

// partBufs recycles the buffers of the parts after the first, which are
// copied into the answer before marshalSymbols returns. Not a sync.Pool:
// with answers this large the collector runs every few requests and would
// empty it each time.
var partBufs struct {
	sync.Mutex
	free [][]byte
}

// partBuf returns an empty buffer of at least size bytes' capacity.
func partBuf(size int) []byte {
	partBufs.Lock()
	defer partBufs.Unlock()
	if n := len(partBufs.free); n > 0 {
		b := partBufs.free[n-1]
		partBufs.free = partBufs.free[:n-1]
		if cap(b) >= size {
			return b[:0]
		}
	}
	return make([]byte, 0, size)
}

// putPartBuf keeps b for a later answer, up to one buffer per core.
func putPartBuf(b []byte) {
	partBufs.Lock()
	defer partBufs.Unlock()
	if len(partBufs.free) < cores() {
		partBufs.free = append(partBufs.free, b)
	}
}

// marshalSymbols marshals an outline as protocol.Marshal does, in one part
// per core: a large file's outline is a megabyte of JSON that an editor
// asks for after every edit. The first part is marshalled straight into
// the answer, sized from the last one; the others are appended to it.
func marshalSymbols(syms protocol.DocumentSymbolSlice) ([]byte, error) {
	parts := min(cores(), len(syms)/symbolsPerPart)
	if parts < 2 {
		return protocol.Marshal(syms)
	}
	per := int(symbolBytes.Load())
	if per == 0 {
		per = 256
	}
	bufs := make([][]byte, parts)
	errs := make([]error, parts)
	var wg sync.WaitGroup
	for k := range parts {
		var buf []byte
		if k == 0 {
			buf = make([]byte, 0, per*len(syms)*9/8)
		} else {
			buf = partBuf(per * (len(syms)/parts + 1) * 9 / 8)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			part := syms[len(syms)*k/parts : len(syms)*(k+1)/parts]
			bufs[k], errs[k] = protocol.AppendMarshal(buf, &part)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	// Each part is "[...]": its brackets become a comma or the ends.
	out := bufs[0][:len(bufs[0])-1]
	for _, b := range bufs[1:] {
		out = append(out, ',')
		out = append(out, b[1:len(b)-1]...)
		putPartBuf(b)
	}
	out = append(out, ']')
	symbolBytes.Store(int64(len(out) / len(syms)))
	return out, nil
}
