package mcp

import (
	"context"
	"log/slog"
	"slices"
	"strings"
	"sync"

	mcpgo "github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
)

// clientLogs remembers the sessions that asked for log messages with
// logging/setLevel, and the lowest level any of them wants, so a record
// nobody wants costs one comparison.
type clientLogs struct {
	mu     sync.Mutex
	levels map[string]slog.Level // session ID → the lowest level it wants
}

// slogLevel maps MCP's syslog levels onto slog's.
func slogLevel(l mcpgo.LoggingLevel) slog.Level {
	switch l {
	case mcpgo.LoggingLevelDebug:
		return slog.LevelDebug
	case mcpgo.LoggingLevelInfo, mcpgo.LoggingLevelNotice:
		return slog.LevelInfo
	case mcpgo.LoggingLevelWarning:
		return slog.LevelWarn
	default:
		return slog.LevelError
	}
}

// mcpLevel maps a record's level onto MCP's.
func mcpLevel(l slog.Level) mcpgo.LoggingLevel {
	switch {
	case l < slog.LevelInfo:
		return mcpgo.LoggingLevelDebug
	case l < slog.LevelWarn:
		return mcpgo.LoggingLevelInfo
	case l < slog.LevelError:
		return mcpgo.LoggingLevelWarning
	default:
		return mcpgo.LoggingLevelError
	}
}

func (c *clientLogs) set(session string, l mcpgo.LoggingLevel) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.levels == nil {
		c.levels = map[string]slog.Level{}
	}
	c.levels[session] = slogLevel(l)
}

func (c *clientLogs) drop(session string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.levels, session)
}

// wanting returns the sessions that want a record of level l.
func (c *clientLogs) wanting(l slog.Level) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for id, min := range c.levels {
		if l >= min {
			out = append(out, id)
		}
	}
	return out
}

func (s *Server) loggingHooks(h *server.Hooks) {
	h.AddAfterSetLevel(func(ctx context.Context, _ any, req *mcpgo.SetLevelRequest, _ *mcpgo.EmptyResult) {
		if session := server.ClientSessionFromContext(ctx); session != nil {
			s.logs.set(session.SessionID(), req.Params.Level)
		}
	})
	h.AddOnUnregisterSession(func(_ context.Context, session server.ClientSession) {
		s.logs.drop(session.SessionID())
	})
}

// LogHandler returns a handler that passes records to next and sends them
// as notifications/message to the clients that asked with
// logging/setLevel, at or above their level. Attributes whose key names a
// secret are sent as "[redacted]": a client's log is not the place for a
// key. `loom mcp` makes it the default handler, so the agent's and the
// session's records reach the clients too.
func (s *Server) LogHandler(next slog.Handler) slog.Handler {
	return &clientLogHandler{next: next, s: s}
}

type clientLogHandler struct {
	next  slog.Handler
	s     *Server
	attrs []slog.Attr
	group string
}

func (h *clientLogHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.next.Enabled(ctx, l) || len(h.s.logs.wanting(l)) > 0
}

func (h *clientLogHandler) Handle(ctx context.Context, r slog.Record) error {
	var err error
	if h.next.Enabled(ctx, r.Level) {
		err = h.next.Handle(ctx, r)
	}
	sessions := h.s.logs.wanting(r.Level)
	if len(sessions) == 0 {
		return err
	}
	data := map[string]any{"message": r.Message}
	for _, a := range h.attrs {
		data[a.Key] = attrValue(a)
	}
	r.Attrs(func(a slog.Attr) bool {
		if h.group != "" {
			a.Key = h.group + "." + a.Key
		}
		data[a.Key] = attrValue(a)
		return true
	})
	n := mcpgo.NewLoggingMessageNotification(mcpLevel(r.Level), "loom", data)
	for _, id := range sessions {
		// A client that went away is not an error of the record.
		_ = h.s.mcp.SendLogMessageToSpecificClient(id, n)
	}
	return err
}

func (h *clientLogHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	c := *h
	c.next = h.next.WithAttrs(attrs)
	c.attrs = slices.Clone(h.attrs)
	for _, a := range attrs {
		if h.group != "" {
			a.Key = h.group + "." + a.Key
		}
		c.attrs = append(c.attrs, a)
	}
	return &c
}

func (h *clientLogHandler) WithGroup(name string) slog.Handler {
	c := *h
	c.next = h.next.WithGroup(name)
	if h.group != "" {
		name = h.group + "." + name
	}
	c.group = name
	return &c
}

// attrValue is an attribute's value for a client, "[redacted]" when its
// key names a secret.
func attrValue(a slog.Attr) string {
	if secretKey(a.Key) {
		return "[redacted]"
	}
	return a.Value.Resolve().String()
}

// secretKey reports whether an attribute's key names something secret.
func secretKey(key string) bool {
	k := strings.ToLower(key)
	for _, w := range []string{"key", "token", "secret", "password", "authorization", "cookie", "credential"} {
		if strings.Contains(k, w) {
			return true
		}
	}
	return false
}
