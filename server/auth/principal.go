// Package auth signs people and programs in to the team server and says
// who a request comes from: web sessions (a cookie, with CSRF protection),
// command-line tokens from the device flow (`loom login`), and API keys.
// Every credential is a random token of which only a hash is stored.
package auth

import "context"

// Kind says how a principal proved who it is.
type Kind string

const (
	// KindWeb is a browser's session cookie.
	KindWeb Kind = "web"
	// KindCLI is the token `loom login` stored.
	KindCLI Kind = "cli"
	// KindAPIKey is an organisation's API key.
	KindAPIKey Kind = "apikey"
)

// Principal is who a request comes from: a signed-in user (web or CLI
// session) or an API key, which acts for its organisation within its
// scopes.
type Principal struct {
	Kind Kind
	// UserID is the signed-in user; for an API key, the user who made it.
	UserID string
	Email  string
	// SessionID names the web or CLI session (not its token).
	SessionID string
	// KeyID and KeyOrgID name an API key and its organisation; Scopes are
	// what it was made for.
	KeyID    string
	KeyOrgID string
	Scopes   []string
}

type principalKey struct{}

// WithPrincipal returns ctx carrying p.
func WithPrincipal(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// From returns the request's principal, nil when nobody signed in.
func From(ctx context.Context) *Principal {
	p, _ := ctx.Value(principalKey{}).(*Principal)
	return p
}
