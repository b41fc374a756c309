package mcp

import (
	"bytes"
	"crypto/rand"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	mcpgo "github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
)

// Bounds of the HTTP sessions: a client that never ends its sessions
// cannot make the server grow without bound. An idle session ends after a
// day; a client then starts a new one (the MCP specification says so on a
// 404).
const (
	maxSessions    = 1000
	sessionIdleTTL = 24 * time.Hour
)

// sessions issues the Mcp-Session-Id of the streamable HTTP transport
// (protocol revisions up to 2025-11-25; 2026-07-28 has no sessions) and
// checks it on every later request. An id is valid only if this server
// issued it at initialize, it has not ended (DELETE, idle, shutdown), and
// the request carries the credential that opened it, so a session id that
// leaks is of no use to a client with another token or none.
//
// It plugs into mcp-go as its SessionIdManagerResolver, which hands it
// each request; check answers what mcp-go would not answer as the
// specification says (400 without an id, 404 for GET and DELETE of an
// unknown one, 503 when full).
type sessions struct {
	mu   sync.Mutex
	live map[string]credential // id → the credential that opened it
	max  int
}

func newSessions(max int) *sessions {
	return &sessions{live: map[string]credential{}, max: max}
}

// open issues a new session for cred; "" when the table is full.
func (st *sessions) open(cred credential) string {
	st.mu.Lock()
	defer st.mu.Unlock()
	if len(st.live) >= st.max {
		return ""
	}
	id := rand.Text() // 128 random bits, visible ASCII as the specification asks
	st.live[id] = cred
	return id
}

// valid reports whether id is a live session opened with cred.
func (st *sessions) valid(id string, cred credential) bool {
	st.mu.Lock()
	owner, ok := st.live[id]
	st.mu.Unlock()
	return ok && subtle.ConstantTimeCompare(owner[:], cred[:]) == 1
}

func (st *sessions) end(id string) {
	st.mu.Lock()
	delete(st.live, id)
	st.mu.Unlock()
}

func (st *sessions) full() bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	return len(st.live) >= st.max
}

// ResolveSessionIdManager implements server.SessionIdManagerResolver. r is
// nil when mcp-go ends sessions on its own (idle sweep, shutdown).
func (st *sessions) ResolveSessionIdManager(r *http.Request) server.SessionIdManager {
	if r == nil {
		return sessionEnder{st}
	}
	return boundSessions{st: st, cred: credentialOf(r)}
}

// boundSessions is the session table as one request's credential sees it.
type boundSessions struct {
	st   *sessions
	cred credential
}

func (b boundSessions) Generate() string { return b.st.open(b.cred) }

func (b boundSessions) Validate(id string) (isTerminated bool, err error) {
	if !b.st.valid(id, b.cred) {
		return false, fmt.Errorf("session %q is unknown, ended, or not this client's", id)
	}
	return false, nil
}

func (b boundSessions) Terminate(id string) (isNotAllowed bool, err error) {
	if !b.st.valid(id, b.cred) {
		return true, nil // check answers 404 before this; never end another client's session
	}
	b.st.end(id)
	return false, nil
}

// sessionEnder ends sessions for mcp-go itself, and issues none.
type sessionEnder struct{ st *sessions }

func (e sessionEnder) Generate() string { return "" }
func (e sessionEnder) Validate(id string) (bool, error) {
	return false, fmt.Errorf("session %q: no request to check it against", id)
}
func (e sessionEnder) Terminate(id string) (bool, error) { e.st.end(id); return false, nil }

// check answers the session errors of the specification before mcp-go
// sees the request: a request other than initialize without a session id
// gets 400; GET or DELETE of a session that is unknown, ended or opened
// with another credential gets 404 (mcp-go itself answers 404 for such a
// POST, through Validate); initialize when the table is full gets 503.
func (st *sessions) check(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if mcpgo.IsModernProtocol(r.Header.Get(mcpgo.HeaderProtocolVersion)) {
			// 2026-07-28 has no sessions: mcp-go ignores the id and
			// refuses GET and DELETE. The bearer token guards it.
			next.ServeHTTP(w, r)
			return
		}
		id := r.Header.Get(server.HeaderKeySessionID)
		switch r.Method {
		case http.MethodGet, http.MethodDelete:
			if id == "" {
				http.Error(w, "the Mcp-Session-Id header is required (initialize first)", http.StatusBadRequest)
				return
			}
			if !st.valid(id, credentialOf(r)) {
				http.Error(w, "unknown or ended session: initialize a new one", http.StatusNotFound)
				return
			}
		case http.MethodPost:
			if id != "" {
				break // mcp-go validates it (404), or ignores it on initialize
			}
			body, err := io.ReadAll(r.Body)
			if err != nil {
				http.Error(w, "reading the request: "+err.Error(), http.StatusBadRequest)
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
			switch msg, ok := peekMessage(body); {
			case !ok || msg.Modern || msg.Method == "":
				// A modern request has no session; a response or a
				// body that is not JSON-RPC is mcp-go's to answer.
			case msg.Method == mcpgo.MethodInitialize:
				if st.full() {
					http.Error(w, fmt.Sprintf("too many open sessions (%d): end one with DELETE", st.max), http.StatusServiceUnavailable)
					return
				}
			default:
				http.Error(w, "the Mcp-Session-Id header is required: initialize first, then send the session id it returned", http.StatusBadRequest)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// peekedMessage is what the transports' gates read of a JSON-RPC message.
type peekedMessage struct {
	ID     json.RawMessage
	Method mcpgo.MCPMethod
	// Modern: the message speaks the sessionless 2026-07-28 protocol (its
	// _meta says so).
	Modern bool
}

// isRequest reports whether the message asks for an answer.
func (m peekedMessage) isRequest() bool {
	return m.Method != "" && len(m.ID) > 0 && !bytes.Equal(m.ID, []byte("null"))
}

// peekMessage reads a JSON-RPC message as mcp-go will: ok is false when
// mcp-go will not read it as one either (and answers a parse error).
// Params that are not an object do not hide the method.
func peekMessage(body []byte) (m peekedMessage, ok bool) {
	var msg struct {
		ID     json.RawMessage `json:"id"`
		Method mcpgo.MCPMethod `json:"method"`
		Params json.RawMessage `json:"params"`
	}
	if json.Unmarshal(body, &msg) != nil {
		return m, false
	}
	var params struct {
		Meta *mcpgo.Meta `json:"_meta"`
	}
	json.Unmarshal(msg.Params, &params)
	return peekedMessage{ID: msg.ID, Method: msg.Method, Modern: mcpgo.IsModernProtocol(params.Meta.ProtocolVersion())}, true
}
