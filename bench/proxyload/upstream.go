package main

import (
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
	// Chunks are due at fixed times from the request's arrival, as a
	// model's tokens come at the model's pace: a late write does not push
	// the later chunks back, so a stream's end measures how late its last
	// chunk was delivered, not how late every timer before it fired.
	began := time.Now()
	if !sleepUntil(r, began.Add(u.firstDelay)) {
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	flusher := w.(http.Flusher)
	// Every chunk is the same JSON with another delta: its head is built
	// once, and only the text is quoted per chunk.
	head := fmt.Appendf(nil, `data: {"id":%s,"object":"chat.completion.chunk","created":%d,"model":%s,`,
		quote("chatcmpl-"+id), began.Unix(), quote(req.Model))
	buf := make([]byte, 0, 512)
	send := func(tail string) {
		buf = append(append(append(buf[:0], head...), tail...), "}\n\n"...)
		w.Write(buf)
		flusher.Flush()
	}
	for i := 0; i < u.chunks; i++ {
		if i > 0 && !sleepUntil(r, began.Add(u.firstDelay+time.Duration(i)*u.chunkDelay)) {
			return
		}
		role := ""
		if i == 0 {
			role = `"role":"assistant",`
		}
		send(`"choices":[{"index":0,"delta":{` + role + `"content":` + string(quote(chunkText(id, i))) + `},"finish_reason":null}]`)
	}
	send(`"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]`)
	if req.StreamOptions != nil && req.StreamOptions.IncludeUsage {
		send(fmt.Sprintf(`"choices":[],"usage":{"prompt_tokens":%d,"completion_tokens":%d,"total_tokens":%d}`,
			10+len(strings.Fields(id)), u.chunks, 10+u.chunks))
	}
	w.Write([]byte("data: [DONE]\n\n"))
	flusher.Flush()
}

// quote is s as a JSON string.
func quote(s string) []byte {
	b, _ := json.Marshal(s)
	return b
}

// sleepUntil waits until at unless the client leaves first.
func sleepUntil(r *http.Request, at time.Time) bool {
	d := time.Until(at)
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
