package oauth

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// OIDCConfig is one OpenID Connect issuer.
type OIDCConfig struct {
	// Issuer is the issuer's URL, exactly as its discovery document and
	// ID tokens name it ("https://accounts.google.com").
	Issuer       string
	ClientID     string
	ClientSecret string
	// Scopes asked for; default openid, email and profile.
	Scopes []string
	// HTTP talks to the issuer (nil: a client with a 15 s timeout).
	HTTP *http.Client
}

// OIDC is sign-in at an OpenID Connect issuer. Its discovery document is
// fetched at the first sign-in, then kept; until it answers, sign-ins
// there fail and the server runs on.
func OIDC(c OIDCConfig) Flow {
	if len(c.Scopes) == 0 {
		c.Scopes = []string{oidc.ScopeOpenID, "email", "profile"}
	}
	if !slices.Contains(c.Scopes, oidc.ScopeOpenID) {
		c.Scopes = append([]string{oidc.ScopeOpenID}, c.Scopes...)
	}
	return &oidcFlow{c: c, client: httpClient(c.HTTP)}
}

type oidcFlow struct {
	c      OIDCConfig
	client *http.Client

	mu       sync.Mutex
	provider *oidc.Provider
}

func (f *oidcFlow) method() string { return "oidc" }

// discover returns the issuer's metadata, fetching it the first time.
func (f *oidcFlow) discover(ctx context.Context) (*oidc.Provider, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.provider == nil {
		p, err := oidc.NewProvider(oidc.ClientContext(ctx, f.client), f.c.Issuer)
		if err != nil {
			return nil, fmt.Errorf("discovering OpenID issuer %s: %w", f.c.Issuer, err)
		}
		f.provider = p
	}
	return f.provider, nil
}

func (f *oidcFlow) config(p *oidc.Provider, redirect string) *oauth2.Config {
	return &oauth2.Config{ClientID: f.c.ClientID, ClientSecret: f.c.ClientSecret, Endpoint: p.Endpoint(),
		RedirectURL: redirect, Scopes: f.c.Scopes}
}

func (f *oidcFlow) authURL(ctx context.Context, redirect, state, nonce, verifier string) (string, error) {
	p, err := f.discover(ctx)
	if err != nil {
		return "", err
	}
	return f.config(p, redirect).AuthCodeURL(state, oauth2.S256ChallengeOption(verifier), oidc.Nonce(nonce)), nil
}

// Rejected is an answer from a provider that fails a check: a token for
// someone else, from someone else, stale, or of another sign-in. It is
// written to the audit log.
type Rejected struct{ Err error }

func (e *Rejected) Error() string { return "the provider's answer was rejected: " + e.Err.Error() }
func (e *Rejected) Unwrap() error { return e.Err }

func reject(format string, args ...any) error { return &Rejected{fmt.Errorf(format, args...)} }

// claims are the ID token's or userinfo's claims Loom reads.
type claims struct {
	Subject       string   `json:"sub"`
	Email         string   `json:"email"`
	EmailVerified jsonBool `json:"email_verified"`
	Name          string   `json:"name"`
	AZP           string   `json:"azp"`
}

// jsonBool reads true or "true": some issuers send email_verified as a string.
type jsonBool bool

func (b *jsonBool) UnmarshalJSON(data []byte) error {
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		return err
	}
	*b = v == true || v == "true"
	return nil
}

func (f *oidcFlow) identify(ctx context.Context, redirect, code, nonce, verifier string) (Identity, error) {
	p, err := f.discover(ctx)
	if err != nil {
		return Identity{}, err
	}
	ctx = oidc.ClientContext(ctx, f.client)
	tok, err := f.config(p, redirect).Exchange(ctx, code, oauth2.VerifierOption(verifier))
	if err != nil {
		return Identity{}, fmt.Errorf("exchanging the code at %s: %w", f.c.Issuer, err)
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return Identity{}, reject("%s answered without an ID token", f.c.Issuer)
	}
	// Signature by the issuer's keys, issuer, audience (this client) and expiry.
	idt, err := p.Verifier(&oidc.Config{ClientID: f.c.ClientID}).Verify(ctx, raw)
	if err != nil {
		return Identity{}, &Rejected{err}
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(nonce)) != 1 {
		return Identity{}, reject("the ID token's nonce is not this sign-in's")
	}
	var c claims
	if err := idt.Claims(&c); err != nil {
		return Identity{}, reject("reading the ID token's claims: %v", err)
	}
	// With several audiences the token must have been issued to us (OpenID
	// Connect Core §3.1.3.7, items 4 and 5).
	if len(idt.Audience) > 1 && c.AZP != f.c.ClientID {
		return Identity{}, reject("the ID token was issued to %q, not to this server", c.AZP)
	}
	if idt.AccessTokenHash != "" {
		if err := idt.VerifyAccessToken(tok.AccessToken); err != nil {
			return Identity{}, &Rejected{err}
		}
	}
	id := Identity{Provider: f.c.Issuer, Subject: idt.Subject, Email: c.Email, EmailVerified: bool(c.EmailVerified), Name: c.Name}
	if c.Email == "" && p.UserInfoEndpoint() != "" {
		// Many issuers put the email in userinfo only.
		ui, err := p.UserInfo(ctx, oauth2.StaticTokenSource(tok))
		if err != nil {
			return Identity{}, fmt.Errorf("reading userinfo at %s: %w", f.c.Issuer, err)
		}
		var uc claims
		if err := ui.Claims(&uc); err != nil {
			return Identity{}, reject("reading userinfo: %v", err)
		}
		if uc.Subject != idt.Subject {
			return Identity{}, reject("userinfo describes another subject")
		}
		id.Email, id.EmailVerified = uc.Email, bool(uc.EmailVerified)
		if id.Name == "" {
			id.Name = uc.Name
		}
	}
	return id, nil
}

// errNoProvider is a callback or start for a provider that is not configured.
var errNoProvider = errors.New("no such sign-in provider")
