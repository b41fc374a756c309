// Package web holds what every HTTP handler of the team server shares: who
// the client is (its address and whether it came over HTTPS, from the
// connection or, only behind a trusted proxy, from the forwarded headers),
// and JSON in and out with size limits and errors in one shape.
package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"strings"
)

// Client is what the server knows of the client behind a request.
type Client struct {
	// IP is the client's address: the connection's peer, or the address a
	// trusted proxy forwarded.
	IP netip.Addr
	// HTTPS reports whether the client's own connection is encrypted.
	HTTPS bool
}

type clientKey struct{}

// ClientOf returns the request's client, as the server's middleware found it.
func ClientOf(r *http.Request) Client {
	if c, ok := r.Context().Value(clientKey{}).(Client); ok {
		return c
	}
	return peer(r)
}

func peer(r *http.Request) Client {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	c := Client{HTTPS: r.TLS != nil}
	if err == nil {
		c.IP = ap.Addr().Unmap()
	}
	return c
}

// Proxies is the set of addresses whose forwarded headers are believed.
type Proxies []netip.Prefix

// ParseProxies parses CIDR prefixes or single addresses.
func ParseProxies(list []string) (Proxies, error) {
	var out Proxies
	for _, s := range list {
		s = strings.TrimSpace(s)
		if !strings.Contains(s, "/") {
			a, err := netip.ParseAddr(s)
			if err != nil {
				return nil, fmt.Errorf("trusted proxy %q: %w", s, err)
			}
			out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return nil, fmt.Errorf("trusted proxy %q: %w", s, err)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

func (ps Proxies) trusts(a netip.Addr) bool {
	for _, p := range ps {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// Identify is middleware that finds the client of each request. Forwarded
// headers (X-Forwarded-For, X-Forwarded-Proto) count only when the peer is
// a trusted proxy; the client is then the right-most address in
// X-Forwarded-For that is not itself a trusted proxy, since everything to
// its left was written by the client and may be forged.
func (ps Proxies) Identify(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c := peer(r)
		if c.IP.IsValid() && ps.trusts(c.IP) {
			hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
			for i := len(hops) - 1; i >= 0; i-- {
				a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
				if err != nil {
					break
				}
				c.IP = a.Unmap()
				if !ps.trusts(c.IP) {
					break
				}
			}
			if p := r.Header.Get("X-Forwarded-Proto"); p != "" {
				c.HTTPS = strings.EqualFold(strings.TrimSpace(strings.Split(p, ",")[0]), "https")
			}
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), clientKey{}, c)))
	})
}

// MaxJSONBody is the largest JSON request body a handler reads.
const MaxJSONBody = 1 << 20

// Error is the shape of every error the API answers with.
type Error struct {
	Error string `json:"error"`
}

// JSON writes v with the status code.
func JSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// Fail writes an error answer.
func Fail(w http.ResponseWriter, status int, format string, args ...any) {
	JSON(w, status, Error{Error: fmt.Sprintf(format, args...)})
}

// Decode reads a JSON request body of at most MaxJSONBody bytes into v,
// refusing unknown fields and trailing data. The error is meant for the
// client.
func Decode(w http.ResponseWriter, r *http.Request, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/json") {
		return fmt.Errorf("the body must be JSON (Content-Type application/json), not %s", ct)
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, MaxJSONBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return fmt.Errorf("the body is over %d bytes", MaxJSONBody)
		}
		return fmt.Errorf("reading the JSON body: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("reading the JSON body: data after the JSON value")
	}
	return nil
}
