// Package dbtest runs a test against both engines of the server's
// database: a fresh SQLite file, and a fresh database in a real PostgreSQL
// cluster that the package starts once per test binary (initdb, then the
// postgres server as a child process on loopback, fsync off). Packages that
// use it call Main from TestMain so the cluster stops with the tests.
//
// LOOM_TEST_POSTGRES=postgres://… uses a server already running instead
// (each test still gets its own database). Without one, the PostgreSQL
// binaries are found through pg_config, /usr/lib/postgresql/*/bin or
// LOOM_PG_BIN; test/install.sh installs Debian's postgresql package. A
// machine without them fails the tests, saying so: a store change that
// breaks PostgreSQL must not pass.
package dbtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/loom-agent/loom/server/db"
)

// Engines lists the engines Each runs a test against.
var Engines = []db.Engine{db.SQLite, db.Postgres}

// Each runs fn as one subtest per engine, each with a freshly migrated,
// empty database.
func Each(t *testing.T, fn func(t *testing.T, d *db.DB)) {
	t.Helper()
	for _, e := range Engines {
		t.Run(string(e), func(t *testing.T) { fn(t, Open(t, e)) })
	}
}

// Open returns a freshly migrated, empty database of engine e, closed (and
// dropped) when the test ends.
func Open(t testing.TB, e db.Engine) *db.DB {
	t.Helper()
	url := URL(t, e)
	d, err := db.Open(context.Background(), url, nil)
	if err != nil {
		t.Fatalf("opening %s database: %v", e, err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

// URL returns the URL of a new, empty database of engine e, for tests that
// start the server as a process.
func URL(t testing.TB, e db.Engine) string {
	t.Helper()
	switch e {
	case db.SQLite:
		return filepath.Join(t.TempDir(), "server.db")
	case db.Postgres:
		base, err := cluster()
		if err != nil {
			t.Fatalf("PostgreSQL for the store tests: %v", err)
		}
		return newDatabase(t, base)
	default:
		t.Fatalf("unknown engine %q", e)
		return ""
	}
}

func newDatabase(t testing.TB, base string) string {
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	b := make([]byte, 8)
	rand.Read(b)
	name := "loomtest_" + hex.EncodeToString(b)
	if _, err := admin.Exec("CREATE DATABASE " + name); err != nil {
		t.Fatalf("creating database: %v", err)
	}
	t.Cleanup(func() {
		admin, err := sql.Open("pgx", base)
		if err != nil {
			return
		}
		defer admin.Close()
		admin.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)")
	})
	return withDatabase(base, name)
}

// withDatabase replaces the database in a postgres:// URL.
func withDatabase(base, name string) string {
	rest, query, _ := strings.Cut(base, "?")
	i := strings.LastIndex(rest, "/")
	if i < len("postgres://") {
		rest += "/"
		i = len(rest) - 1
	}
	out := rest[:i+1] + name
	if query != "" {
		out += "?" + query
	}
	return out
}

var (
	once    sync.Once
	baseURL string
	err     error
	server  *exec.Cmd
	exited  chan struct{}
	dataDir string
)

// cluster returns the URL of the test cluster's maintenance database,
// starting the cluster on first use.
func cluster() (string, error) {
	once.Do(func() {
		if u := os.Getenv("LOOM_TEST_POSTGRES"); u != "" {
			baseURL = u
			return
		}
		baseURL, err = start()
	})
	return baseURL, err
}

// Main runs the tests and stops the cluster, if one was started.
func Main(m *testing.M) {
	code := m.Run()
	Stop()
	os.Exit(code)
}

// Stop stops the cluster this process started.
func Stop() {
	if server != nil && server.Process != nil {
		// SIGINT is PostgreSQL's fast shutdown.
		server.Process.Signal(syscall.SIGINT)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			server.Process.Kill()
		}
	}
	if dataDir != "" {
		os.RemoveAll(dataDir)
	}
}

func binDir() (string, error) {
	if d := os.Getenv("LOOM_PG_BIN"); d != "" {
		return d, nil
	}
	if out, err := exec.Command("pg_config", "--bindir").Output(); err == nil {
		d := strings.TrimSpace(string(out))
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d, nil
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	slices.SortFunc(dirs, func(a, b string) int { return version(b) - version(a) })
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d, nil
		}
	}
	return "", errors.New("no PostgreSQL server binaries (initdb, postgres) found: run test/install.sh, which installs Debian's postgresql package, or set LOOM_PG_BIN or LOOM_TEST_POSTGRES")
}

