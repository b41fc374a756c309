package llmtest

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
)

// Server is a running scripted model server.
type Server struct {
	// URL is the base URL clients are configured with, ending in /v1:
	// OpenAI's clients append /chat/completions, Loom's Anthropic provider
	// /messages. (Anthropic's SDKs append /v1/messages: give them the URL
	// without /v1.)
	URL string

	srv    *httptest.Server
	script Script
	done   chan struct{} // closed by Close, so delayed handlers give up at once
	once   sync.Once

	// inFlight counts model requests being answered.
	inFlight atomic.Int64

	mu         sync.Mutex
	next       int
	requests   []RecordedRequest
	recordPath string
	recordErr  error
}

// Start validates script and serves it on addr ("" means 127.0.0.1:0, a
// free loopback port).
func Start(script Script, addr string) (*Server, error) {
	if err := script.Validate(); err != nil {
		return nil, err
	}
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("llmtest: %w", err)
	}
	s := &Server{script: script, done: make(chan struct{})}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/chat/completions", s.handleChat)
	mux.HandleFunc("POST /v1/messages", s.handleMessages)
	mux.HandleFunc("GET /v1/models", s.handleModels)
	mux.HandleFunc("/", s.handleUnknown)
	s.srv = &httptest.Server{Listener: l, Config: &http.Server{Handler: mux}}
	s.srv.Start()
	s.URL = s.srv.URL + "/v1"
	return s, nil
}

// NewServer starts a server for script on a free loopback port and closes it
// when tb's test ends; it fails the test if the server cannot start.
func NewServer(tb testing.TB, script Script) *Server {
	tb.Helper()
	s, err := Start(script, "")
	if err != nil {
		tb.Fatalf("llmtest: %v", err)
	}
	tb.Cleanup(s.Close)
	return s
}

// Close stops the server and waits for handlers to return.
func (s *Server) Close() {
	s.once.Do(func() {
		close(s.done)
		s.srv.CloseClientConnections()
		s.srv.Close()
	})
}

// Requests returns a copy of the requests received so far, oldest first.
func (s *Server) Requests() []RecordedRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]RecordedRequest(nil), s.requests...)
}

// ChatRequests returns the decoded bodies of the chat requests received so
// far, oldest first.
func (s *Server) ChatRequests() []ChatRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []ChatRequest
	for _, r := range s.requests {
		if r.Body != nil {
			out = append(out, *r.Body)
		}
	}
	return out
}

// MessagesRequests returns the decoded bodies of the Anthropic Messages API
// requests received so far, oldest first.
func (s *Server) MessagesRequests() []MessagesRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []MessagesRequest
	for _, r := range s.requests {
		if r.Messages != nil {
			out = append(out, *r.Messages)
		}
	}
	return out
}

// InFlight is the number of model requests being answered now: a test
// sees a client's cancellation reach the server when it drops to zero
// while a turn would otherwise go on (stall, endless).
func (s *Server) InFlight() int { return int(s.inFlight.Load()) }

// Remaining is the number of turns not played yet, so a test can check its
// script was consumed exactly.
func (s *Server) Remaining() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.script.Turns) - s.next
}

// RecordTo makes the server rewrite path with all recorded requests (a JSON
// array) after each request, so another process can read them at any time.
func (s *Server) RecordTo(path string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.recordPath = path
	return writeRecords(path, s.requests)
}

// RecordErr is the last error writing the record file, if any.
func (s *Server) RecordErr() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.recordErr
}

// record stores rec and, for chat requests (claimTurn), takes the next turn.
// It returns the turn's index, or -1 when the script is exhausted.
func (s *Server) record(rec RecordedRequest, claimTurn bool) (int, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec.Turn = -1
	if claimTurn && s.next < len(s.script.Turns) {
		rec.Turn = s.next
		s.next++
	}
	s.requests = append(s.requests, rec)
	if s.recordPath != "" {
		s.recordErr = writeRecords(s.recordPath, s.requests)
	}
	return rec.Turn, len(s.requests)
}
