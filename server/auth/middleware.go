package auth

import (
	"net/http"
	"strings"

	"github.com/loom-agent/loom/server/web"
)

// Checker recognises one kind of credential: an API key, a session cookie,
// the token `loom login` stored.
type Checker interface {
	// Check returns the principal r's credential proves; (nil, nil) when r
	// carries no credential of this kind, so that the next checker is
	// asked; an error, meant for the client, when it carries one that is
	// unknown, wrong, expired or revoked.
	Check(r *http.Request) (*Principal, error)
}

// Authenticate is middleware that asks each checker in turn and puts the
// first principal found in the request's context (From). A request with no
// credential goes on with none, for the handler's authorizer to refuse or
// allow; a request whose credential is refused gets 401 there and then,
// never falling back to being nobody.
func Authenticate(checkers ...Checker) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			for _, c := range checkers {
				p, err := c.Check(r)
				if err != nil {
					w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
					web.Fail(w, http.StatusUnauthorized, "%v", err)
					return
				}
				if p != nil {
					next.ServeHTTP(w, r.WithContext(WithPrincipal(r.Context(), p)))
					return
				}
			}
			next.ServeHTTP(w, r)
		})
	}
}

// APIKeyHeader lets a client that sends its credential as `x-api-key`
// (Anthropic's SDKs, Claude Code) be authenticated like one that sends
// `Authorization: Bearer`: the header is copied into Authorization when
// the request has none. Put it outside every checker.
func APIKeyHeader(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if k := r.Header.Get("X-Api-Key"); k != "" && r.Header.Get("Authorization") == "" {
			r = r.Clone(r.Context())
			r.Header.Set("Authorization", "Bearer "+k)
		}
		next.ServeHTTP(w, r)
	})
}

// Bearer returns the token of r's `Authorization: Bearer TOKEN` header
// (the scheme in any case), "" when there is none.
func Bearer(r *http.Request) string {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimSpace(token)
}
