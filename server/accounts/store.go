// Package accounts keeps the team server's people and their groups:
// users, organisations, memberships with a role (owner, admin, member),
// teams, and invitations. Store is the logic on server/db; Handler is its
// JSON API, where every request is decided by the policy.Authorizer.
//
// The rules people expect of such a tool hold in the store, whoever calls
// it: an organisation always keeps an owner (the last one can be neither
// removed nor demoted, even by two admins at once); slugs are checked and
// emails lower-cased; an invitation is a random token of which only the
// SHA-256 is kept, used once, before it expires, by the person it was sent
// to. Every change is written to the audit log in its own transaction.
package accounts

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"net/mail"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/loom-agent/loom/server/db"
	"github.com/loom-agent/loom/server/policy"
)

// The store's errors; the API answers each with its own status.
var (
	ErrNotFound   = errors.New("not found")
	ErrExists     = errors.New("already exists")
	ErrInvalid    = errors.New("invalid")
	ErrLastOwner  = errors.New("an organisation must keep at least one owner")
	ErrInvitation = errors.New("the invitation is unknown, used, revoked or expired")
	ErrWrongEmail = errors.New("the invitation was sent to another email address")
)

// Store keeps accounts in the server's database.
type Store struct {
	DB *db.DB
}

// New returns the accounts store on d.
func New(d *db.DB) *Store { return &Store{DB: d} }

// newID makes the ID of a new row: 128 random bits, upper-case base32,
// which no slug (lower-case) can be.
func newID() string { return rand.Text() }

var slugPattern = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$`) })

// Slugs that web pages and the API use as path segments.
var reservedSlugs = []string{"api", "admin", "new", "settings", "login", "logout", "invitations", "me", "static"}

// ValidSlug checks an organisation's or team's slug: 1 to 40 lower-case
// letters, digits and inner hyphens.
func ValidSlug(s string) error {
	if !slugPattern().MatchString(s) || strings.Contains(s, "--") {
		return fmt.Errorf("%w slug %q: use 1 to 40 lower-case letters, digits and single hyphens, starting and ending with a letter or digit", ErrInvalid, s)
	}
	if slices.Contains(reservedSlugs, s) {
		return fmt.Errorf("%w slug %q: the name is reserved", ErrInvalid, s)
	}
	return nil
}

// NormalEmail checks an email address and returns it lower-cased: a bare
// address (no display name), at most 254 bytes.
func NormalEmail(s string) (string, error) {
	s = strings.TrimSpace(s)
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || len(s) > 254 || a.Name != "" {
		return "", fmt.Errorf("%w email address %q", ErrInvalid, s)
	}
	return strings.ToLower(s), nil
}

// ValidName checks a display name: not empty after trimming, at most 100
// characters, no control characters.
func ValidName(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" || len([]rune(s)) > 100 || strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return "", fmt.Errorf("%w name %q: give 1 to 100 printable characters", ErrInvalid, s)
	}
	return s, nil
}

func validRole(r policy.Role) error {
	if !r.Valid() {
		return fmt.Errorf("%w role %q: owner, admin or member", ErrInvalid, r)
	}
	return nil
}

// lockOrg serialises changes to org's memberships: a row lock in
// PostgreSQL (other transactions wait at this UPDATE), and SQLite's
// transactions already hold the write lock. Without it two admins demoting
// the last two owners at once would each see the other still an owner.
func lockOrg(ctx context.Context, tx *sql.Tx, org string) error {
	res, err := tx.ExecContext(ctx, `UPDATE orgs SET name = name WHERE id = $1`, org)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("organisation %s: %w", org, ErrNotFound)
	}
	return nil
}

func notFound(err error, what string) error {
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%s: %w", what, ErrNotFound)
	}
	return err
}
