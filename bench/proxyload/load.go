package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// target is a way to the upstream: its chat-completions URL and the
// headers a client sends it.
type target struct {
	name    string
	url     string
	headers map[string]string
}

// result is what a phase measured: the time to the first event and to
// the end of each stream counted, and the streams that went wrong.
type result struct {
	name        string
	ttfb, total []time.Duration
	all         int           // streams finished, warm-up included
	cpu         time.Duration // CPU the proxy's process used meanwhile, if known
	failed      int           // errors, bad statuses, streams cut short
	mixed       int           // streams whose text was not their own
	examples    []string      // the first few failures
}

// run drives t with clients concurrent streaming clients, each sending
// its next request as soon as its last stream ended, for warmup (not
// counted) then dur. Every stream's text is checked against the request's
// own id.
func run(t target, clients, chunks int, warmup, dur time.Duration, pid int) *result {
	tr := &http.Transport{MaxIdleConns: clients * 2, MaxIdleConnsPerHost: clients * 2, DisableCompression: true, IdleConnTimeout: time.Minute}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 2 * time.Minute} // hang guard
	res := &result{name: t.name}
	// One stream alone first: the proxy verifies an API key once (argon2id)
	// and remembers it; the clients then measure the steady state.
	if _, _, err := stream(client, t, t.name+"-first", chunks); err != nil {
		res.failed, res.examples = 1, []string{err.Error()}
		return res
	}
	cpu0 := cpuTime(pid)
	start := time.Now()
	countFrom, stop := start.Add(warmup), start.Add(warmup+dur)
	var mu sync.Mutex
	var wg sync.WaitGroup
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; time.Now().Before(stop); n++ {
				id := fmt.Sprintf("%s-c%d-r%d", t.name, c, n)
				began := time.Now()
				ttfb, total, err := stream(client, t, id, chunks)
				mu.Lock()
				switch {
				case err != nil:
					if _, ok := err.(mixedUp); ok {
						res.mixed++
					} else {
						res.failed++
					}
					if len(res.examples) < 5 {
						res.examples = append(res.examples, err.Error())
					}
				case began.After(countFrom):
					res.ttfb = append(res.ttfb, ttfb)
					res.total = append(res.total, total)
					fallthrough
				default:
					res.all++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if cpu0 >= 0 {
		res.cpu = cpuTime(pid) - cpu0
	}
	return res
}

// merge adds o's measurements to r's (r may be nil).
func (r *result) merge(o *result) *result {
	if r == nil {
		return o
	}
	r.ttfb, r.total = append(r.ttfb, o.ttfb...), append(r.total, o.total...)
	r.all, r.cpu, r.failed, r.mixed = r.all+o.all, r.cpu+o.cpu, r.failed+o.failed, r.mixed+o.mixed
	r.examples = append(r.examples, o.examples...)[:min(5, len(r.examples)+len(o.examples))]
	return r
}

// mixedUp is a stream that carried another request's text.
type mixedUp string

func (m mixedUp) Error() string { return string(m) }

// stream sends one streamed request for id and reads its answer to the
// end: ttfb is the time to its first event, total to its end.
func stream(client *http.Client, t target, id string, chunks int) (ttfb, total time.Duration, err error) {
	body, _ := json.Marshal(map[string]any{"model": "bench-model", "stream": true,
		"messages": []any{map[string]any{"role": "user", "content": id}}})
	req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, t.url, bytes.NewReader(body))
	if err != nil {
		return 0, 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range t.headers {
		req.Header.Set(k, v)
	}
	began := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		return 0, 0, fmt.Errorf("%s: %v", id, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return 0, 0, fmt.Errorf("%s: HTTP %d: %s", id, resp.StatusCode, b)
	}
	var text strings.Builder
	done := false
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for sc.Scan() {
		data, ok := bytes.CutPrefix(sc.Bytes(), []byte("data: "))
		if !ok {
			continue
		}
		if ttfb == 0 {
			ttfb = time.Since(began)
		}
		if string(data) == "[DONE]" {
			done = true
			continue
		}
		var c struct {
			Choices []struct {
				Delta struct {
					Content string `json:"content"`
				} `json:"delta"`
			} `json:"choices"`
			Error any `json:"error"`
		}
		if err := json.Unmarshal(data, &c); err != nil || c.Error != nil {
			return 0, 0, fmt.Errorf("%s: bad event %q", id, data)
		}
		for _, ch := range c.Choices {
			text.WriteString(ch.Delta.Content)
		}
	}
	total = time.Since(began)
	if err := sc.Err(); err != nil {
		return 0, 0, fmt.Errorf("%s: reading the stream: %v", id, err)
	}
	var want strings.Builder
	for i := range chunks {
		want.WriteString(chunkText(id, i))
	}
	switch got := text.String(); {
	case got != want.String() && strings.HasPrefix(want.String(), got):
		return 0, 0, fmt.Errorf("%s: the stream was cut after %d bytes of text", id, len(got))
	case got != want.String():
		return 0, 0, mixedUp(fmt.Sprintf("%s: got another text: %.120q", id, got))
	case !done:
		return 0, 0, fmt.Errorf("%s: the stream ended without [DONE]", id)
	}
	return ttfb, total, nil
}

// pct is the p-th percentile of ds, sorted.
func pct(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	return ds[min(len(ds)-1, int(float64(len(ds))*p))]
}

// cpuTime is the user and system time process pid has used (Linux's
// /proc/PID/stat), or -1 when unknown.
func cpuTime(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if pid == 0 || err != nil {
		return -1
	}
	// The fields after the command's closing parenthesis; utime and stime
	// are the 14th and 15th of the line, in clock ticks (100 a second).
	_, rest, ok := bytes.Cut(b, []byte(") "))
	f := strings.Fields(string(rest))
	if !ok || len(f) < 13 {
		return -1
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return -1
	}
	return time.Duration(ut+st) * 10 * time.Millisecond
}
