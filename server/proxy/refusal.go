package proxy

import (
	"bytes"
	"encoding/json"
	"net/http"
)

// Refusals is middleware to put outside the server's authentication: a
// credential refused there, before the proxy's handlers run (a wrong or
// revoked `loom login` token or API key, answered 401 in the server's own
// error shape), is answered on the proxy's endpoints in the format of the
// endpoint the client called, so OpenAI's and Anthropic's SDKs raise their
// AuthenticationError: {"error": {"type": "authentication_error", …}} on
// /v1/chat/completions and /v1/models (Anthropic's shape there when the
// client sends anthropic-version), {"type": "error", "error": {"type":
// "authentication_error", …}} on /v1/messages. Other paths, and answers
// the proxy wrote itself (already in the client's format), pass as they
// came.
func (p *Proxy) Refusals(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f, ok := endpointFormat(r)
		if !ok {
			next.ServeHTTP(w, r)
			return
		}
		rw := &refusalWriter{ResponseWriter: w}
		next.ServeHTTP(rw, r)
		if rw.held {
			rw.reword(f)
		}
	})
}

// endpointFormat is the format of the proxy's endpoint r calls.
func endpointFormat(r *http.Request) (format, bool) {
	switch r.URL.Path {
	case "/v1/chat/completions":
		return openAIFormat, true
	case "/v1/messages":
		return anthropicFormat, true
	case "/v1/models":
		if r.Header.Get("Anthropic-Version") != "" {
			return anthropicFormat, true
		}
		return openAIFormat, true
	}
	return 0, false
}

// maxRefusalBytes bounds the server's error body held to be reworded.
const maxRefusalBytes = 16 << 10

// refusalWriter holds back a 401 and its body; everything else passes.
type refusalWriter struct {
	http.ResponseWriter
	wrote, held bool
	body        bytes.Buffer
}

func (w *refusalWriter) WriteHeader(code int) {
	if !w.wrote && code == http.StatusUnauthorized {
		w.wrote, w.held = true, true
		return
	}
	w.wrote = true
	w.ResponseWriter.WriteHeader(code)
}

func (w *refusalWriter) Write(b []byte) (int, error) {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	if w.held {
		if w.body.Len()+len(b) > maxRefusalBytes {
			return 0, http.ErrContentLength
		}
		return w.body.Write(b)
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection (streams are
// flushed through it).
func (w *refusalWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// reword writes the held 401: the server's {"error": "message"} as an
// error of format f; any other body as it came.
func (w *refusalWriter) reword(f format) {
	var server struct {
		Error string `json:"error"`
	}
	if json.Unmarshal(w.body.Bytes(), &server) != nil || server.Error == "" {
		w.ResponseWriter.WriteHeader(http.StatusUnauthorized)
		w.ResponseWriter.Write(w.body.Bytes())
		return
	}
	fail(w.ResponseWriter, f, http.StatusUnauthorized, server.Error)
}
