// Package session keeps who is signed in to the team server: a browser's
// session (kind 'web', a random token in a cookie) and the token `loom
// login` stores (kind 'cli', sent as `Authorization: Bearer`). Only the
// SHA-256 of each token is stored (table sessions). Sessions slide: each
// use pushes the expiry out by the idle limit, never past the absolute
// limit from sign-in. Every request looks its session up, so a revoked
// session is refused at once.
//
// For browsers the package also guards against cross-site request
// forgery: a state-changing request that carries the cookie must come from
// the server's own origin (net/http's CrossOriginProtection, which reads
// Sec-Fetch-Site and Origin) and carry the session's CSRF token, an HMAC
// of the session token that only pages served to that browser contain.
package session

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/loom-agent/loom/server/audit"
	"github.com/loom-agent/loom/server/auth"
	"github.com/loom-agent/loom/server/auth/secret"
	"github.com/loom-agent/loom/server/db"
)

// CLIPrefix starts every command-line token, so that it is told apart
// from an API key in an Authorization header and found by secret scanners.
const CLIPrefix = "loomcli_"

// Limits says how long sessions last.
type Limits struct {
	// Idle is how long an unused session lasts; each use renews it.
	Idle time.Duration
	// Max is how long a session lasts from sign-in, however used.
	Max time.Duration
}

// Defaults for each kind of session.
var (
	WebLimits = Limits{Idle: 7 * 24 * time.Hour, Max: 30 * 24 * time.Hour}
	CLILimits = Limits{Idle: 90 * 24 * time.Hour, Max: 365 * 24 * time.Hour}
)

// touchEvery bounds how often a session's use is written back: the expiry
// slides by minutes, not by requests.
const touchEvery = time.Minute

// maxListed bounds the sessions a list answers with.
const maxListed = 200

// ErrNotFound is a token that names no live session: unknown, expired,
// revoked, of the other kind, or of a disabled user.
var ErrNotFound = errors.New("no such session: sign in again")

// Session is one signed-in session, as listed to its user.
type Session struct {
	ID         string    `json:"id"`
	Kind       auth.Kind `json:"kind"`
	CreatedAt  time.Time `json:"created_at"`
	LastSeenAt time.Time `json:"last_seen_at"`
	ExpiresAt  time.Time `json:"expires_at"`
	UserAgent  string    `json:"user_agent"`
	IP         string    `json:"ip"`
	// Current marks the session the listing request came with.
	Current bool `json:"current"`
}

// Store keeps sessions in the server's database.
type Store struct {
	db     *db.DB
	limits map[auth.Kind]Limits
}

// NewStore returns a store over d with the default limits.
func NewStore(d *db.DB) *Store {
	return &Store{db: d, limits: map[auth.Kind]Limits{auth.KindWeb: WebLimits, auth.KindCLI: CLILimits}}
}

// SetLimits changes the limits of one kind of session.
func (s *Store) SetLimits(k auth.Kind, l Limits) { s.limits[k] = l }

// Create starts a session for userID and returns its token, which is never
// stored and cannot be recovered. It writes no audit entry: sign-in flows
// use SignIn.
func (s *Store) Create(ctx context.Context, userID string, kind auth.Kind, userAgent, ip string) (token string, sess Session, err error) {
	return s.create(ctx, s.db, userID, kind, userAgent, ip)
}

// SignIn starts a session for userID as Create does and records, in the
// same transaction, that the user signed in by method ("magic_link",
// "device", "oidc:NAME", "github") from ip.
func (s *Store) SignIn(ctx context.Context, userID string, kind auth.Kind, method, userAgent, ip string) (token string, sess Session, err error) {
	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		if token, sess, err = s.create(ctx, tx, userID, kind, userAgent, ip); err != nil {
			return err
		}
		return audit.Append(ctx, tx, audit.Actor{ID: userID, IP: ip}, "", audit.SignedIn, userID,
			"method="+method+" kind="+string(kind)+" session="+sess.ID)
	})
	return token, sess, err
}

func (s *Store) create(ctx context.Context, x audit.Execer, userID string, kind auth.Kind, userAgent, ip string) (token string, sess Session, err error) {
	lim, ok := s.limits[kind]
	if !ok {
		return "", sess, fmt.Errorf("no sessions of kind %q", kind)
	}
	token = secret.New()
	if kind == auth.KindCLI {
		token = CLIPrefix + token
	}
	now := db.Now()
	sess = Session{ID: secret.ID(), Kind: kind, CreatedAt: db.Time(now), LastSeenAt: db.Time(now),
		ExpiresAt: db.Time(now + lim.Idle.Microseconds()), UserAgent: clip(userAgent, 256), IP: ip}
	// Expired and revoked sessions of this user go now, so the table holds
	// about as many rows as there are live sessions.
	if _, err := x.ExecContext(ctx, `DELETE FROM sessions WHERE user_id = $1 AND (expires_at <= $2 OR revoked_at > 0)`, userID, now); err != nil {
		return "", sess, fmt.Errorf("pruning sessions: %w", err)
	}
	_, err = x.ExecContext(ctx, `INSERT INTO sessions (id, token_hash, user_id, kind, csrf_hash, created_at, last_seen_at, expires_at, user_agent, ip)
		VALUES ($1, $2, $3, $4, $5, $6, $6, $7, $8, $9)`,
		sess.ID, secret.Hash(token), userID, string(kind), secret.Hash(csrfOf(token)), now, now+lim.Idle.Microseconds(), sess.UserAgent, ip)
	if err != nil {
		return "", sess, fmt.Errorf("creating a session: %w", err)
	}
	return token, sess, nil
}

