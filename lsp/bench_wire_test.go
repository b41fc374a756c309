package lsp

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.lsp.dev/uri"
)

// pipeConn joins the two OS pipes a stdio server reads and writes.
type pipeConn struct {
	io.Reader
	io.Writer
	closers []io.Closer
}

func (p pipeConn) Close() error {
	for _, c := range p.closers {
		c.Close()
	}
	return nil
}

// wireClient speaks raw LSP framing to a server over OS pipes, as an
// editor does over stdio. It decodes nothing but the frames' headers and
// ids, so a benchmark measures the server and the transport, not a client
// library's JSON decoding.
type wireClient struct {
	w       *os.File
	answers chan []byte // bodies of responses, in order
	nextID  int
}

func newWireClient(tb testing.TB, opts Options) *wireClient {
	tb.Helper()
	toServer, fromClient, err := os.Pipe()
	if err != nil {
		tb.Fatal(err)
	}
	toClient, fromServer, err := os.Pipe()
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		New(opts).Serve(ctx, pipeConn{Reader: toServer, Writer: fromServer, closers: []io.Closer{toServer, fromServer}})
		close(done)
	}()
	c := &wireClient{w: fromClient, answers: make(chan []byte, 16)}
	go c.read(toClient)
	tb.Cleanup(func() { cancel(); fromClient.Close(); <-done; toClient.Close() })
	return c
}

// read passes on the bodies of responses and drops the server's
// notifications (diagnostics, logs).
func (c *wireClient) read(r io.Reader) {
	defer close(c.answers)
	br := bufio.NewReaderSize(r, 1<<20)
	for {
		n := -1
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				return
			}
			line = strings.TrimRight(line, "\r\n")
			if line == "" {
				break
			}
			if v, ok := strings.CutPrefix(line, "Content-Length: "); ok {
				n, _ = strconv.Atoi(v)
			}
		}
		if n < 0 {
			return
		}
		body := make([]byte, n)
		if _, err := io.ReadFull(br, body); err != nil {
			return
		}
		if !bytes.Contains(body[:min(len(body), 64)], []byte(`"method"`)) {
			c.answers <- body
		}
	}
}

// send writes messages as frames in one write; calls get an id.
func (c *wireClient) send(tb testing.TB, msgs ...map[string]any) {
	tb.Helper()
	var buf bytes.Buffer
	for _, m := range msgs {
		m["jsonrpc"] = "2.0"
		if _, ok := m["id"]; ok {
			c.nextID++
			m["id"] = c.nextID
		}
		body, err := json.Marshal(m)
		if err != nil {
			tb.Fatal(err)
		}
		fmt.Fprintf(&buf, "Content-Length: %d\r\n\r\n", len(body))
		buf.Write(body)
	}
	if _, err := c.w.Write(buf.Bytes()); err != nil {
		tb.Fatal(err)
	}
}

// answer waits for the next response body.
func (c *wireClient) answer(tb testing.TB) []byte {
	tb.Helper()
	select {
	case body, ok := <-c.answers:
		if !ok {
			tb.Fatal("the server closed the connection")
		}
		// An answer's envelope keys come before its result.
		if head := body[:min(len(body), 64)]; !bytes.Contains(head, []byte(`"result"`)) {
			tb.Fatalf("error answer: %.300s", body)
		}
		return body
	case <-time.After(10 * time.Second):
		tb.Fatal("no answer in 10s")
	}
	return nil
}

func call(method string, params any) map[string]any {
	return map[string]any{"id": 0, "method": method, "params": params}
}

func notify(method string, params any) map[string]any {
	return map[string]any{"method": method, "params": params}
}

// BenchmarkDocumentSymbolAfterEdit measures what an outline view costs as
// the user types, as an editor sees it over stdio: a didChange inserting
// one line into a 10,000-line file and a documentSymbol request written
// together, until the last byte of the answer (about 4,000 symbols, 940
// KB of JSON) is read. The client's own JSON decoding is not included. It
// reports the median, with the collector set as `loom lsp` sets it.
func BenchmarkDocumentSymbolAfterEdit(b *testing.B) {
	// As `loom lsp` runs (unless GOGC is set).
	if os.Getenv("GOGC") == "" {
		defer debug.SetGCPercent(debug.SetGCPercent(GCPercent))
	}
	var src strings.Builder
	src.WriteString("package big\n\n")
	for i := 0; strings.Count(src.String(), "\n") < 10_000-10; i++ {
		fmt.Fprintf(&src, "// F%d does a thing.\nfunc F%d(x int) int {\n\ty := x * %d\n\tif y > 10 {\n\t\treturn y\n\t}\n\treturn x\n}\n\ntype T%d struct{ A, B int }\n", i, i, i, i)
	}
	text := src.String()
	dir := b.TempDir()
	c := newWireClient(b, Options{})
	c.send(b, call("initialize", map[string]any{"rootUri": string(uri.File(dir)), "capabilities": map[string]any{}}))
	c.answer(b)
	u := string(uri.File(filepath.Join(dir, "big.go")))
	c.send(b, notify("initialized", map[string]any{}),
		notify("textDocument/didOpen", map[string]any{"textDocument": map[string]any{"uri": u, "languageId": "go", "version": 1, "text": text}}))

	times := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		line := 5000 + i%100*7
		change := notify("textDocument/didChange", map[string]any{
			"textDocument":   map[string]any{"uri": u, "version": i + 2},
			"contentChanges": []any{map[string]any{"range": map[string]any{"start": map[string]any{"line": line, "character": 0}, "end": map[string]any{"line": line, "character": 0}}, "text": "\t// edited\n"}},
		})
		req := call("textDocument/documentSymbol", map[string]any{"textDocument": map[string]any{"uri": u}})
		start := time.Now()
		c.send(b, change, req)
		res := c.answer(b)
		times = append(times, time.Since(start))
		// Checking the answer is the benchmark's own work, not timed.
		if i == 0 || i == b.N-1 {
			b.StopTimer()
			if n := bytes.Count(res, []byte(`"selectionRange"`)); n < 3990 {
				b.Fatalf("only %d symbols", n)
			}
			b.StartTimer()
		}
	}
	b.StopTimer()
	c.send(b, call("shutdown", nil))
	c.answer(b)
	c.send(b, notify("exit", nil))
	slices.Sort(times)
	b.ReportMetric(float64(times[len(times)/2].Microseconds())/1000, "median-ms")
}
