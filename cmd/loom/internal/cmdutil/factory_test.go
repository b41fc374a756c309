package cmdutil

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/loom-agent/loom/cmd/loom/internal/iostreams"
	"github.com/loom-agent/loom/thread"
)

// TestSession checks how loom run opens its session: a thread continued by a
// unique prefix, an unknown thread refused, and a database that cannot be
// opened refused only when a thread was asked for.
func TestSession(t *testing.T) {
	f := New(iostreams.System(), "")
	db := filepath.Join(t.TempDir(), "threads.db")
	ctx := context.Background()
	st, err := thread.Open(db)
	if err != nil {
		t.Fatal(err)
	}
	th, err := st.Create(ctx, thread.Meta{Workspace: "/src/x", Title: "first task"})
	st.Close()
	if err != nil {
		t.Fatal(err)
	}
	svc, id, done, err := f.Session(ctx, db, th.ID[:9])
	if err != nil || id != th.ID || svc.Store == nil {
		t.Fatalf("Session(prefix) = %q, %v", id, err)
	}
	done()
	if _, _, _, err := f.Session(ctx, db, "zzzz"); err == nil || !strings.Contains(err.Error(), "no such thread") {
		t.Errorf("unknown thread: %v", err)
	}
	bad := filepath.Join(t.TempDir(), "file")
	os.WriteFile(bad, nil, 0o644)
	if _, _, _, err := f.Session(ctx, filepath.Join(bad, "threads.db"), th.ID); err == nil {
		t.Error("continuing a thread without a database: no error")
	}
	svc, _, done, err = f.Session(ctx, filepath.Join(bad, "threads.db"), "")
	if err != nil || svc.Store != nil {
		t.Errorf("a new run without a database: %v, store %v; want it to run unrecorded", err, svc.Store)
	}
	done()
}
