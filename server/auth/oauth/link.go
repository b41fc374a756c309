package oauth

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/loom-agent/loom/server/accounts"
	"github.com/loom-agent/loom/server/audit"
	"github.com/loom-agent/loom/server/db"
)

// Refusal is a sign-in Link turns down: Message is for the person, Reason
// for the audit log.
type Refusal struct {
	Message, Reason string
}

func (e *Refusal) Error() string { return e.Message }

// Link returns the user that id signs in as through p, linking the
// identity or creating the user as the package's rule allows (see the
// package comment), with the audit entries of what it changed, all in one
// transaction. A refusal is a *Refusal, written to the audit log.
func (s *Service) Link(ctx context.Context, p *Provider, id Identity, ip string) (string, error) {
	var userID string
	var err error
	// Two first sign-ins of one person at once: the loser's insert breaks
	// a unique key, and its second try finds the winner's rows.
	for try := 0; try < 2; try++ {
		err = s.db.Tx(ctx, func(tx *sql.Tx) error {
			userID, err = link(ctx, tx, p, id, ip)
			return err
		})
		if !db.IsUnique(err) {
			break
		}
	}
	var no *Refusal
	if errors.As(err, &no) {
		s.refused(ctx, p, id, ip, no.Reason)
	}
	return userID, err
}

// refused writes a refused sign-in to the audit log.
func (s *Service) refused(ctx context.Context, p *Provider, id Identity, ip, reason string) {
	detail := fmt.Sprintf("provider=%s subject=%s email=%s reason=%s", p.Name, id.Subject, id.Email, reason)
	if len(detail) > 500 {
		detail = detail[:500]
	}
	if err := audit.Append(context.WithoutCancel(ctx), s.db, audit.Actor{IP: ip}, "", audit.SignInRefused, p.Name, detail); err != nil {
		s.log.Error("recording a refused sign-in", "err", err)
	}
}

func link(ctx context.Context, tx *sql.Tx, p *Provider, id Identity, ip string) (string, error) {
	if id.Provider == "" || id.Subject == "" {
		return "", fmt.Errorf("%s named no account", p.Name)
	}
	var userID string
	var disabled int64
	err := tx.QueryRowContext(ctx, `SELECT u.id, u.disabled_at FROM identities i JOIN users u ON u.id = i.user_id
		WHERE i.provider = $1 AND i.subject = $2`, id.Provider, id.Subject).Scan(&userID, &disabled)
	switch {
	case err == nil && disabled != 0:
		return "", &Refusal{"This account is disabled.", "account disabled"}
	case err == nil:
		return userID, nil
	case !errors.Is(err, sql.ErrNoRows):
		return "", fmt.Errorf("looking up an identity: %w", err)
	}

	email, bad := accounts.NormalEmail(id.Email)
	if !id.EmailVerified || bad != nil {
		return "", &Refusal{"Your account at " + p.Name + " has no verified email address: verify it there first, or sign in another way.", "email not verified"}
	}
	by := audit.Actor{IP: ip}
	err = tx.QueryRowContext(ctx, `SELECT id, disabled_at FROM users WHERE email = $1`, email).Scan(&userID, &disabled)
	switch {
	case err == nil && disabled != 0:
		return "", &Refusal{"This account is disabled.", "account disabled"}
	case err == nil:
	case errors.Is(err, sql.ErrNoRows):
		why, err := mayJoin(ctx, tx, p, email)
		if err != nil {
			return "", err
		}
		name, bad := accounts.ValidName(id.Name)
		if bad != nil {
			name = ""
		}
		u, err := accounts.InsertUser(ctx, tx, email, name)
		if err != nil {
			return "", err
		}
		userID, by.ID = u.ID, u.ID
		if err := audit.Append(ctx, tx, by, "", audit.UserCreated, u.ID, "email="+email+" via="+p.Name+" because="+why); err != nil {
			return "", err
		}
	default:
		return "", fmt.Errorf("looking up a user: %w", err)
	}
	by.ID = userID
	if _, err := tx.ExecContext(ctx, `INSERT INTO identities (provider, subject, user_id, email, created_at) VALUES ($1, $2, $3, $4, $5)`,
		id.Provider, id.Subject, userID, email, db.Now()); err != nil {
		return "", err
	}
	return userID, audit.Append(ctx, tx, by, "", audit.IdentityLinked, userID, "provider="+p.Name+" subject="+id.Subject+" email="+email)
}

// mayJoin says why someone without an account may get one by signing in
// at p with email: a waiting invitation to that address, or p's open
// sign-up for its domain. Otherwise it refuses.
func mayJoin(ctx context.Context, tx *sql.Tx, p *Provider, email string) (string, error) {
	invited, err := accounts.Invited(ctx, tx, email)
	if err != nil {
		return "", err
	}
	if invited {
		return "invitation", nil
	}
	domain := email[strings.LastIndexByte(email, '@')+1:]
	if p.AllowSignup && (len(p.SignupDomains) == 0 || slices.Contains(p.SignupDomains, domain)) {
		return "signup", nil
	}
	return "", &Refusal{"There is no account for " + email + " on this server: ask an admin of your team to invite you.", "self sign-up refused"}
}
