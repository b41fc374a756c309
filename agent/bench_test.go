package agent

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/loom-agent/loom/llm/llmtest"
)

// Overhead scenario: 50 turns of 4 parallel read_file calls on small files
// (200 tool calls), then a final answer, against llmtest with no delays.
const (
	overheadTurns = 50
	overheadCalls = 4
)

// overheadFixture starts the scenario's server; close it when done. (Not
// llmtest.NewServer: its cleanup would keep every server of a benchmark, and
// their recorded requests, alive until the end.)
func overheadFixture(tb testing.TB) (*fixture, func()) {
	files := map[string]string{}
	for i := range overheadCalls {
		files[fmt.Sprintf("f%d.go", i)] = fmt.Sprintf("package p\n\n// File %d.\nvar X%d = %d\n", i, i, i)
	}
	var turns []llmtest.Turn
	for turn := range overheadTurns {
		var calls []llmtest.ToolCall
		for i := range overheadCalls {
			calls = append(calls, llmtest.ToolCall{ID: fmt.Sprintf("c%d_%d", turn, i), Name: "read_file",
				Arguments: []byte(fmt.Sprintf(`{"path":"f%d.go"}`, i))})
		}
		turns = append(turns, llmtest.Turn{Text: "Reading.", ToolCalls: calls})
	}
	turns = append(turns, llmtest.Turn{Text: "All read."})
	f := newFixtureFiles(tb, files)
	srv, err := llmtest.Start(llmtest.Script{Turns: turns}, "")
	if err != nil {
		tb.Fatal(err)
	}
	f.srv = srv
	return f, srv.Close
}

// runOverhead plays the scenario once and returns its wall time.
func runOverhead(tb testing.TB) time.Duration {
	f, done := overheadFixture(tb)
	defer done()
	a := f.agent(tb, Options{MaxTurns: overheadTurns + 1})
	var calls atomic.Int32
	start := time.Now()
	res, err := a.Run(context.Background(), Task{Instruction: "read everything", Workspace: f.ws}, func(ev Event) {
		if _, ok := ev.(ToolFinished); ok {
			calls.Add(1)
		}
	})
	d := time.Since(start)
	if err != nil || res.Final != "All read." || calls.Load() != overheadTurns*overheadCalls {
		tb.Fatalf("run: %v, final %q, %d tool calls", err, res.Final, calls.Load())
	}
	return d
}

// peakHeap samples HeapInuse while fn runs and returns the highest value.
// It collects first, so garbage of earlier work does not count.
func peakHeap(fn func()) uint64 {
	runtime.GC()
	var (
		peak uint64
		stop = make(chan struct{})
		wg   sync.WaitGroup
	)
	sample := func() {
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		peak = max(peak, ms.HeapInuse)
	}
	wg.Go(func() {
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				sample()
			}
		}
	})
	fn()
	close(stop)
	wg.Wait()
	sample()
	return peak
}

// TestAgentOverhead bounds the whole scenario: under 1 s of wall time and
// under 60 MB of heap in use (both include the in-process llmtest server,
// so they bound the agent's own overhead from above).
func TestAgentOverhead(t *testing.T) {
	if testing.Short() {
		t.Skip("timing test")
	}
	var d time.Duration
	peak := peakHeap(func() { d = runOverhead(t) })
	t.Logf("200 tool calls over 50 turns: %s wall, %.1f MB peak heap in use", d, float64(peak)/1e6)
	if d > time.Second {
		t.Errorf("the run took %s, want < 1s", d)
	}
	if peak > 60<<20 {
		t.Errorf("peak heap in use %.1f MB, want < 60 MB", float64(peak)/1e6)
	}
}

func BenchmarkAgentOverhead(b *testing.B) {
	var (
		total time.Duration
		peak  uint64
	)
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		f, done := overheadFixture(b)
		a := f.agent(b, Options{MaxTurns: overheadTurns + 1})
		runtime.GC()
		b.StartTimer()
		p := peakHeap(func() {
			start := time.Now()
			if _, err := a.Run(context.Background(), Task{Instruction: "read everything", Workspace: f.ws}, nil); err != nil {
				b.Fatal(err)
			}
			total += time.Since(start)
		})
		peak = max(peak, p)
		b.StopTimer()
		done()
		b.StartTimer()
	}
	b.ReportMetric(float64(total.Milliseconds())/float64(b.N), "ms/run")
	b.ReportMetric(float64(total.Microseconds())/float64(b.N*overheadTurns*overheadCalls), "µs/toolcall")
	b.ReportMetric(float64(peak)/1e6, "MB-peak-heap")
}
