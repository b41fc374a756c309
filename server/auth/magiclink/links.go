// Package magiclink signs people in by email: they give their address, the
// server mails them a link, the link signs that browser in. A link works
// once, for 15 minutes; only its token's hash is stored (table
// magic_links). Asking for links is rate limited per address and per
// client, and the answer is the same whether or not the address has an
// account (the mail goes out in the background, so its timing tells
// nothing either). Links are written with the configured public URL,
// never with the request's Host header, and ?next= leads only to a path
// on this server. Opening a link shows a button that posts it: a mail
// scanner that fetches links does not use them up.
package magiclink

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"github.com/loom-agent/loom/server/accounts"
	"github.com/loom-agent/loom/server/audit"
	"log/slog"
	"net/mail"
	"net/url"
	"strings"
	"time"

	"github.com/loom-agent/loom/server/auth/pages"
	"github.com/loom-agent/loom/server/auth/ratelimit"
	"github.com/loom-agent/loom/server/auth/secret"
	"github.com/loom-agent/loom/server/auth/session"
	"github.com/loom-agent/loom/server/db"
)

// TTL is how long a mailed link works.
const TTL = 15 * time.Minute

// Rate is a token bucket: Burst at once, one more each Every.
type Rate struct {
	Every time.Duration
	Burst int
}

// Options configures the links.
type Options struct {
	// PublicURL is where links point (server.Config.PublicURL).
	PublicURL string
	// Mailer sends the links; nil means links can only be made by
	// Issue (the bootstrap link), not requested.
	Mailer Mailer
	// PerEmail and PerIP limit requests for links; zero values take the
	// defaults (3 at once then one per 5 minutes per address; 10 then one
	// per minute per client address).
	PerEmail, PerIP Rate
	// Log receives mail failures.
	Log *slog.Logger
	// Providers are the other ways to sign in the sign-in page offers.
	Providers []pages.Provider
}

// maxKeys bounds each rate limiter's table.
const maxKeys = 10000

// maxSending bounds mails in flight; requests beyond it are dropped (and
// logged), never queued without bound.
const maxSending = 16

// Links issues and redeems magic links and serves their pages.
type Links struct {
	db      *db.DB
	web     *session.Web
	mailer  Mailer
	public  string
	log     *slog.Logger
	byEmail *ratelimit.Limiter
	byIP    *ratelimit.Limiter
	sending chan struct{}
	// providers are the sign-in page's buttons.
	providers []pages.Provider
}

// New returns the magic links of d, signing browsers in through wb.
func New(d *db.DB, wb *session.Web, o Options) (*Links, error) {
	u, err := url.Parse(o.PublicURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("magic links need the server's public URL, got %q", o.PublicURL)
	}
	if o.PerEmail == (Rate{}) {
		o.PerEmail = Rate{Every: 5 * time.Minute, Burst: 3}
	}
	if o.PerIP == (Rate{}) {
		o.PerIP = Rate{Every: time.Minute, Burst: 10}
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	return &Links{db: d, web: wb, mailer: o.Mailer, public: strings.TrimSuffix(o.PublicURL, "/"), log: o.Log,
		byEmail: ratelimit.New(o.PerEmail.Every, o.PerEmail.Burst, maxKeys),
		byIP:    ratelimit.New(o.PerIP.Every, o.PerIP.Burst, maxKeys),
		sending: make(chan struct{}, maxSending), providers: o.Providers}, nil
}

// NormalizeEmail returns the bare, lower-cased address of s, or an error
// for anything that is not one address.
func NormalizeEmail(s string) (string, error) {
	s = strings.TrimSpace(s)
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || len(s) > 254 {
		return "", fmt.Errorf("%q is not an email address", s)
	}
	return strings.ToLower(a.Address), nil
}

// Issue makes a link that signs email in once within ttl and then goes
// to next (a local path, or "" for the account page). It does not check
// that email has an account: redeeming does.
func (l *Links) Issue(ctx context.Context, email, next string, ttl time.Duration) (string, error) {
	email, err := NormalizeEmail(email)
	if err != nil {
		return "", err
	}
	if next != "" && session.LocalPath(next) == "" {
		return "", fmt.Errorf("next %q is not a path on this server", next)
	}
	token := secret.New()
	now := db.Now()
	if _, err := l.db.ExecContext(ctx, `DELETE FROM magic_links WHERE expires_at <= $1`, now); err != nil {
		return "", fmt.Errorf("pruning sign-in links: %w", err)
	}
	if _, err := l.db.ExecContext(ctx, `INSERT INTO magic_links (token_hash, email, next, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)`,
		secret.Hash(token), email, next, now, now+ttl.Microseconds()); err != nil {
		return "", fmt.Errorf("storing a sign-in link: %w", err)
	}
	return l.public + "/signin/magic?token=" + url.QueryEscape(token), nil
}

// ErrInvalid is a link that is unknown, used or expired.
var ErrInvalid = errors.New("this sign-in link is invalid, already used or expired: ask for a new one")

// Redeem uses up the link of token and returns the user it signs in and
// where to go next. Of two requests racing with one link, one wins.
func (l *Links) Redeem(ctx context.Context, token string) (userID, next string, err error) {
	var email string
	now := db.Now()
	err = l.db.QueryRowContext(ctx, `UPDATE magic_links SET used_at = $1 WHERE token_hash = $2 AND used_at = 0 AND expires_at > $1 RETURNING email, next`,
		now, secret.Hash(token)).Scan(&email, &next)
	if errors.Is(err, sql.ErrNoRows) {
		return "", "", ErrInvalid
	}
	if err != nil {
		return "", "", fmt.Errorf("redeeming a sign-in link: %w", err)
	}
	userID, err = UserByEmail(ctx, l.db, email)
	if err == nil && userID == "" {
		// Someone invited who has no account yet gets one by proving the
		// address: the invitation is then theirs to accept.
		userID, err = l.joinInvited(ctx, email)
	}
	if err != nil {
		return "", "", err
	}
	if userID == "" {
		return "", "", ErrInvalid
	}
	return userID, next, nil
}

// UserByEmail returns the ID of the enabled user with email, "" for none.
func UserByEmail(ctx context.Context, d *db.DB, email string) (string, error) {
	var id string
	err := d.QueryRowContext(ctx, `SELECT id FROM users WHERE email = $1 AND disabled_at = 0`, strings.ToLower(email)).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("looking up a user: %w", err)
	}
	return id, nil
}

