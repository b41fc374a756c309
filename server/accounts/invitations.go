package accounts

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/loom-agent/loom/server/audit"
	"github.com/loom-agent/loom/server/db"
	"github.com/loom-agent/loom/server/policy"
)

// InvitationTTL is how long an invitation may be accepted, unless the
// inviter says otherwise; MaxInvitationTTL is the longest allowed.
const (
	InvitationTTL    = 7 * 24 * time.Hour
	MaxInvitationTTL = 30 * 24 * time.Hour
)

// Invitation asks someone, by email, to join an organisation with a role.
type Invitation struct {
	ID        string      `json:"id"`
	OrgID     string      `json:"org_id"`
	Email     string      `json:"email"`
	Role      policy.Role `json:"role"`
	InvitedBy string      `json:"invited_by"`
	CreatedAt int64       `json:"created_at"`
	ExpiresAt int64       `json:"expires_at"`
}

// invitationPrefix marks a token for what it is, in logs and secret scanners.
const invitationPrefix = "loominv_"

// hashToken is what the database keeps of a token: random tokens of 256
// bits need no slow hash, only one nobody can reverse.
func hashToken(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}

// Invite invites email to org with role, for ttl (InvitationTTL when 0).
// The token is returned once: only its SHA-256 is stored.
func (s *Store) Invite(ctx context.Context, by audit.Actor, org, email string, r policy.Role, ttl time.Duration) (Invitation, string, error) {
	email, err := NormalEmail(email)
	if err != nil {
		return Invitation{}, "", err
	}
	if err := validRole(r); err != nil {
		return Invitation{}, "", err
	}
	if ttl == 0 {
		ttl = InvitationTTL
	}
	if ttl < time.Minute || ttl > MaxInvitationTTL {
		return Invitation{}, "", fmt.Errorf("%w expiry: from a minute to %v", ErrInvalid, MaxInvitationTTL)
	}
	secret := make([]byte, 32)
	rand.Read(secret)
	token := invitationPrefix + base64.RawURLEncoding.EncodeToString(secret)
	now := db.Now()
	inv := Invitation{ID: newID(), OrgID: org, Email: email, Role: r, InvitedBy: by.ID, CreatedAt: now, ExpiresAt: now + ttl.Microseconds()}
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		if err := lockOrg(ctx, tx, org); err != nil {
			return err
		}
		var member int
		err := tx.QueryRowContext(ctx, `SELECT 1 FROM memberships m JOIN users u ON u.id = m.user_id
			WHERE m.org_id = $1 AND u.email = $2`, org, email).Scan(&member)
		if err == nil {
			return fmt.Errorf("%s is already a member: %w", email, ErrExists)
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO invitations (id, org_id, email, role, token_hash, invited_by, created_at, expires_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, inv.ID, org, email, string(r), hashToken(token), by.ID, now, inv.ExpiresAt); err != nil {
			return err
		}
		return audit.Append(ctx, tx, by, org, audit.InvitationCreated, inv.ID, "email="+email+" role="+string(r))
	})
	if err != nil {
		return Invitation{}, "", err
	}
	return inv, token, nil
}

// Invitations lists org's invitations still waiting: not accepted, not
// revoked, not expired.
func (s *Store) Invitations(ctx context.Context, org string) ([]Invitation, error) {
	rows, err := s.DB.QueryContext(ctx, `SELECT id, org_id, email, role, invited_by, created_at, expires_at FROM invitations
		WHERE org_id = $1 AND accepted_at = 0 AND revoked_at = 0 AND expires_at > $2 ORDER BY created_at`, org, db.Now())
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Invitation{}
	for rows.Next() {
		var i Invitation
		if err := rows.Scan(&i.ID, &i.OrgID, &i.Email, &i.Role, &i.InvitedBy, &i.CreatedAt, &i.ExpiresAt); err != nil {
			return nil, err
		}
		out = append(out, i)
	}
	return out, rows.Err()
}

// Invitation returns one of org's invitations, waiting or not.
func (s *Store) Invitation(ctx context.Context, org, id string) (Invitation, error) {
	var i Invitation
	err := s.DB.QueryRowContext(ctx, `SELECT id, org_id, email, role, invited_by, created_at, expires_at FROM invitations
		WHERE org_id = $1 AND id = $2`, org, id).Scan(&i.ID, &i.OrgID, &i.Email, &i.Role, &i.InvitedBy, &i.CreatedAt, &i.ExpiresAt)
	return i, notFound(err, "invitation "+id)
}

// RevokeInvitation withdraws a waiting invitation.
func (s *Store) RevokeInvitation(ctx context.Context, by audit.Actor, org, id string) error {
	return s.DB.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE invitations SET revoked_at = $3
			WHERE org_id = $1 AND id = $2 AND accepted_at = 0 AND revoked_at = 0`, org, id, db.Now())
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("waiting invitation %s: %w", id, ErrNotFound)
		}
		return audit.Append(ctx, tx, by, org, audit.InvitationRevoked, id, "")
	})
}

// AcceptInvitation makes user a member as token's invitation says. The
// invitation must be waiting and addressed to user's email; it is used up
// even when user was already a member (their role is then kept).
func (s *Store) AcceptInvitation(ctx context.Context, by audit.Actor, token string, user User) (Invitation, error) {
	var inv Invitation
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		var accepted, revoked int64
		err := tx.QueryRowContext(ctx, `SELECT id, org_id, email, role, invited_by, created_at, expires_at, accepted_at, revoked_at
			FROM invitations WHERE token_hash = $1`, hashToken(token)).
			Scan(&inv.ID, &inv.OrgID, &inv.Email, &inv.Role, &inv.InvitedBy, &inv.CreatedAt, &inv.ExpiresAt, &accepted, &revoked)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrInvitation
		}
		if err != nil {
			return err
		}
		if err := lockOrg(ctx, tx, inv.OrgID); err != nil {
			return err
		}
		if inv.Email != user.Email {
			return ErrWrongEmail
		}
		// The conditions again, in the UPDATE: of two acceptances at once,
		// one changes the row and the other finds it used.
		res, err := tx.ExecContext(ctx, `UPDATE invitations SET accepted_at = $2
			WHERE id = $1 AND accepted_at = 0 AND revoked_at = 0 AND expires_at > $2`, inv.ID, db.Now())
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrInvitation
		}
		err = insertMember(ctx, tx, inv.OrgID, user.ID, inv.Role)
		if err != nil && !errors.Is(err, ErrExists) {
			return err
		}
		return audit.Append(ctx, tx, by, inv.OrgID, audit.InvitationAccepted, inv.ID, "user="+user.ID+" role="+string(inv.Role))
	})
	if err != nil {
		return Invitation{}, err
	}
	return inv, nil
}

// Queryer is a *sql.DB or *sql.Tx.
type Queryer interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// Invited reports whether email (lower-cased) has an invitation waiting:
// someone without an account may get one by proving the address, through
// a magic link or a verified identity elsewhere.
func Invited(ctx context.Context, q Queryer, email string) (bool, error) {
	var n int
	err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM invitations
		WHERE email = $1 AND accepted_at = 0 AND revoked_at = 0 AND expires_at > $2`, email, db.Now()).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("looking for invitations: %w", err)
	}
	return n > 0, nil
}
