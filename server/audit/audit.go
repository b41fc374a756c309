// Package audit keeps the team server's log of security events: sign-ins,
// API keys created or revoked, roles and memberships changed, invitations,
// policies loaded. Events are appended in the same transaction as the
// change they record, so there is no change without its entry, and listed
// newest first for an organisation's admins (GET /api/v1/orgs/{org}/audit).
package audit

import (
	"context"
	"crypto/rand"
	"database/sql"
	"fmt"
	"net/http"

	"github.com/loom-agent/loom/server/auth"
	"github.com/loom-agent/loom/server/db"
	"github.com/loom-agent/loom/server/web"
)

// The actions recorded.
const (
	OrgCreated         = "org.created"
	OrgRenamed         = "org.renamed"
	MemberAdded        = "member.added"
	MemberRemoved      = "member.removed"
	RoleChanged        = "member.role_changed"
	TeamCreated        = "team.created"
	TeamDeleted        = "team.deleted"
	TeamMemberAdded    = "team.member_added"
	TeamMemberRemoved  = "team.member_removed"
	InvitationCreated  = "invitation.created"
	InvitationRevoked  = "invitation.revoked"
	InvitationAccepted = "invitation.accepted"
	KeyCreated         = "apikey.created"
	KeyRevoked         = "apikey.revoked"
	PolicyLoaded       = "policy.loaded"
	SignedIn           = "session.signed_in"
	SignedOut          = "session.signed_out"
	// SignInRefused is a sign-in at a provider that Loom turned down for
	// a reason an admin may want to see: an unverified email, a refused
	// self sign-up, a disabled account, a token that failed its checks.
	SignInRefused  = "session.signin_refused"
	UserCreated    = "user.created"
	IdentityLinked = "identity.linked"
)

// Actor is who did something, and from where.
type Actor struct {
	// ID is a user's ID, "apikey:ID" for an API key, or "system".
	ID string
	IP string
}

// System is the server itself (start-up, bootstrap).
var System = Actor{ID: "system"}

// ActorOf is the principal of r and the client's address.
func ActorOf(r *http.Request) Actor {
	a := Actor{}
	if p := auth.From(r.Context()); p != nil {
		a.ID = p.UserID
		if p.Kind == auth.KindAPIKey {
			a.ID = "apikey:" + p.KeyID
		}
	}
	if ip := web.ClientOf(r).IP; ip.IsValid() {
		a.IP = ip.String()
	}
	return a
}

// Event is one entry of the log.
type Event struct {
	ID     string `json:"id"`
	At     int64  `json:"at"` // Unix microseconds
	OrgID  string `json:"org_id,omitempty"`
	Actor  string `json:"actor"`
	Action string `json:"action"`
	Target string `json:"target,omitempty"`
	Detail string `json:"detail,omitempty"`
	IP     string `json:"ip,omitempty"`
}

// Execer is a *sql.DB or *sql.Tx.
type Execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// Append records that by did action on target in org; run it in the
// transaction of the change.
func Append(ctx context.Context, x Execer, by Actor, org, action, target, detail string) error {
	_, err := x.ExecContext(ctx, `INSERT INTO audit_log (id, at, org_id, actor, action, target, detail, ip)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		rand.Text(), db.Now(), org, by.ID, action, target, detail, by.IP)
	if err != nil {
		return fmt.Errorf("recording %s in the audit log: %w", action, err)
	}
	return nil
}

// MaxList is the most events one List returns.
const MaxList = 500

// List returns org's events older than before (all when 0), newest first,
// at most limit (MaxList when 0 or more).
func List(ctx context.Context, d *db.DB, org string, before int64, limit int) ([]Event, error) {
	if limit <= 0 || limit > MaxList {
		limit = MaxList
	}
	if before <= 0 {
		before = 1<<63 - 1
	}
	rows, err := d.QueryContext(ctx, `SELECT id, at, org_id, actor, action, target, detail, ip FROM audit_log
		WHERE org_id = $1 AND at < $2 ORDER BY at DESC, id DESC LIMIT $3`, org, before, limit)
	if err != nil {
		return nil, fmt.Errorf("listing the audit log: %w", err)
	}
	defer rows.Close()
	out := []Event{}
	for rows.Next() {
		var e Event
		if err := rows.Scan(&e.ID, &e.At, &e.OrgID, &e.Actor, &e.Action, &e.Target, &e.Detail, &e.IP); err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}
