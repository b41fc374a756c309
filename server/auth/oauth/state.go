package oauth

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/loom-agent/loom/server/auth/secret"
	"github.com/loom-agent/loom/server/db"
	"github.com/loom-agent/loom/server/web"
)

// StateTTL is how long a started sign-in may take at the provider.
const StateTTL = 10 * time.Minute

// The cookie binding a sign-in to the browser that started it. Over HTTPS
// it carries the __Host- prefix (Secure, Path=/, no Domain), as the
// session cookie does. SameSite=Lax: the provider sends the browser back
// with a top-level GET, which Lax cookies go with.
const (
	bindCookie       = "loom_oauth"
	secureBindCookie = "__Host-" + bindCookie
)

// errFlow is a callback that belongs to no sign-in of this browser:
// unknown, used, expired, for another provider, or started elsewhere.
var errFlow = errors.New("this sign-in expired, was already used, or was started in another browser: start again")

// derive is a value of one sign-in that is never stored: an HMAC of its
// state under the browser's binding secret, 43 base64url characters (a
// valid PKCE verifier, RFC 7636 §4.1).
func derive(bind, label, state string) string {
	m := hmac.New(sha256.New, []byte(bind))
	m.Write([]byte(label + "\x00" + state))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func nonceOf(bind, state string) string    { return derive(bind, "nonce", state) }
func verifierOf(bind, state string) string { return derive(bind, "pkce", state) }

func secure(r *http.Request) bool {
	c := web.ClientOf(r)
	return c.HTTPS || !c.IP.IsLoopback()
}

func bindCookieName(r *http.Request) string {
	if secure(r) {
		return secureBindCookie
	}
	return bindCookie
}

// begin starts a sign-in at p for the browser of r, to end at next, and
// returns the provider's URL to send it to.
func (s *Service) begin(w http.ResponseWriter, r *http.Request, p *Provider, next string) (string, error) {
	state, bind := secret.New(), secret.New()
	to, err := p.Flow.authURL(r.Context(), p.redirect, state, nonceOf(bind, state), verifierOf(bind, state))
	if err != nil {
		return "", err
	}
	if err := s.store(r.Context(), p.Name, state, bind, next); err != nil {
		return "", err
	}
	http.SetCookie(w, &http.Cookie{Name: bindCookieName(r), Value: bind, Path: "/", HttpOnly: true, Secure: secure(r),
		SameSite: http.SameSiteLaxMode, MaxAge: int(StateTTL.Seconds())})
	return to, nil
}

// store keeps what the callback needs of a sign-in: only hashes of its
// state and of the browser's binding secret.
func (s *Service) store(ctx context.Context, provider, state, bind, next string) error {
	now := db.Now()
	if _, err := s.db.ExecContext(ctx, `DELETE FROM oauth_states WHERE expires_at <= $1`, now); err != nil {
		return fmt.Errorf("pruning sign-ins: %w", err)
	}
	_, err := s.db.ExecContext(ctx, `INSERT INTO oauth_states (state_hash, provider, browser_hash, next, created_at, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6)`, secret.Hash(state), provider, secret.Hash(bind), next, now, now+StateTTL.Microseconds())
	if err != nil {
		return fmt.Errorf("storing a sign-in: %w", err)
	}
	return nil
}

// finished is what a callback recovers of its sign-in.
type finished struct {
	next, nonce, verifier string
}

// finish uses up the sign-in the callback r names, and clears the
// browser's binding cookie: a state is good once, at the provider it was
// started for, before it expires, in the browser that started it.
func (s *Service) finish(w http.ResponseWriter, r *http.Request, p *Provider) (finished, error) {
	state := r.URL.Query().Get("state")
	var bind string
	if c, err := r.Cookie(bindCookieName(r)); err == nil {
		bind = c.Value
	}
	http.SetCookie(w, &http.Cookie{Name: bindCookieName(r), Value: "", Path: "/", HttpOnly: true, Secure: secure(r),
		SameSite: http.SameSiteLaxMode, MaxAge: -1})
	if state == "" || bind == "" {
		return finished{}, errFlow
	}
	var browser, next string
	now := db.Now()
	err := s.db.QueryRowContext(r.Context(), `UPDATE oauth_states SET used_at = $1
		WHERE state_hash = $2 AND provider = $3 AND used_at = 0 AND expires_at > $1 RETURNING browser_hash, next`,
		now, secret.Hash(state), p.Name).Scan(&browser, &next)
	if errors.Is(err, sql.ErrNoRows) {
		return finished{}, errFlow
	}
	if err != nil {
		return finished{}, fmt.Errorf("finishing a sign-in: %w", err)
	}
	if subtle.ConstantTimeCompare([]byte(secret.Hash(bind)), []byte(browser)) != 1 {
		return finished{}, errFlow
	}
	return finished{next: next, nonce: nonceOf(bind, state), verifier: verifierOf(bind, state)}, nil
}