// ErrRateLimited is a request for a link over the limits.
var ErrRateLimited = errors.New("too many sign-in requests: wait a few minutes and try again")

// Request handles someone asking for a link for email from client ip: the
// limits first (the address's bucket is spent whether or not it has an
// account), then, for an enabled user only, a link mailed in the
// background.
func (l *Links) Request(ctx context.Context, email, next, ip string) error {
	if l.mailer == nil {
		return errors.New("this server sends no email: ask an admin for a sign-in link")
	}
	if !l.byIP.Allow(ip) {
		return ErrRateLimited
	}
	email, err := NormalizeEmail(email)
	if err != nil {
		return err
	}
	if !l.byEmail.Allow(email) {
		return ErrRateLimited
	}
	userID, err := UserByEmail(ctx, l.db, email)
	if err != nil {
		return err
	}
	if userID == "" {
		ok, err := accounts.Invited(ctx, l.db, email)
		if err != nil {
			return err
		}
		if !ok {
			l.log.Info("sign-in link asked for an address without an account", "ip", ip)
			return nil
		}
	}
	link, err := l.Issue(ctx, email, next, TTL)
	if err != nil {
		return err
	}
	select {
	case l.sending <- struct{}{}:
	default:
		l.log.Error("too many sign-in mails in flight; one dropped")
		return nil
	}
	go func() {
		defer func() { <-l.sending }()
		body := fmt.Sprintf("Open this link to sign in to Loom:\n\n%s\n\nIt works once, for %d minutes. If you did not ask to sign in, ignore this mail.\n", link, int(TTL.Minutes()))
		if err := l.mailer.Send(context.WithoutCancel(ctx), email, "Sign in to Loom", body); err != nil {
			l.log.Error("sending a sign-in link", "err", err)
		}
	}()
	return nil
}

// Wait blocks until mails in flight are sent (for shutdown and tests).
func (l *Links) Wait() {
	for range cap(l.sending) {
		l.sending <- struct{}{}
	}
	for range cap(l.sending) {
		<-l.sending
	}
}

// joinInvited makes the account of an invited address whose link was
// just redeemed; "" when no invitation waits (revoked since the link was
// sent, say).
func (l *Links) joinInvited(ctx context.Context, email string) (string, error) {
	var userID string
	err := l.db.Tx(ctx, func(tx *sql.Tx) error {
		ok, err := accounts.Invited(ctx, tx, email)
		if err != nil || !ok {
			return err
		}
		u, err := accounts.InsertUser(ctx, tx, email, "")
		if err != nil {
			return err
		}
		userID = u.ID
		return audit.Append(ctx, tx, audit.Actor{ID: u.ID}, "", audit.UserCreated, u.ID, "email="+email+" via=magic_link because=invitation")
	})
	return userID, err
}
