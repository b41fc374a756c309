// Package db opens the team server's database and brings its schema up to
// date. Two engines sit behind one database/sql handle: SQLite (modernc, pure
// Go, embedded; the default, for one process) and PostgreSQL (pgx, for teams
// that run several replicas). One set of migrations (migrations/*.sql, run
// by goose) serves both, so every statement the server runs is written in
// the SQL the two share: TEXT and BIGINT columns, times as Unix
// microseconds, $1-style placeholders, ON CONFLICT and RETURNING.
package db

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers "pgx"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
	"modernc.org/sqlite" // registers "sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Engine names the database engine behind a DB.
type Engine string

const (
	SQLite   Engine = "sqlite"
	Postgres Engine = "postgres"
)

// DB is the server's database.
type DB struct {
	*sql.DB
	Engine Engine
}

// Open connects to the database that url names and migrates it to the
// current schema. url is postgres://… or postgresql://… for PostgreSQL;
// sqlite:PATH or a plain file path for SQLite (its folder is created, 0700,
// and the file is kept 0600).
func Open(ctx context.Context, url string, log *slog.Logger) (*DB, error) {
	if log == nil {
		log = slog.Default()
	}
	d, err := connect(url)
	if err != nil {
		return nil, err
	}
	if err := d.migrate(ctx, log); err != nil {
		d.Close()
		return nil, err
	}
	return d, nil
}

func connect(url string) (*DB, error) {
	switch {
	case strings.HasPrefix(url, "postgres://"), strings.HasPrefix(url, "postgresql://"):
		sdb, err := sql.Open("pgx", url)
		if err != nil {
			return nil, fmt.Errorf("opening the PostgreSQL database: %w", err)
		}
		sdb.SetMaxOpenConns(32)
		sdb.SetConnMaxIdleTime(5 * time.Minute)
		return &DB{DB: sdb, Engine: Postgres}, nil
	case url == "":
		return nil, errors.New("no database given")
	default:
		path := strings.TrimPrefix(url, "sqlite:")
		if strings.Contains(path, "?") {
			return nil, fmt.Errorf("sqlite database %q: options are set by Loom, give only the path", path)
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, fmt.Errorf("creating the database folder: %w", err)
		}
		// Created here so that it is private from the first byte.
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
		if err != nil {
			return nil, fmt.Errorf("opening the database: %w", err)
		}
		f.Close()
		// WAL lets readers run beside the one writer; the busy timeout makes a
		// second writer wait instead of failing; foreign keys are off by
		// default in SQLite and on in PostgreSQL, so turn them on.
		dsn := "file:" + path + "?_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)" +
			"&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)&_pragma=temp_store(MEMORY)&_txlock=immediate"
		sdb, err := sql.Open("sqlite", dsn)
		if err != nil {
			return nil, fmt.Errorf("opening the database: %w", err)
		}
		return &DB{DB: sdb, Engine: SQLite}, nil
	}
}

func (d *DB) migrate(ctx context.Context, log *slog.Logger) error {
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return err
	}
	dialect := goose.DialectSQLite3
	opts := []goose.ProviderOption{goose.WithDisableGlobalRegistry(true), goose.WithSlog(log)}
	if d.Engine == Postgres {
		dialect = goose.DialectPostgres
		// Replicas started together migrate one at a time.
		locker, err := lock.NewPostgresSessionLocker()
		if err != nil {
			return err
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	}
	p, err := goose.NewProvider(dialect, d.DB, sub, opts...)
	if err != nil {
		return fmt.Errorf("reading the migrations: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("migrating the database: %w", err)
	}
	return nil
}

// Ready reports whether the database answers.
func (d *DB) Ready(ctx context.Context) error { return d.PingContext(ctx) }

// Now is the time the server stores: Unix microseconds.
func Now() int64 { return time.Now().UnixMicro() }

// Time turns a stored time back into a time.Time (zero for 0).
func Time(us int64) time.Time {
	if us == 0 {
		return time.Time{}
	}
	return time.UnixMicro(us)
}

// IsUnique reports whether err is a unique-constraint violation in either
// engine.
func IsUnique(err error) bool {
	if err == nil {
		return false
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code == "23505" // unique_violation
	}
	var liteErr *sqlite.Error
	if errors.As(err, &liteErr) {
		return liteErr.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || liteErr.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	return false
}

// Tx runs fn in a transaction, committed when fn returns nil.
func (d *DB) Tx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := d.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}
