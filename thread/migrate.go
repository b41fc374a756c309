package thread

import (
	"context"
	"database/sql"
	"fmt"
)

// migrate brings the schema up to len(migrations). Each step runs in its
// own write transaction that re-reads the version first, so two processes
// opening a new database at once apply each step exactly once. A database
// already up to date is only read, so opening it does not wait for another
// process's write.
func (s *Store) migrate(ctx context.Context) error {
	v, err := s.schemaVersion(ctx)
	if err != nil {
		return err
	}
	if v == len(migrations) {
		return nil
	}
	for {
		done := false
		err := s.write(ctx, func(tx *sql.Tx) error {
			var v int
			if err := tx.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
				return err
			}
			switch {
			case v > len(migrations):
				return fmt.Errorf("the database has schema version %d, newer than this Loom knows (%d): upgrade Loom", v, len(migrations))
			case v == len(migrations):
				done = true
				return nil
			}
			if _, err := tx.ExecContext(ctx, migrations[v]); err != nil {
				return fmt.Errorf("migrating to schema version %d: %w", v+1, err)
			}
			// user_version is part of the database header, so it commits
			// or rolls back with the migration.
			_, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", v+1))
			return err
		})
		if err != nil || done {
			return err
		}
	}
}

// schemaVersion reads the schema version, in the database header.
func (s *Store) schemaVersion(ctx context.Context) (int, error) {
	var v int
	err := s.read(ctx, func(tx *sql.Tx) error {
		return tx.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v)
	})
	return v, err
}
