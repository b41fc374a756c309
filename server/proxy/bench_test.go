package proxy_test

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/loom-agent/loom/llm/llmtest"
)

// BenchmarkStreamOverhead measures what the proxy adds to one streamed
// call: the same OpenAI-format request sent to the scripted upstream
// directly and through the assembled team server (authentication, the
// organisation, Cedar, the real meter without limits, the upstream call,
// the stream piped back), with an API key, a `loom login` token, and
// across formats. ns/op and allocs/op include the client and the upstream
// (all in this process): the proxy's own cost is the difference from
// "direct". ttfb-ns/op is the time to the first event's bytes, p50
// reported as ttfb-p50-ns; cpu-ns/op the CPU time of the whole process
// (user and system), which a busy machine inflates less than wall time.
func BenchmarkStreamOverhead(b *testing.B) {
	const body = `{"model": %q, "stream": true, "messages": [{"role": "user", "content": "hi"}]}`
	for _, bc := range []struct {
		name, model, cred string
		direct            bool
	}{
		{name: "direct", direct: true},
		{name: "key", model: "gpt", cred: "key"},
		{name: "token", model: "gpt", cred: "token"},
		{name: "key-translated", model: "claude", cred: "key"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			turns := make([]llmtest.Turn, b.N)
			for i := range turns {
				turns[i] = llmtest.Turn{Text: strings.Repeat("word ", 20), Usage: &llmtest.Usage{PromptTokens: 10, CompletionTokens: 20}}
			}
			e := newEnv(b, llmtest.Script{Turns: turns}, llmtest.Script{Turns: turns}, nil)
			e.team.Proxy.SetMeter(e.team.Usage)
			url, model, auth := e.url+"/v1/chat/completions", bc.model, "Bearer "+e.key
			switch {
			case bc.direct:
				url, model, auth = e.oa.URL+"/chat/completions", "gpt-4o-mini", "Bearer "+openAIKey
			case bc.cred == "token":
				auth = "Bearer " + e.owner
			}
			payload := []byte(strings.Replace(body, "%q", `"`+model+`"`, 1))
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
			ttfb := make([]time.Duration, 0, b.N)
			b.ReportAllocs()
			cpu0 := cpuTime()
			b.ResetTimer()
			for range b.N {
				start := time.Now()
				req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(payload))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Authorization", auth)
				resp, err := client.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				rd := bufio.NewReader(resp.Body)
				if _, err := rd.ReadSlice('\n'); err != nil || resp.StatusCode != 200 {
					b.Fatalf("HTTP %d: %v", resp.StatusCode, err)
				}
				ttfb = append(ttfb, time.Since(start))
				rest, err := io.ReadAll(rd)
				resp.Body.Close()
				if err != nil || !bytes.Contains(rest, []byte("[DONE]")) {
					b.Fatalf("stream cut: %v %s", err, rest)
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
			var sum time.Duration
			for _, d := range ttfb {
				sum += d
			}
			slices.Sort(ttfb)
			b.ReportMetric(float64(sum.Nanoseconds())/float64(b.N), "ttfb-ns/op")
			b.ReportMetric(float64(ttfb[len(ttfb)/2].Nanoseconds()), "ttfb-p50-ns")
		})
	}
}

// cpuTime is the CPU time this process has used, in nanoseconds.
func cpuTime() int64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return ru.Utime.Nano() + ru.Stime.Nano()
}
