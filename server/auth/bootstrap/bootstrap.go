// Package bootstrap starts a fresh team server without email: it creates
// the first organisation and its owner and returns a one-time sign-in
// link for them (`loom server admin`). It refuses once any organisation
// exists, so it cannot be used to slip a second owner in.
package bootstrap

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/loom-agent/loom/server/auth/magiclink"
	"github.com/loom-agent/loom/server/auth/secret"
	"github.com/loom-agent/loom/server/db"
)

// LinkTTL is how long the bootstrap link works: longer than a mailed
// link, since a person copies it from a terminal.
const LinkTTL = time.Hour

// ErrDone is a bootstrap of a server that already has an organisation.
var ErrDone = errors.New("the server already has an organisation: sign in, or have an admin invite you")

var slugRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`) })

// Result is what a bootstrap made.
type Result struct {
	OrgID, UserID string
	// Link signs the owner in once, within LinkTTL.
	Link string
}

// Run creates organisation slug (named name) owned by email, and a
// sign-in link for them.
func Run(ctx context.Context, d *db.DB, links *magiclink.Links, slug, name, email string) (Result, error) {
	email, err := magiclink.NormalizeEmail(email)
	if err != nil {
		return Result{}, err
	}
	if !slugRE().MatchString(slug) {
		return Result{}, fmt.Errorf("organisation slug %q: use lower-case letters, digits and dashes", slug)
	}
	if name = strings.TrimSpace(name); name == "" {
		name = slug
	}
	res := Result{OrgID: secret.ID()}
	err = d.Tx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM orgs`).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return ErrDone
		}
		now := db.Now()
		err := tx.QueryRowContext(ctx, `SELECT id FROM users WHERE email = $1`, email).Scan(&res.UserID)
		if errors.Is(err, sql.ErrNoRows) {
			res.UserID = secret.ID()
			_, err = tx.ExecContext(ctx, `INSERT INTO users (id, email, created_at) VALUES ($1, $2, $3)`, res.UserID, email, now)
		}
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO orgs (id, slug, name, created_at) VALUES ($1, $2, $3, $4)`, res.OrgID, slug, name, now); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO memberships (org_id, user_id, role, created_at) VALUES ($1, $2, 'owner', $3)`, res.OrgID, res.UserID, now)
		return err
	})
	if errors.Is(err, ErrDone) {
		return Result{}, err
	}
	if err != nil {
		return Result{}, fmt.Errorf("creating the first organisation: %w", err)
	}
	if res.Link, err = links.Issue(ctx, email, "", LinkTTL); err != nil {
		return Result{}, err
	}
	return res, nil
}
