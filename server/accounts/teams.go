package accounts

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/loom-agent/loom/server/audit"
	"github.com/loom-agent/loom/server/db"
)

// Team is a group of an organisation's members.
type Team struct {
	ID        string `json:"id"`
	OrgID     string `json:"org_id"`
	Slug      string `json:"slug"`
	Name      string `json:"name"`
	CreatedAt int64  `json:"created_at"`
}

// CreateTeam adds a team to org.
func (s *Store) CreateTeam(ctx context.Context, by audit.Actor, org, slug, name string) (Team, error) {
	if err := ValidSlug(slug); err != nil {
		return Team{}, err
	}
	name, err := ValidName(name)
	if err != nil {
		return Team{}, err
	}
	t := Team{ID: newID(), OrgID: org, Slug: slug, Name: name, CreatedAt: db.Now()}
	err = s.DB.Tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO teams (id, org_id, slug, name, created_at) VALUES ($1, $2, $3, $4, $5)`,
			t.ID, t.OrgID, t.Slug, t.Name, t.CreatedAt)
		if db.IsUnique(err) {
			return fmt.Errorf("team %s: %w", slug, ErrExists)
		}
		if err != nil {
			return err
		}
		return audit.Append(ctx, tx, by, org, audit.TeamCreated, t.ID, "slug="+slug)
	})
	if err != nil {
		return Team{}, err
	}
	return t, nil
}

// Team returns org's team whose ID or slug is ref.
func (s *Store) Team(ctx context.Context, org, ref string) (Team, error) {
	var t Team
	err := s.DB.QueryRowContext(ctx, `SELECT id, org_id, slug, name, created_at FROM teams
		WHERE org_id = $1 AND (id = $2 OR slug = $2)`, org, ref).Scan(&t.ID, &t.OrgID, &t.Slug, &t.Name, &t.CreatedAt)
	return t, notFound(err, "team "+ref)
}

// Teams lists org's teams by slug.
func (s *Store) Teams(ctx context.Context, org string) ([]Team, error) {
	rows, err := s.DB.QueryContext(ctx, `SELECT id, org_id, slug, name, created_at FROM teams WHERE org_id = $1 ORDER BY slug`, org)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Team{}
	for rows.Next() {
		var t Team
		if err := rows.Scan(&t.ID, &t.OrgID, &t.Slug, &t.Name, &t.CreatedAt); err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// DeleteTeam removes one of org's teams (its members stay in org).
func (s *Store) DeleteTeam(ctx context.Context, by audit.Actor, org, team string) error {
	return s.DB.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM teams WHERE org_id = $1 AND id = $2`, org, team)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("team %s: %w", team, ErrNotFound)
		}
		return audit.Append(ctx, tx, by, org, audit.TeamDeleted, team, "")
	})
}

// TeamMembers lists a team's members by email.
func (s *Store) TeamMembers(ctx context.Context, team string) ([]User, error) {
	rows, err := s.DB.QueryContext(ctx, `SELECT u.id, u.email, u.name, u.created_at
		FROM team_members m JOIN users u ON u.id = m.user_id WHERE m.team_id = $1 ORDER BY u.email`, team)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []User{}
	for rows.Next() {
		var u User
		if err := rows.Scan(&u.ID, &u.Email, &u.Name, &u.CreatedAt); err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

// AddTeamMember puts user, a member of org, in org's team.
func (s *Store) AddTeamMember(ctx context.Context, by audit.Actor, org, team, user string) error {
	return s.DB.Tx(ctx, func(tx *sql.Tx) error {
		if err := lockOrg(ctx, tx, org); err != nil {
			return err
		}
		if _, err := role(ctx, tx, org, user); err != nil {
			return fmt.Errorf("%w: user %s is not a member of the organisation", ErrInvalid, user)
		}
		var ok int
		if err := tx.QueryRowContext(ctx, `SELECT 1 FROM teams WHERE org_id = $1 AND id = $2`, org, team).Scan(&ok); err != nil {
			return notFound(err, "team "+team)
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO team_members (team_id, user_id, created_at) VALUES ($1, $2, $3)`, team, user, db.Now())
		if db.IsUnique(err) {
			return fmt.Errorf("user %s is already in the team: %w", user, ErrExists)
		}
		if err != nil {
			return err
		}
		return audit.Append(ctx, tx, by, org, audit.TeamMemberAdded, team, "user="+user)
	})
}

// RemoveTeamMember takes user out of org's team.
func (s *Store) RemoveTeamMember(ctx context.Context, by audit.Actor, org, team, user string) error {
	return s.DB.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM team_members WHERE user_id = $1
			AND team_id = (SELECT id FROM teams WHERE org_id = $2 AND id = $3)`, user, org, team)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("team member %s: %w", user, ErrNotFound)
		}
		return audit.Append(ctx, tx, by, org, audit.TeamMemberRemoved, team, "user="+user)
	})
}
