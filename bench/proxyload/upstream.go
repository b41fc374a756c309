package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"
)

// upstream is a model server in OpenAI's chat-completions format that
// streams like one: the first chunk after firstDelay, then chunks
// chunkDelay apart. Each chunk's text names the request (the last user
// message) and the chunk's number, so a client can tell its stream from
// another's. llm/llmtest plays one script's turns in order and cannot echo
// a request, hence this one.
type upstream struct {
	key                    string
	chunks                 int
	firstDelay, chunkDelay time.Duration
	srv                    *http.Server
	url                    string // base URL, ending in /v1
}

// chunkText is the text of chunk i of request id's answer.
func chunkText(id string, i int) string { return fmt.Sprintf("%s:%d ", id, i) }

func startUpstream(key string, chunks int, firstDelay, chunkDelay time.Duration) (*upstream, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	u := &upstream{key: key, chunks: chunks, firstDelay: firstDelay, chunkDelay: chunkDelay}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/chat/completions", u.complete)
	u.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	u.url = "http://" + l.Addr().String() + "/v1"
	go u.srv.Serve(l)
	return u, nil
}

func (u *upstream) complete(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") != "Bearer "+u.key {
		http.Error(w, `{"error":{"message":"bad key","type":"invalid_request_error"}}`, http.StatusUnauthorized)
		return
	}
	var req struct {
		Model    string `json:"model"`
		Stream   bool   `json:"stream"`
		Messages []struct {
			Role    string `json:"role"`
			Content string `json:"content"`
		} `json:"messages"`
		StreamOptions *struct {
			IncludeUsage bool `json:"include_usage"`
		} `json:"stream_options"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&req); err != nil || !req.Stream || len(req.Messages) == 0 {
		http.Error(w, `{"error":{"message":"want a streamed chat completion","type":"invalid_request_error"}}`, http.StatusBadRequest)
		return
	}
	id := req.Messages[len(req.Messages)-1].Content
	if !sleep(r, u.firstDelay) {
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	bw := bufio.NewWriter(w)
	flusher := w.(http.Flusher)
	created := time.Now().Unix()
	send := func(delta map[string]any, finish any, usage any) {
		c := map[string]any{"id": "chatcmpl-" + id, "object": "chat.completion.chunk", "created": created, "model": req.Model,
			"choices": []any{map[string]any{"index": 0, "delta": delta, "finish_reason": finish}}}
		if usage != nil {
			c["choices"] = []any{}
			c["usage"] = usage
		}
		b, _ := json.Marshal(c)
		bw.WriteString("data: ")
		bw.Write(b)
		bw.WriteString("\n\n")
		bw.Flush()
		flusher.Flush()
	}
	for i := 0; i < u.chunks; i++ {
		if i > 0 && !sleep(r, u.chunkDelay) {
			return
		}
		delta := map[string]any{"content": chunkText(id, i)}
		if i == 0 {
			delta["role"] = "assistant"
		}
		send(delta, nil, nil)
	}
	send(map[string]any{}, "stop", nil)
	if req.StreamOptions != nil && req.StreamOptions.IncludeUsage {
		send(nil, nil, map[string]any{"prompt_tokens": 10 + len(strings.Fields(id)), "completion_tokens": u.chunks, "total_tokens": 10 + u.chunks})
	}
	bw.WriteString("data: [DONE]\n\n")
	bw.Flush()
	flusher.Flush()
}

// sleep waits d unless the client leaves first.
func sleep(r *http.Request, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
		return false
	}
}
