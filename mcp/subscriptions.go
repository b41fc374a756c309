package mcp

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"sync"
	"time"

	mcpgo "github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
)

// maxSubscriptions bounds the files one session may watch, so a client
// cannot make the poll grow without bound.
const maxSubscriptions = 256

// watched is one subscribed file: its absolute path inside a root and the
// fingerprint it had at the last look.
type watched struct {
	path, seen string
}

// subscriptions tracks which session watches which file:// resource and
// polls them: a stat per file per interval, with no file-system watcher
// to run out of (inotify's per-user limits) and nothing started while no
// one is subscribed.
type subscriptions struct {
	interval time.Duration
	notify   func(session, uri string)

	mu      sync.Mutex
	subs    map[string]map[string]*watched // session ID → URI → file
	polling bool
}

// fingerprint tells a file's versions apart without reading it: size,
// modification time and mode, or "gone". Lstat: a file replaced by a
// symlink is a change, never followed outside the root.
func fingerprint(path string) string {
	fi, err := os.Lstat(path)
	if err != nil {
		return "gone"
	}
	return fmt.Sprintf("%d %d %v", fi.Size(), fi.ModTime().UnixNano(), fi.Mode())
}

func (w *subscriptions) add(session, uri, path string) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.subs == nil {
		w.subs = map[string]map[string]*watched{}
	}
	m := w.subs[session]
	if m == nil {
		m = map[string]*watched{}
		w.subs[session] = m
	}
	if _, ok := m[uri]; !ok && len(m) >= maxSubscriptions {
		return fmt.Errorf("resource %s: this session already watches %d files, the most it may", uri, maxSubscriptions)
	}
	m[uri] = &watched{path: path, seen: fingerprint(path)}
	if !w.polling {
		w.polling = true
		go w.poll()
	}
	return nil
}

func (w *subscriptions) remove(session, uri string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	delete(w.subs[session], uri)
	if len(w.subs[session]) == 0 {
		delete(w.subs, session)
	}
}

func (w *subscriptions) drop(session string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	delete(w.subs, session)
}

// poll looks at every watched file each interval and notifies the
// sessions of those that changed; it ends when no one watches anything.
func (w *subscriptions) poll() {
	t := time.NewTicker(w.interval)
	defer t.Stop()
	for range t.C {
		type change struct{ session, uri string }
		var changed []change
		w.mu.Lock()
		if len(w.subs) == 0 {
			w.polling = false
			w.mu.Unlock()
			return
		}
		for session, m := range w.subs {
			for uri, f := range m {
				if now := fingerprint(f.path); now != f.seen {
					f.seen = now
					changed = append(changed, change{session, uri})
				}
			}
		}
		w.mu.Unlock()
		for _, c := range changed {
			w.notify(c.session, c.uri)
		}
	}
}

// subscriptionHooks wire resources/subscribe and resources/unsubscribe to
// the watcher. A subscription is checked before mcp-go acknowledges it, so
// a URI outside the roots (or not a file) is refused with its reason.
func (s *Server) subscriptionHooks(h *server.Hooks) {
	h.AddOnRequestInitialization(func(ctx context.Context, _ any, message any) error {
		raw, ok := message.(json.RawMessage)
		if !ok {
			return nil
		}
		var m struct {
			Method string `json:"method"`
			Params struct {
				URI string `json:"uri"`
			} `json:"params"`
		}
		if json.Unmarshal(raw, &m) != nil || m.Method != string(mcpgo.MethodResourcesSubscribe) || m.Params.URI == "" {
			return nil
		}
		session := server.ClientSessionFromContext(ctx)
		if session == nil {
			return fmt.Errorf("resources/subscribe needs a session")
		}
		path, err := s.resourceFile(ctx, m.Params.URI)
		if err != nil {
			return err
		}
		return s.watch.add(session.SessionID(), m.Params.URI, path)
	})
	h.AddAfterUnsubscribe(func(ctx context.Context, _ any, req *mcpgo.UnsubscribeRequest, _ *mcpgo.EmptyResult) {
		if session := server.ClientSessionFromContext(ctx); session != nil {
			s.watch.remove(session.SessionID(), req.Params.URI)
		}
	})
	h.AddOnUnregisterSession(func(_ context.Context, session server.ClientSession) {
		s.watch.drop(session.SessionID())
	})
}

// notifyUpdated tells a session that a resource it subscribed to changed.
func (s *Server) notifyUpdated(session, uri string) {
	err := s.mcp.SendNotificationToSpecificClient(session, string(mcpgo.MethodNotificationResourceUpdated), map[string]any{"uri": uri})
	if err != nil {
		s.log.Debug("mcp: resource update not sent", "uri", uri, "err", err)
	}
}
