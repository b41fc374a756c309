package proxy

import (
	"bytes"
	"testing"
)

// plainChunkCases are chunks and whether plainChunk takes them as
// carrying nothing a lean decoder keeps.
var plainChunkCases = []struct {
	chunk string
	plain bool
}{
	{`{"id":"c","object":"chat.completion.chunk","model":"m","choices":[{"index":0,"delta":{"content":"hi"},"finish_reason":null}]}`, true},
	{`{"id":"c","choices":[{"index":0,"delta":{"content":"hi"},"logprobs":null,"finish_reason":null}],"usage":null}`, true},
	{` { "choices" : [ { "index" : 1 , "delta" : { } } ] , "error" : null } ` + "\n", true},
	{`{"choices":[null,{"index":null}],"system_fingerprint":"fp"}`, true},
	{`{"choices":null}`, true},
	{`{}`, true},
	{`{"choices":[{"index":0,"delta":{"content":"\"usage\":{\"prompt_tokens\":5}, finish_reason: \"stop\""}}]}`, true},
	{`{"x":"\u0075sage"}`, true},
	// Models renamed in place, as renamer does.
	{`{"model":"gpt-4o","model" : null,"choices":[],"Model":"x","x":{"model":"y"}}`, true},
	{` {"id":"c","model":"m"} `, true},
	// What the lean decoder keeps.
	{`{"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}`, false},
	{`{"choices":[{"index":0,"delta":{},"finish_reason":""}]}`, false},
	{`{"choices":[],"usage":{"prompt_tokens":5,"completion_tokens":2}}`, false},
	{`{"error":{"message":"overloaded","type":"server_error"}}`, false},
	// Names encoding/json matches without regard to case or escapes.
	{`{"Usage":{"prompt_tokens":5}}`, false},
	{`{"USAGE":{"prompt_tokens":5}}`, false},
	{`{"uſage":{"prompt_tokens":5}}`, false},
	{`{"\u0075sage":{"prompt_tokens":5}}`, false},
	{`{"choices":[{"Finish_Reason":"stop"}]}`, false},
	{`{"Choices":[{"finish_reason":"stop"}]}`, false},
	{`{"choices":[{"finiſh_reason":"stop"}]}`, false},
	{`{"ERROR":{"message":"x"}}`, false},
	// What encoding/json refuses, or might.
	{`{"choices":[{"index":"0"}]}`, false},
	{`{"choices":[{"index":1.5}]}`, false},
	{`{"choices":[{"index":1e2}]}`, false},
	{`{"choices":[{"index":12345678901234567890}]}`, false},
	{`{"choices":{"index":0}}`, false},
	{`{"choices":["x"]}`, false},
	{`{"usage":5}`, false},
	{`{"choices":[]} {}`, false},
	{`{"choices":[]`, false},
	{`{"a":tru}`, false},
	{`[]`, false},
	{``, false},
	{`null`, false},
}

// plainChunk scans data for what chunkScan.plain says.
func plainChunk(data []byte) bool {
	var cs chunkScan
	cs.run(data)
	return cs.plain
}

func TestPlainChunk(t *testing.T) {
	for _, tc := range plainChunkCases {
		if got := plainChunk([]byte(tc.chunk)); got != tc.plain {
			t.Errorf("plainChunk(%s) = %v", tc.chunk, got)
		}
	}
}

// checkRenamed fails unless a plain chunk renamed from its scan is what
// renamer makes of it.
func checkRenamed(t *testing.T, chunk []byte) {
	var cs chunkScan
	if cs.run(chunk); !cs.plain {
		return
	}
	rn := newRenamer("asked \"alias\"")
	want := rn.rename(chunk, false)
	if got := cs.appendRenamed([]byte("prefix"), chunk, rn.name); !bytes.Equal(got, append([]byte("prefix"), want...)) {
		t.Fatalf("renamed from the scan: %s\nrenamer: %s", got, want)
	}
}

func TestChunkScanRenames(t *testing.T) {
	for _, tc := range plainChunkCases {
		checkRenamed(t, []byte(tc.chunk))
	}
}

// FuzzPlainChunk: a chunk plainChunk passes over is one the lean decoder
// reads without an error and learns nothing from, and the scan renames
// it as renamer would.
func FuzzPlainChunk(f *testing.F) {
	for _, tc := range plainChunkCases {
		f.Add([]byte(tc.chunk))
	}
	f.Fuzz(func(t *testing.T, chunk []byte) {
		if !plainChunk(chunk) {
			return
		}
		checkRenamed(t, chunk)
		d := newDecoder(openAIFormat, "up", true).(*chatDecoder)
		if err := d.decodeLean(sseEvent{data: chunk}); err != nil {
			t.Fatalf("plain, but the decoder says %v: %s", err, chunk)
		}
		if d.st != (streamState{}) || d.usageOnly {
			t.Fatalf("plain, but the decoder learnt %+v (usage only %v): %s", d.st, d.usageOnly, chunk)
		}
	})
}