// found is a live session looked up by its token.
type found struct {
	principal *auth.Principal
	csrfHash  string
}

// Lookup finds the live session of token, of kind kind, and slides its
// expiry.
func (s *Store) Lookup(ctx context.Context, token string, kind auth.Kind) (*auth.Principal, error) {
	f, err := s.lookup(ctx, token, kind)
	if err != nil {
		return nil, err
	}
	return f.principal, nil
}

func (s *Store) lookup(ctx context.Context, token string, kind auth.Kind) (found, error) {
	lim, ok := s.limits[kind]
	if !ok || token == "" {
		return found{}, ErrNotFound
	}
	now := db.Now()
	p := &auth.Principal{Kind: kind}
	var f found
	var created, lastSeen int64
	err := s.db.QueryRowContext(ctx, `SELECT s.id, s.user_id, u.email, s.csrf_hash, s.created_at, s.last_seen_at
		FROM sessions s JOIN users u ON u.id = s.user_id
		WHERE s.token_hash = $1 AND s.kind = $2 AND s.revoked_at = 0 AND s.expires_at > $3 AND u.disabled_at = 0`,
		secret.Hash(token), string(kind), now).Scan(&p.SessionID, &p.UserID, &p.Email, &f.csrfHash, &created, &lastSeen)
	if errors.Is(err, sql.ErrNoRows) {
		return found{}, ErrNotFound
	}
	if err != nil {
		return found{}, fmt.Errorf("looking up a session: %w", err)
	}
	if now-lastSeen >= touchEvery.Microseconds() {
		expires := min(now+lim.Idle.Microseconds(), created+lim.Max.Microseconds())
		if _, err := s.db.ExecContext(ctx, `UPDATE sessions SET last_seen_at = $1, expires_at = $2 WHERE id = $3`, now, expires, p.SessionID); err != nil {
			return found{}, fmt.Errorf("renewing a session: %w", err)
		}
	}
	f.principal = p
	return f, nil
}

// List returns userID's live sessions, the most recently used first.
func (s *Store) List(ctx context.Context, userID string) ([]Session, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, kind, created_at, last_seen_at, expires_at, user_agent, ip
		FROM sessions WHERE user_id = $1 AND revoked_at = 0 AND expires_at > $2
		ORDER BY last_seen_at DESC, id LIMIT $3`, userID, db.Now(), maxListed)
	if err != nil {
		return nil, fmt.Errorf("listing sessions: %w", err)
	}
	defer rows.Close()
	var out []Session
	for rows.Next() {
		var x Session
		var kind string
		var created, seen, expires int64
		if err := rows.Scan(&x.ID, &kind, &created, &seen, &expires, &x.UserAgent, &x.IP); err != nil {
			return nil, fmt.Errorf("listing sessions: %w", err)
		}
		x.Kind, x.CreatedAt, x.LastSeenAt, x.ExpiresAt = auth.Kind(kind), db.Time(created), db.Time(seen), db.Time(expires)
		out = append(out, x)
	}
	return out, rows.Err()
}

// Revoke ends userID's session id; it reports false when userID has no
// such live session (someone else's session is never touched).
func (s *Store) Revoke(ctx context.Context, userID, id string) (bool, error) {
	res, err := s.db.ExecContext(ctx, `UPDATE sessions SET revoked_at = $1 WHERE id = $2 AND user_id = $3 AND revoked_at = 0`, db.Now(), id, userID)
	if err != nil {
		return false, fmt.Errorf("revoking a session: %w", err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// revokeToken ends the session of token, whoever's it is: the browser that
// brought the cookie is signing out, or signing in afresh.
func (s *Store) revokeToken(ctx context.Context, token string) error {
	_, err := s.db.ExecContext(ctx, `UPDATE sessions SET revoked_at = $1 WHERE token_hash = $2 AND revoked_at = 0`, db.Now(), secret.Hash(token))
	return err
}

func clip(s string, n int) string {
	s = strings.ToValidUTF8(s, "")
	if len(s) <= n {
		return s
	}
	s = s[:n]
	return strings.ToValidUTF8(s, "")
}
