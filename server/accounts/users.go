package accounts

import (
	"context"
	"fmt"

	"github.com/loom-agent/loom/server/audit"
	"github.com/loom-agent/loom/server/db"
	"github.com/loom-agent/loom/server/policy"
)

// User is a person's account.
type User struct {
	ID        string `json:"id"`
	Email     string `json:"email"`
	Name      string `json:"name"`
	CreatedAt int64  `json:"created_at"`
}

// CreateUser adds a person; their email is lower-cased and must be new.
// Sign-in creates users; nobody else does.
func (s *Store) CreateUser(ctx context.Context, email, name string) (User, error) {
	return InsertUser(ctx, s.DB, email, name)
}

// InsertUser is CreateUser in a transaction of the caller's (sign-in
// creates a user, links an identity and writes the audit entry at once).
func InsertUser(ctx context.Context, x audit.Execer, email, name string) (User, error) {
	email, err := NormalEmail(email)
	if err != nil {
		return User{}, err
	}
	if name != "" {
		if name, err = ValidName(name); err != nil {
			return User{}, err
		}
	}
	u := User{ID: newID(), Email: email, Name: name, CreatedAt: db.Now()}
	_, err = x.ExecContext(ctx, `INSERT INTO users (id, email, name, created_at) VALUES ($1, $2, $3, $4)`,
		u.ID, u.Email, u.Name, u.CreatedAt)
	if db.IsUnique(err) {
		return User{}, fmt.Errorf("user %s: %w", email, ErrExists)
	}
	if err != nil {
		return User{}, fmt.Errorf("creating user %s: %w", email, err)
	}
	return u, nil
}

// User returns the user with id.
func (s *Store) User(ctx context.Context, id string) (User, error) {
	return s.user(ctx, `id = $1`, id)
}

// UserByEmail returns the user with email, in any case.
func (s *Store) UserByEmail(ctx context.Context, email string) (User, error) {
	email, err := NormalEmail(email)
	if err != nil {
		return User{}, err
	}
	return s.user(ctx, `email = $1`, email)
}

func (s *Store) user(ctx context.Context, where, arg string) (User, error) {
	var u User
	err := s.DB.QueryRowContext(ctx, `SELECT id, email, name, created_at FROM users WHERE `+where, arg).
		Scan(&u.ID, &u.Email, &u.Name, &u.CreatedAt)
	return u, notFound(err, "user "+arg)
}

// Memberships returns the organisations userID belongs to, with its role,
// and its teams: the policy.Directory the authorizer asks on every request
// a person makes, so it is one indexed query.
func (s *Store) Memberships(ctx context.Context, userID string) (policy.Memberships, error) {
	rows, err := s.DB.QueryContext(ctx, `
		SELECT org_id, role, '' FROM memberships WHERE user_id = $1
		UNION ALL
		SELECT t.org_id, '', t.id FROM team_members m JOIN teams t ON t.id = m.team_id WHERE m.user_id = $1`, userID)
	if err != nil {
		return policy.Memberships{}, err
	}
	defer rows.Close()
	m := policy.Memberships{Roles: map[string]policy.Role{}, Teams: map[string]string{}}
	for rows.Next() {
		var org, role, team string
		if err := rows.Scan(&org, &role, &team); err != nil {
			return policy.Memberships{}, err
		}
		if team != "" {
			m.Teams[team] = org
		} else {
			m.Roles[org] = policy.Role(role)
		}
	}
	return m, rows.Err()
}
