package llmtest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"
)

const maxBody = 32 << 20

func (s *Server) handleChat(w http.ResponseWriter, r *http.Request) {
	raw, err := io.ReadAll(io.LimitReader(r.Body, maxBody))
	rec := RecordedRequest{Method: r.Method, Path: r.URL.Path, Header: r.Header.Clone(), Raw: string(raw)}
	if err != nil {
		s.record(rec, false)
		writeError(w, http.StatusBadRequest, "llmtest: reading the request body: "+err.Error(), "invalid_request_error", "", "")
		return
	}
	var body ChatRequest
	if err := json.Unmarshal(raw, &body); err != nil {
		// A request the server cannot read does not use up a turn.
		s.record(rec, false)
		writeError(w, http.StatusBadRequest, "llmtest: the request body is not a chat-completions JSON object: "+err.Error(), "invalid_request_error", "", "")
		return
	}
	rec.Body = &body
	turnIdx, n := s.record(rec, true)
	if turnIdx < 0 {
		writeError(w, http.StatusInternalServerError,
			fmt.Sprintf("llmtest: script exhausted: all %d scripted turns have been played, and request #%d (%s %s) has no turn to answer it; add turns to the script or check why the client sent more requests than expected",
				len(s.script.Turns), n, r.Method, r.URL.Path),
			"llmtest_script_exhausted", "", "")
		return
	}
	turn := s.script.Turns[turnIdx]
	f := turn.Fault
	if f == nil {
		f = &Fault{}
	}
	if !s.wait(r, f.DelayMS) {
		return
	}
	if f.Stall {
		s.hold(r)
		return
	}
	if f.Status != 0 {
		if f.RetryAfter != "" {
			w.Header().Set("Retry-After", string(f.RetryAfter))
		}
		msg := f.Message
		if msg == "" {
			msg = fmt.Sprintf("llmtest: injected fault (turn %d): HTTP %d %s", turnIdx, f.Status, http.StatusText(f.Status))
		}
		typ := f.Type
		if typ == "" {
			typ = "llmtest_fault"
		}
		writeError(w, f.Status, msg, typ, f.Code, "")
		return
	}
	a := buildAnswer(turn, turnIdx, body, len(raw))
	if body.Stream {
		s.stream(w, r, a, f, body.StreamOptions != nil && body.StreamOptions.IncludeUsage)
	} else {
		s.whole(w, a, f)
	}
}

// stream writes the answer as SSE chunks, cutting or pausing as f says.
func (s *Server) stream(w http.ResponseWriter, r *http.Request, a answer, f *Fault, includeUsage bool) {
	if f.cuts() && f.CutAfter == 0 {
		hangUp(w)
		return
	}
	chunks := a.chunks(includeUsage)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	if f.StallAfterHeaders {
		rc.Flush()
		s.hold(r)
		return
	}
	if f.Endless {
		s.endless(w, r, chunks, len(splitWords(a.text)), f.ChunkDelayMS)
		return
	}
	for i, c := range chunks {
		if f.cuts() && i == f.CutAfter {
			hangUp(w)
			return
		}
		if f.StallAfter > 0 && i == f.StallAfter {
			s.hold(r)
			return
		}
		if i > 0 && !s.wait(r, f.ChunkDelayMS) {
			return
		}
		if _, err := fmt.Fprintf(w, "data: %s\n\n", c); err != nil {
			return
		}
		if rc.Flush() != nil {
			return
		}
	}
	if f.cuts() {
		// cut_after at or beyond the last chunk still withholds [DONE].
		hangUp(w)
		return
	}
	fmt.Fprint(w, "data: [DONE]\n\n")
	rc.Flush()
}

// endless writes the role chunk, then the text chunks again and again,
// until the client leaves or the server closes.
func (s *Server) endless(w http.ResponseWriter, r *http.Request, chunks [][]byte, words, delayMS int) {
	rc := http.NewResponseController(w)
	// chunks holds the role chunk, then one per word of the text (Validate
	// insists on text), then tool calls, the finish and usage, never sent.
	for i := 0; ; i++ {
		c := chunks[0]
		if i > 0 {
			c = chunks[1+(i-1)%words]
			if !s.wait(r, delayMS) {
				return
			}
		}
		if _, err := fmt.Fprintf(w, "data: %s\n\n", c); err != nil {
			return
		}
		if rc.Flush() != nil {
			return
		}
		select {
		case <-r.Context().Done():
			return
		case <-s.done:
			return
		default:
		}
	}
}

// hold keeps a request unanswered until the client leaves or the server
// closes.
func (s *Server) hold(r *http.Request) {
	select {
	case <-r.Context().Done():
	case <-s.done:
	}
}

// whole writes the answer as one JSON object.
func (s *Server) whole(w http.ResponseWriter, a answer, f *Fault) {
	if f.cuts() {
		hangUp(w)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(a.completion())
}

// hangUp closes the connection without finishing the response, as a crashed
// server or a dropped network would.
func hangUp(w http.ResponseWriter) {
	rc := http.NewResponseController(w)
	rc.Flush()
	conn, _, err := rc.Hijack()
	if err != nil {
		// Cannot hijack (HTTP/2): abandon the response as best we can.
		return
	}
	conn.Close()
}

// wait sleeps ms milliseconds unless the client goes away or the server
// closes; it reports whether to go on.
func (s *Server) wait(r *http.Request, ms int) bool {
	if ms <= 0 {
		return true
	}
	t := time.NewTimer(time.Duration(ms) * time.Millisecond)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
		return false
	case <-s.done:
		return false
	}
}

func (s *Server) handleModels(w http.ResponseWriter, r *http.Request) {
	s.record(RecordedRequest{Method: r.Method, Path: r.URL.Path, Header: r.Header.Clone()}, false)
	model := s.script.Model
	if model == "" {
		model = "llmtest"
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{
		"object": "list",
		"data": []map[string]any{
			{"id": model, "object": "model", "created": created, "owned_by": "llmtest"},
		},
	})
}

func (s *Server) handleUnknown(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(io.LimitReader(r.Body, maxBody))
	s.record(RecordedRequest{Method: r.Method, Path: r.URL.Path, Header: r.Header.Clone(), Raw: string(raw)}, false)
	writeError(w, http.StatusNotFound,
		fmt.Sprintf("llmtest: no route for %s %s; llmtest serves POST /v1/chat/completions and GET /v1/models (is the base URL missing /v1?)", r.Method, r.URL.Path),
		"invalid_request_error", "unknown_url", "")
}

// writeError writes an error in OpenAI's shape.
func writeError(w http.ResponseWriter, status int, msg, typ, code, param string) {
	e := map[string]any{"message": msg, "type": typ, "param": nil, "code": nil}
	if code != "" {
		e["code"] = code
	}
	if param != "" {
		e["param"] = param
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"error": e})
}
