// Package device is the OAuth 2.0 device authorization grant (RFC 8628)
// that `loom login` uses: the command line asks for a code
// (POST /api/v1/device/code), shows the user code and the page to enter
// it, and polls (POST /api/v1/device/token) while the user, signed in in a
// browser, approves it on /device. An approved code is exchanged once for
// a command-line session token (table sessions, kind 'cli'). The device
// code is stored only hashed; the user code is short (8 letters from
// RFC 8628's 20-letter alphabet) and so is guessed only by someone signed
// in, rate limited, within its 10 minutes.
package device

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/loom-agent/loom/server/auth"
	"github.com/loom-agent/loom/server/auth/secret"
	"github.com/loom-agent/loom/server/auth/session"
	"github.com/loom-agent/loom/server/db"
)

// ClientID is the one client the server knows: Loom's command line. It is
// a public client (RFC 6749 §2.1): it holds no secret.
const ClientID = "loom-cli"

// Lifetime is how long a code waits for approval.
const Lifetime = 10 * time.Minute

// DefaultInterval is how long the client waits between polls (RFC 8628
// §3.2 default).
const DefaultInterval = 5 * time.Second

// The errors of the token endpoint (RFC 8628 §3.5, RFC 6749 §5.2).
const (
	ErrPending   = "authorization_pending"
	ErrSlowDown  = "slow_down"
	ErrExpired   = "expired_token"
	ErrDenied    = "access_denied"
	ErrBadGrant  = "invalid_grant"
	ErrBadClient = "invalid_client"
)

// userCodeAlphabet has no vowels (no words) and no look-alike letters.
const userCodeAlphabet = "BCDFGHJKLMNPQRSTVWXZ"

// Codes is the store of device codes.
type Codes struct {
	db       *db.DB
	sessions *session.Store
	interval time.Duration
}

// NewCodes returns the device codes of d, whose approved codes become
// sessions of sessions. interval is the polling interval handed out (0:
// DefaultInterval).
func NewCodes(d *db.DB, sessions *session.Store, interval time.Duration) *Codes {
	if interval <= 0 {
		interval = DefaultInterval
	}
	return &Codes{db: d, sessions: sessions, interval: interval}
}

// Code is a new device authorization, as the client gets it.
type Code struct {
	DeviceCode string
	UserCode   string
	ExpiresIn  time.Duration
	Interval   time.Duration
}

// newUserCode returns XXXX-XXXX from userCodeAlphabet (34 bits).
func newUserCode() string {
	b := make([]byte, 8)
	rand.Read(b)
	out := make([]byte, 0, 9)
	for i, c := range b {
		if i == 4 {
			out = append(out, '-')
		}
		// 256 is not a multiple of 20: reject the top to stay uniform.
		for c >= 240 {
			var one [1]byte
			rand.Read(one[:])
			c = one[0]
		}
		out = append(out, userCodeAlphabet[int(c)%len(userCodeAlphabet)])
	}
	return string(out)
}

// NormalizeUserCode accepts what people type: any case, with or without
// the dash or spaces. It answers "" for anything that is not a user code.
func NormalizeUserCode(s string) string {
	var b strings.Builder
	for _, c := range strings.ToUpper(s) {
		switch {
		case c == '-' || c == ' ':
		case strings.ContainsRune(userCodeAlphabet, c):
			b.WriteRune(c)
		default:
			return ""
		}
	}
	if b.Len() != 8 {
		return ""
	}
	return b.String()[:4] + "-" + b.String()[4:]
}

// Start makes a new code for client.
func (c *Codes) Start(ctx context.Context, client string) (Code, error) {
	now := db.Now()
	if _, err := c.db.ExecContext(ctx, `DELETE FROM device_codes WHERE expires_at <= $1`, now); err != nil {
		return Code{}, fmt.Errorf("pruning device codes: %w", err)
	}
	code := Code{DeviceCode: secret.New(), ExpiresIn: Lifetime, Interval: c.interval}
	for range 5 {
		code.UserCode = newUserCode()
		_, err := c.db.ExecContext(ctx, `INSERT INTO device_codes (device_code_hash, user_code, client_name, created_at, expires_at, interval_seconds)
			VALUES ($1, $2, $3, $4, $5, $6)`, secret.Hash(code.DeviceCode), code.UserCode, client, now, now+Lifetime.Microseconds(), int64(c.interval/time.Second))
		if db.IsUnique(err) {
			continue
		}
		if err != nil {
			return Code{}, fmt.Errorf("storing a device code: %w", err)
		}
		return code, nil
	}
	return Code{}, errors.New("no free user code after 5 tries")
}

