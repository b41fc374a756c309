package db_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/loom-agent/loom/server/db"
	"github.com/loom-agent/loom/server/db/dbtest"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

// The one set of migrations runs on both engines, twice without harm, and
// the SQL the stores write (placeholders, ON CONFLICT, RETURNING, unique
// violations) means the same on both.
func TestPortableSQL(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		if err := d.Ready(ctx); err != nil {
			t.Fatal(err)
		}
		ins := `INSERT INTO users (id, email, name, created_at) VALUES ($1, $2, $3, $4)`
		if _, err := d.ExecContext(ctx, ins, "u1", "a@example.com", "A", db.Now()); err != nil {
			t.Fatal(err)
		}
		_, err := d.ExecContext(ctx, ins, "u2", "a@example.com", "B", db.Now())
		if !db.IsUnique(err) {
			t.Fatalf("a second user with the same email: err = %v, want a unique violation", err)
		}
		if db.IsUnique(errors.New("UNIQUE constraint failed")) {
			t.Error("IsUnique matched an error by its text")
		}
		var id string
		err = d.QueryRowContext(ctx, `INSERT INTO orgs (id, slug, name, created_at) VALUES ($1, $2, $3, $4)
			ON CONFLICT (slug) DO NOTHING RETURNING id`, "o1", "acme", "Acme", db.Now()).Scan(&id)
		if err != nil || id != "o1" {
			t.Fatalf("RETURNING: %q, %v", id, err)
		}
		// A membership naming a user that does not exist is refused on both
		// engines (SQLite checks foreign keys only when told to).
		_, err = d.ExecContext(ctx, `INSERT INTO memberships (org_id, user_id, role, created_at) VALUES ($1, $2, 'member', $3)`, "o1", "nobody", db.Now())
		if err == nil {
			t.Error("a membership of a missing user was stored")
		}
		_, err = d.ExecContext(ctx, `INSERT INTO memberships (org_id, user_id, role, created_at) VALUES ($1, $2, 'king', $3)`, "o1", "u1", db.Now())
		if err == nil {
			t.Error("a membership with an unknown role was stored")
		}
	})
}

func TestSQLiteFileIsPrivate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "server.db")
	d, err := db.Open(context.Background(), "sqlite:"+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	// Migrating twice is a no-op.
	d2, err := db.Open(context.Background(), path, nil)
	if err != nil {
		t.Fatal(err)
	}
	d2.Close()
	for p, want := range map[string]os.FileMode{path: 0o600, filepath.Dir(path): 0o700} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != want {
			t.Errorf("%s: mode %o, want %o", p, got, want)
		}
	}
	if _, err := db.Open(context.Background(), path+"?mode=ro", nil); err == nil {
		t.Error("a path with options was accepted")
	}
}
