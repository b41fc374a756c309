package llmtest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"
)

const maxBody = 32 << 20

func (s *Server) handleChat(w http.ResponseWriter, r *http.Request) { s.serve(w, r, openAIFormat{}) }

func (s *Server) handleMessages(w http.ResponseWriter, r *http.Request) {
	s.serve(w, r, anthropicFormat{})
}

// serve answers a model request in format f with the next turn.
func (s *Server) serve(w http.ResponseWriter, r *http.Request, f wireFormat) {
	s.inFlight.Add(1)
	defer s.inFlight.Add(-1)
	raw, err := io.ReadAll(io.LimitReader(r.Body, maxBody))
	rec := RecordedRequest{Method: r.Method, Path: r.URL.Path, Header: r.Header.Clone(), Raw: string(raw)}
	if err != nil {
		s.record(rec, false)
		f.writeError(w, http.StatusBadRequest, "llmtest: reading the request body: "+err.Error(), "invalid_request_error", "")
		return
	}
	req, err := f.decode(raw, r.Header, &rec)
	if err != nil {
		// A request the real API would refuse does not use up a turn.
		s.record(rec, false)
		f.writeError(w, http.StatusBadRequest, "llmtest: "+err.Error(), "invalid_request_error", "")
		return
	}
	turnIdx, n := s.record(rec, true)
	if turnIdx < 0 {
		f.writeError(w, http.StatusInternalServerError,
			fmt.Sprintf("llmtest: script exhausted: all %d scripted turns have been played, and request #%d (%s %s) has no turn to answer it; add turns to the script or check why the client sent more requests than expected",
				len(s.script.Turns), n, r.Method, r.URL.Path),
			"llmtest_script_exhausted", "")
		return
	}
	turn := s.script.Turns[turnIdx]
	fault := turn.Fault
	if fault == nil {
		fault = &Fault{}
	}
	if !s.wait(r, fault.DelayMS) {
		return
	}
	if fault.Stall {
		s.hold(r)
		return
	}
	if fault.Status != 0 {
		if fault.RetryAfter != "" {
			w.Header().Set("Retry-After", string(fault.RetryAfter))
		}
		msg := fault.Message
		if msg == "" {
			msg = fmt.Sprintf("llmtest: injected fault (turn %d): HTTP %d %s", turnIdx, fault.Status, http.StatusText(fault.Status))
		}
		f.writeError(w, fault.Status, msg, fault.Type, fault.Code)
		return
	}
	a := buildAnswer(turn, turnIdx, req.model, len(raw))
	if req.stream {
		s.stream(w, r, f, f.frames(a, req.includeUsage), fault)
	} else {
		s.whole(w, f.whole(a), fault)
	}
}

// stream writes the answer's SSE frames, cutting, pausing or failing as
// fault says.
func (s *Server) stream(w http.ResponseWriter, r *http.Request, f wireFormat, fr frames, fault *Fault) {
	if fault.cuts() && fault.CutAfter == 0 {
		hangUp(w)
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	if fault.StallAfterHeaders {
		rc.Flush()
		s.hold(r)
		return
	}
	if fault.Endless {
		s.endless(w, r, fr, fault.ChunkDelayMS)
		return
	}
	for i, c := range fr.all {
		if fault.cuts() && i == fault.CutAfter {
			hangUp(w)
			return
		}
		if fault.StallAfter > 0 && i == fault.StallAfter {
			s.hold(r)
			return
		}
		if fault.StreamErrorAfter > 0 && i == fault.StreamErrorAfter {
			w.Write(f.streamError(fault.Type, fault.Message))
			rc.Flush()
			return
		}
		if i > 0 && !s.wait(r, fault.ChunkDelayMS) {
			return
		}
		if _, err := w.Write(c); err != nil {
			return
		}
		if rc.Flush() != nil {
			return
		}
	}
	if fault.cuts() {
		// cut_after at or beyond the last chunk still withholds the end.
		hangUp(w)
		return
	}
	if fr.done != nil {
		w.Write(fr.done)
		rc.Flush()
	}
}

// endless writes the frames that open the answer, then its text frames
// again and again, until the client leaves or the server closes.
func (s *Server) endless(w http.ResponseWriter, r *http.Request, fr frames, delayMS int) {
	rc := http.NewResponseController(w)
	// Validate insists on text, so there is at least one text frame.
	for i := 0; ; i++ {
		var c []byte
		if i < fr.textStart {
			c = fr.all[i]
		} else {
			c = fr.all[fr.textStart+(i-fr.textStart)%fr.textFrames]
			if !s.wait(r, delayMS) {
				return
			}
		}
		if _, err := w.Write(c); err != nil {
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
func (s *Server) whole(w http.ResponseWriter, body any, f *Fault) {
	if f.cuts() {
		hangUp(w)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(body)
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
	openAIFormat{}.writeError(w, http.StatusNotFound,
		fmt.Sprintf("llmtest: no route for %s %s; llmtest serves POST /v1/chat/completions, POST /v1/messages and GET /v1/models (is the base URL missing /v1?)", r.Method, r.URL.Path),
		"invalid_request_error", "unknown_url")
}

// writeJSON writes an error answer.
func writeJSON(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(body)
}