// Pending is a code waiting for approval, as the approval page shows it.
type Pending struct {
	UserCode   string
	ClientName string
}

// ErrNoCode is a user code that names no code waiting for approval.
var ErrNoCode = errors.New("no sign-in is waiting for that code: check it, or start `loom login` again")

// Find returns the code waiting for approval under userCode.
func (c *Codes) Find(ctx context.Context, userCode string) (Pending, error) {
	userCode = NormalizeUserCode(userCode)
	p := Pending{UserCode: userCode}
	err := c.db.QueryRowContext(ctx, `SELECT client_name FROM device_codes
		WHERE user_code = $1 AND expires_at > $2 AND approved_at = 0 AND denied_at = 0`, userCode, db.Now()).Scan(&p.ClientName)
	if errors.Is(err, sql.ErrNoRows) {
		return p, ErrNoCode
	}
	if err != nil {
		return p, fmt.Errorf("looking up a device code: %w", err)
	}
	return p, nil
}

// Decide approves (for userID) or denies the code waiting under userCode.
func (c *Codes) Decide(ctx context.Context, userCode, userID string, approve bool) error {
	now := db.Now()
	q := `UPDATE device_codes SET user_id = $1, approved_at = $2 WHERE user_code = $3 AND expires_at > $2 AND approved_at = 0 AND denied_at = 0`
	if !approve {
		q = `UPDATE device_codes SET user_id = $1, denied_at = $2 WHERE user_code = $3 AND expires_at > $2 AND approved_at = 0 AND denied_at = 0`
	}
	res, err := c.db.ExecContext(ctx, q, userID, now, NormalizeUserCode(userCode))
	if err != nil {
		return fmt.Errorf("deciding a device code: %w", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return ErrNoCode
	}
	return nil
}

// Poll is one poll of the token endpoint: the session token once the code
// is approved, or one of the RFC's error codes.
func (c *Codes) Poll(ctx context.Context, deviceCode, userAgent, ip string) (token string, errCode string, err error) {
	hash := secret.Hash(deviceCode)
	var expires, interval, lastPoll, approved, denied, consumed int64
	var userID string
	err = c.db.QueryRowContext(ctx, `SELECT expires_at, interval_seconds, last_poll_at, user_id, approved_at, denied_at, consumed_at
		FROM device_codes WHERE device_code_hash = $1`, hash).Scan(&expires, &interval, &lastPoll, &userID, &approved, &denied, &consumed)
	if errors.Is(err, sql.ErrNoRows) {
		return "", ErrBadGrant, nil
	}
	if err != nil {
		return "", "", fmt.Errorf("looking up a device code: %w", err)
	}
	now := db.Now()
	switch {
	case consumed != 0:
		return "", ErrBadGrant, nil
	case now >= expires:
		return "", ErrExpired, nil
	case denied != 0:
		return "", ErrDenied, nil
	}
	// Polls closer than the interval slow the client down by 5 s for good
	// (§3.5). A quarter of the interval is forgiven: a client that waits
	// the interval between sending may see its requests delivered closer.
	if lastPoll != 0 && now-lastPoll < (time.Duration(interval)*time.Second*3/4).Microseconds() {
		if _, err := c.db.ExecContext(ctx, `UPDATE device_codes SET interval_seconds = interval_seconds + 5, last_poll_at = $1 WHERE device_code_hash = $2`, now, hash); err != nil {
			return "", "", fmt.Errorf("slowing a device down: %w", err)
		}
		return "", ErrSlowDown, nil
	}
	if approved == 0 {
		if _, err := c.db.ExecContext(ctx, `UPDATE device_codes SET last_poll_at = $1 WHERE device_code_hash = $2`, now, hash); err != nil {
			return "", "", fmt.Errorf("recording a poll: %w", err)
		}
		return "", ErrPending, nil
	}
	// Approved: exchange the code once, even against a racing poll.
	res, err := c.db.ExecContext(ctx, `UPDATE device_codes SET consumed_at = $1, last_poll_at = $1 WHERE device_code_hash = $2 AND consumed_at = 0`, now, hash)
	if err != nil {
		return "", "", fmt.Errorf("exchanging a device code: %w", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return "", ErrBadGrant, nil
	}
	token, _, err = c.sessions.SignIn(ctx, userID, auth.KindCLI, "device", userAgent, ip)
	if err != nil {
		return "", "", err
	}
	return token, "", nil
}
