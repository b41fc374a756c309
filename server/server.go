// Package server assembles the team server, `loom server`: one process over
// one database (server/db), serving the HTTP handlers of each concern
// package (accounts, auth, policy, audit, …), which live beside their
// logic. This package only wires them and owns what is common to every
// request: the listener and TLS, who the client is behind trusted proxies
// (server/web), request logs, Prometheus metrics, panics recovered, health
// and readiness, the OpenAPI description, and a graceful shutdown.
package server

import (
	"context"
	"crypto/subtle"
	_ "embed"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/loom-agent/loom/server/db"
	"github.com/loom-agent/loom/server/web"
)

//go:embed openapi.json
var openAPI []byte

// Routes is implemented by each concern package's handlers.
type Routes interface {
	Routes(mux *http.ServeMux)
}

// Server is the team server.
type Server struct {
	cfg     Config
	log     *slog.Logger
	DB      *db.DB
	mux     *http.ServeMux
	metrics *prometheus.Registry
	handler http.Handler
	inner   http.Handler
	ready   chan struct{}
	addr    net.Addr
}

// New opens the database (migrating it) and builds the server.
func New(ctx context.Context, cfg Config, log *slog.Logger) (*Server, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.Default()
	}
	proxies, err := web.ParseProxies(cfg.TrustedProxies)
	if err != nil {
		return nil, err
	}
	var metricsToken []byte
	if cfg.MetricsTokenFile != "" {
		b, err := os.ReadFile(cfg.MetricsTokenFile)
		if err != nil {
			return nil, fmt.Errorf("reading the metrics token: %w", err)
		}
		if metricsToken = []byte(strings.TrimSpace(string(b))); len(metricsToken) < 16 {
			return nil, errors.New("the metrics token is shorter than 16 characters")
		}
	}
	d, err := db.Open(ctx, cfg.Database, log)
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, log: log, DB: d, mux: http.NewServeMux(), metrics: prometheus.NewRegistry(), ready: make(chan struct{})}
	s.metrics.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	s.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.Write([]byte("ok\n"))
	})
	s.mux.HandleFunc("GET /readyz", s.readyz)
	s.mux.Handle("GET /metrics", metricsGuard(metricsToken, promhttp.HandlerFor(s.metrics, promhttp.HandlerOpts{})))
	s.mux.HandleFunc("GET /api/openapi.json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(openAPI)
	})
	s.inner = s.mux
	// s.inner is read per request so that Wrap, called before serving, can
	// put authentication between the common middleware and the routes.
	routes := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { s.inner.ServeHTTP(w, r) })
	s.handler = proxies.Identify(s.instrument(recoverPanics(log, securityHeaders(routes))))
	return s, nil
}

// Config returns the configuration in effect, defaults filled in.
func (s *Server) Config() Config { return s.cfg }

// Handle adds each component's routes.
func (s *Server) Handle(rs ...Routes) {
	for _, r := range rs {
		r.Routes(s.mux)
	}
}

// Wrap puts middleware (authentication) around the routes, inside the
// common middleware. Call it before the server serves.
func (s *Server) Wrap(mw func(http.Handler) http.Handler) { s.inner = mw(s.inner) }

// Metrics is the registry components add their collectors to.
func (s *Server) Metrics() prometheus.Registerer { return s.metrics }

// Handler is the whole server as one http.Handler (for tests).
func (s *Server) Handler() http.Handler { return s.handler }

// Close closes the database.
func (s *Server) Close() error { return s.DB.Close() }

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	w.Header().Set("Content-Type", "text/plain")
	if err := s.DB.Ready(ctx); err != nil {
		s.log.Warn("not ready: the database does not answer", "err", err)
		w.WriteHeader(http.StatusServiceUnavailable)
		w.Write([]byte("database unavailable\n"))
		return
	}
	w.Write([]byte("ready\n"))
}

// Listening is closed once the server listens; Addr is then its address.
func (s *Server) Listening() <-chan struct{} { return s.ready }

// Addr is the address the server listens on, once Listening is closed.
func (s *Server) Addr() net.Addr { return s.addr }

// URL is the server's own address, once Listening is closed: the
// listener's, for a server asked to listen on port 0.
func (s *Server) URL() string {
	scheme := "http"
	if s.cfg.TLSCert != "" {
		scheme = "https"
	}
	return scheme + "://" + s.addr.String()
}

// Run listens and serves until ctx ends, then stops accepting connections
// and gives requests in flight the configured grace to finish.
func (s *Server) Run(ctx context.Context) error {
	ln, err := net.Listen("tcp", s.cfg.Listen)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", s.cfg.Listen, err)
	}
	s.addr = ln.Addr()
	hs := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       2 * time.Minute,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	errc := make(chan error, 1)
	go func() {
		if s.cfg.TLSCert != "" {
			errc <- hs.ServeTLS(ln, s.cfg.TLSCert, s.cfg.TLSKey)
		} else {
			errc <- hs.Serve(ln)
		}
	}()
	s.log.Info("loom server listening", "addr", s.addr.String(), "public_url", s.cfg.PublicURL, "database", string(s.DB.Engine))
	close(s.ready)
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	s.log.Info("shutting down", "grace", time.Duration(s.cfg.ShutdownGrace).String())
	sctx, cancel := context.WithTimeout(context.Background(), time.Duration(s.cfg.ShutdownGrace))
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		hs.Close()
		return fmt.Errorf("requests still running after %s were cut off", time.Duration(s.cfg.ShutdownGrace))
	}
	return nil
}

// metricsGuard lets through a request with the metrics token, or, with
// no token configured, one whose connection comes from loopback (not a
// forwarded address: a proxy on loopback forwards the world).
func metricsGuard(token []byte, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if token != nil {
			got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
			if !ok || subtle.ConstantTimeCompare([]byte(got), token) != 1 {
				w.Header().Set("WWW-Authenticate", `Bearer realm="metrics"`)
				web.Fail(w, http.StatusUnauthorized, "metrics need the metrics token")
				return
			}
		} else if ap, err := netip.ParseAddrPort(r.RemoteAddr); err != nil || !ap.Addr().IsLoopback() || len(r.Header.Values("X-Forwarded-For")) > 0 {
			web.Fail(w, http.StatusForbidden, "metrics are served to loopback only unless a metrics token is configured")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// securityHeaders are sent with every answer: no framing (clickjacking),
// no MIME sniffing, no referrer leaking tokens in URLs.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'; form-action 'self'")
		if web.ClientOf(r).HTTPS {
			h.Set("Strict-Transport-Security", "max-age=31536000")
		}
		next.ServeHTTP(w, r)
	})
}

func recoverPanics(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				log.Error("handler panicked", "method", r.Method, "path", r.URL.Path, "panic", fmt.Sprint(v))
				web.Fail(w, http.StatusInternalServerError, "internal error")
			}
		}()
		next.ServeHTTP(w, r)
	})
}