func version(dir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(dir)))
	return n
}

func start() (string, error) {
	bin, err := binDir()
	if err != nil {
		return "", err
	}
	dir, err := os.MkdirTemp("", "loom-pg-")
	if err != nil {
		return "", err
	}
	dataDir = dir
	// PostgreSQL refuses to run as root: as root, run it as the postgres user.
	var cred *syscall.Credential
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			return "", fmt.Errorf("running as root and there is no postgres user to run PostgreSQL as: %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		if err := os.Chown(dir, uid, gid); err != nil {
			return "", err
		}
	}
	data := filepath.Join(dir, "data")
	initdb := exec.Command(filepath.Join(bin, "initdb"), "-D", data, "-U", "postgres", "-A", "trust",
		"--no-sync", "-E", "UTF8", "--locale=C.UTF-8")
	initdb.Dir = "/"
	initdb.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	if out, err := initdb.CombinedOutput(); err != nil {
		return "", fmt.Errorf("initdb: %v\n%s", err, out)
	}
	port, err := freePort()
	if err != nil {
		return "", err
	}
	logFile, err := os.Create(filepath.Join(dir, "log"))
	if err != nil {
		return "", err
	}
	cmd := exec.Command(filepath.Join(bin, "postgres"), "-D", data, "-p", strconv.Itoa(port), "-k", dir,
		"-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "synchronous_commit=off",
		"-c", "full_page_writes=off", "-c", "max_connections=300")
	cmd.Dir = "/"
	cmd.Stdout, cmd.Stderr = logFile, logFile
	// The server dies with the test binary, even one killed by a timeout:
	// Pdeathsig fires when the thread that started the child ends, so a
	// goroutine locked to its thread starts it and lives as long as it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Pdeathsig: syscall.SIGQUIT}
	started := make(chan error)
	exited = make(chan struct{})
	go func() {
		runtime.LockOSThread()
		err := cmd.Start()
		started <- err
		if err == nil {
			cmd.Wait()
		}
		close(exited)
	}()
	if err := <-started; err != nil {
		return "", fmt.Errorf("starting postgres: %w", err)
	}
	server = cmd
	url := fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port)
	deadline := time.Now().Add(60 * time.Second)
	for {
		c, err := sql.Open("pgx", url)
		if err == nil {
			err = c.Ping()
			c.Close()
		}
		if err == nil {
			return url, nil
		}
		select {
		case <-exited:
			log, _ := os.ReadFile(filepath.Join(dir, "log"))
			return "", fmt.Errorf("postgres exited: %v\n%s", err, log)
		default:
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(dir, "log"))
			return "", fmt.Errorf("postgres did not start: %v\n%s", err, log)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// AssertNotStored fails the test if secret appears in any column of any
// table: credentials are to be stored only as hashes.
func AssertNotStored(t testing.TB, d *db.DB, secret string) {
	t.Helper()
	q := `SELECT name FROM sqlite_master WHERE type = 'table'`
	if d.Engine == db.Postgres {
		q = `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'`
	}
	rows, err := d.Query(q)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var n string
		rows.Scan(&n)
		tables = append(tables, n)
	}
	rows.Close()
	if len(tables) < 5 {
		t.Fatalf("found only tables %v", tables)
	}
	for _, table := range tables {
		rows, err := d.Query(`SELECT * FROM ` + table)
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rows.Columns()
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		for rows.Next() {
			rows.Scan(ptrs...)
			for i, v := range vals {
				if s := fmt.Sprintf("%s", v); strings.Contains(s, secret) {
					t.Errorf("table %s, column %s holds the secret", table, cols[i])
				}
			}
		}
		rows.Close()
	}
}
