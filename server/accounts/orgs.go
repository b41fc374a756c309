package accounts

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/loom-agent/loom/server/audit"
	"github.com/loom-agent/loom/server/db"
	"github.com/loom-agent/loom/server/policy"
)

// Org is an organisation.
type Org struct {
	ID        string `json:"id"`
	Slug      string `json:"slug"`
	Name      string `json:"name"`
	CreatedAt int64  `json:"created_at"`
}

// Member is a user with their role in an organisation.
type Member struct {
	User
	Role  policy.Role `json:"role"`
	Since int64       `json:"since"`
}

// OrgRole is an organisation with the role someone holds in it.
type OrgRole struct {
	Org
	Role policy.Role `json:"role"`
}

// CreateOrg makes an organisation whose first owner is owner.
func (s *Store) CreateOrg(ctx context.Context, by audit.Actor, slug, name, owner string) (Org, error) {
	if err := ValidSlug(slug); err != nil {
		return Org{}, err
	}
	name, err := ValidName(name)
	if err != nil {
		return Org{}, err
	}
	o := Org{ID: newID(), Slug: slug, Name: name, CreatedAt: db.Now()}
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO orgs (id, slug, name, created_at) VALUES ($1, $2, $3, $4)`, o.ID, o.Slug, o.Name, o.CreatedAt)
		if db.IsUnique(err) {
			return fmt.Errorf("organisation %s: %w", slug, ErrExists)
		}
		if err != nil {
			return err
		}
		if err := insertMember(ctx, tx, o.ID, owner, policy.Owner); err != nil {
			return err
		}
		return audit.Append(ctx, tx, by, o.ID, audit.OrgCreated, o.ID, "slug="+slug+" owner="+owner)
	})
	if err != nil {
		return Org{}, err
	}
	return o, nil
}

func insertMember(ctx context.Context, tx *sql.Tx, org, user string, role policy.Role) error {
	var exists int
	err := tx.QueryRowContext(ctx, `SELECT 1 FROM users WHERE id = $1`, user).Scan(&exists)
	if err != nil {
		return notFound(err, "user "+user)
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO memberships (org_id, user_id, role, created_at) VALUES ($1, $2, $3, $4)`,
		org, user, string(role), db.Now())
	if db.IsUnique(err) {
		return fmt.Errorf("user %s is already a member: %w", user, ErrExists)
	}
	return err
}

// Org returns the organisation whose ID or slug is ref.
func (s *Store) Org(ctx context.Context, ref string) (Org, error) {
	var o Org
	err := s.DB.QueryRowContext(ctx, `SELECT id, slug, name, created_at FROM orgs WHERE id = $1 OR slug = $1`, ref).
		Scan(&o.ID, &o.Slug, &o.Name, &o.CreatedAt)
	return o, notFound(err, "organisation "+ref)
}

// OrgID returns the ID of the organisation whose ID or slug is ref.
func (s *Store) OrgID(ctx context.Context, ref string) (string, error) {
	o, err := s.Org(ctx, ref)
	return o.ID, err
}

