package lsp

import (
	"bytes"
	"fmt"
	"testing"

	"go.lsp.dev/protocol"
)

// TestMarshalSymbolsInParts: an outline marshalled in parts is byte for
// byte what the protocol package makes of it whole.
func TestMarshalSymbolsInParts(t *testing.T) {
	defer func(f func() int) { cores = f }(cores)
	cores = func() int { return 3 }
	for _, n := range []int{0, 1, symbolsPerPart, 2*symbolsPerPart - 1, 2 * symbolsPerPart, 5000} {
		syms := make(protocol.DocumentSymbolSlice, n)
		for i := range syms {
			detail := fmt.Sprintf("func F%d(s string) \"quoted\" 😀", i)
			syms[i] = protocol.DocumentSymbol{
				Name: fmt.Sprintf("F%d", i), Detail: &detail, Kind: protocol.SymbolKindFunction,
				Range:          protocol.Range{Start: protocol.Position{Line: uint32(i)}, End: protocol.Position{Line: uint32(i + 1), Character: 1}},
				SelectionRange: protocol.Range{Start: protocol.Position{Line: uint32(i), Character: 5}, End: protocol.Position{Line: uint32(i), Character: 7}},
			}
			if i%3 == 0 {
				syms[i].Children = []protocol.DocumentSymbol{{Name: "A", Kind: protocol.SymbolKindField}}
			}
		}
		want, err := protocol.Marshal(syms)
		if err != nil {
			t.Fatal(err)
		}
		for range 2 { // the second run sizes its buffers from the first
			got, err := codec{}.Marshal(syms)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("%d symbols: parts differ from the whole:\n%.200s\n%.200s", n, got, want)
			}
		}
	}
}
