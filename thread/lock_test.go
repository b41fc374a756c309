package thread

import (
	"bytes"
	"context"
	"database/sql"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// holdLock takes the database's write lock in a connection of its own, as
// another process would, until the test ends or release is called.
func holdLock(t *testing.T, path string) (release func()) {
	t.Helper()
	db, err := sql.Open("sqlite", fileURI(path, nil))
	if err != nil {
		t.Fatal(err)
	}
	conn, err := db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(context.Background(), "BEGIN EXCLUSIVE"); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	release = func() {
		once.Do(func() {
			conn.ExecContext(context.Background(), "ROLLBACK")
			conn.Close()
			db.Close()
		})
	}
	t.Cleanup(release)
	return release
}

// syncBuffer is a log destination safe for the store's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestLockedDatabase: while another connection holds the write lock, the
// database opens and reads at once; a write says once on stderr that the
// file is locked, then fails after a bounded wait with an error naming it.
func TestLockedDatabase(t *testing.T) {
	path := filepath.Join(t.TempDir(), "threads.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	id := newThread(t, s, Meta{Title: "before the lock"}, userTurn("hello"))
	s.Close()
	holdLock(t, path)

	var logs syncBuffer
	prev := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(&logs, nil)))
	t.Cleanup(func() { slog.SetDefault(prev) })

	s, err = Open(path)
	if err != nil {
		t.Fatalf("open while locked: %v", err)
	}
	defer s.Close()
	s.lockWait = 3 * time.Second // the default is longer than a test needs
	ctx := context.Background()
	if ts, err := s.List(ctx, Filter{}); err != nil || len(ts) != 1 || ts[0].ID != id {
		t.Fatalf("list while locked: %v, %v", ts, err)
	}
	if _, err := s.Get(ctx, id); err != nil {
		t.Fatalf("get while locked: %v", err)
	}
	for range 2 {
		_, err := s.Create(ctx, Meta{Title: "blocked"})
		if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "locked by another process") {
			t.Fatalf("create while locked: %v", err)
		}
	}
	if n := strings.Count(logs.String(), "locked by another process"); n != 1 || !strings.Contains(logs.String(), "file="+path) {
		t.Errorf("%d notices, want one naming the file:\n%s", n, logs.String())
	}
}

// TestReadOnlyStoreRefusesWrites: a store opened read-only reads, and a
// write fails saying why rather than with SQLite's error code. (That the
// reading commands choose it for a file they may not write is tested with
// real file modes in cmd/loom's TestThreadsReadOnlyDatabase.)
func TestReadOnlyStoreRefusesWrites(t *testing.T) {
	path := filepath.Join(t.TempDir(), "threads.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	id := newThread(t, s, Meta{Title: "kept"}, userTurn("hello"))
	s.Close()
	ro, err := openReadOnly(path)
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	ctx := context.Background()
	if th, err := ro.Get(ctx, id); err != nil || th.Title != "kept" {
		t.Fatalf("get: %v, %v", th, err)
	}
	if err := ro.Delete(ctx, id); err == nil || !strings.Contains(err.Error(), "read-only") || !strings.Contains(err.Error(), path) {
		t.Errorf("delete: %v", err)
	}
}