// OrgsOf lists the organisations user belongs to.
func (s *Store) OrgsOf(ctx context.Context, user string) ([]OrgRole, error) {
	rows, err := s.DB.QueryContext(ctx, `SELECT o.id, o.slug, o.name, o.created_at, m.role
		FROM memberships m JOIN orgs o ON o.id = m.org_id WHERE m.user_id = $1 ORDER BY o.slug`, user)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []OrgRole{}
	for rows.Next() {
		var o OrgRole
		if err := rows.Scan(&o.ID, &o.Slug, &o.Name, &o.CreatedAt, &o.Role); err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	return out, rows.Err()
}

// RenameOrg changes an organisation's display name.
func (s *Store) RenameOrg(ctx context.Context, by audit.Actor, org, name string) error {
	name, err := ValidName(name)
	if err != nil {
		return err
	}
	return s.DB.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE orgs SET name = $2 WHERE id = $1`, org, name)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("organisation %s: %w", org, ErrNotFound)
		}
		return audit.Append(ctx, tx, by, org, audit.OrgRenamed, org, "name="+name)
	})
}

// Members lists an organisation's members by email.
func (s *Store) Members(ctx context.Context, org string) ([]Member, error) {
	rows, err := s.DB.QueryContext(ctx, `SELECT u.id, u.email, u.name, u.created_at, m.role, m.created_at
		FROM memberships m JOIN users u ON u.id = m.user_id WHERE m.org_id = $1 ORDER BY u.email`, org)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Member{}
	for rows.Next() {
		var m Member
		if err := rows.Scan(&m.ID, &m.Email, &m.Name, &m.CreatedAt, &m.Role, &m.Since); err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// Role returns user's role in org; ErrNotFound when not a member.
func (s *Store) Role(ctx context.Context, org, user string) (policy.Role, error) {
	return role(ctx, s.DB, org, user)
}

type queryer interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func role(ctx context.Context, q queryer, org, user string) (policy.Role, error) {
	var r string
	err := q.QueryRowContext(ctx, `SELECT role FROM memberships WHERE org_id = $1 AND user_id = $2`, org, user).Scan(&r)
	return policy.Role(r), notFound(err, "member "+user)
}

// AddMember makes user a member of org with role.
func (s *Store) AddMember(ctx context.Context, by audit.Actor, org, user string, r policy.Role) error {
	if err := validRole(r); err != nil {
		return err
	}
	return s.DB.Tx(ctx, func(tx *sql.Tx) error {
		if err := lockOrg(ctx, tx, org); err != nil {
			return err
		}
		if err := insertMember(ctx, tx, org, user, r); err != nil {
			return err
		}
		return audit.Append(ctx, tx, by, org, audit.MemberAdded, user, "role="+string(r))
	})
}

// SetRole changes user's role in org. The last owner cannot be demoted.
func (s *Store) SetRole(ctx context.Context, by audit.Actor, org, user string, r policy.Role) error {
	if err := validRole(r); err != nil {
		return err
	}
	return s.DB.Tx(ctx, func(tx *sql.Tx) error {
		if err := lockOrg(ctx, tx, org); err != nil {
			return err
		}
		old, err := role(ctx, tx, org, user)
		if err != nil {
			return err
		}
		if old == r {
			return nil
		}
		if old == policy.Owner {
			if err := keepAnOwner(ctx, tx, org); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, `UPDATE memberships SET role = $3 WHERE org_id = $1 AND user_id = $2`, org, user, string(r)); err != nil {
			return err
		}
		return audit.Append(ctx, tx, by, org, audit.RoleChanged, user, string(old)+" -> "+string(r))
	})
}

// RemoveMember takes user out of org and its teams. The last owner cannot
// be removed.
func (s *Store) RemoveMember(ctx context.Context, by audit.Actor, org, user string) error {
	return s.DB.Tx(ctx, func(tx *sql.Tx) error {
		if err := lockOrg(ctx, tx, org); err != nil {
			return err
		}
		old, err := role(ctx, tx, org, user)
		if err != nil {
			return err
		}
		if old == policy.Owner {
			if err := keepAnOwner(ctx, tx, org); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM team_members WHERE user_id = $1
			AND team_id IN (SELECT id FROM teams WHERE org_id = $2)`, user, org); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM memberships WHERE org_id = $1 AND user_id = $2`, org, user); err != nil {
			return err
		}
		return audit.Append(ctx, tx, by, org, audit.MemberRemoved, user, "role="+string(old))
	})
}

// keepAnOwner fails unless org has an owner besides the one about to go;
// the caller holds lockOrg.
func keepAnOwner(ctx context.Context, tx *sql.Tx, org string) error {
	var owners int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM memberships WHERE org_id = $1 AND role = 'owner'`, org).Scan(&owners); err != nil {
		return err
	}
	if owners < 2 {
		return ErrLastOwner
	}
	return nil
}
