package apikeys

import (
	"context"
	"sync"
	"testing"

	"github.com/loom-agent/loom/server/audit"
	"github.com/loom-agent/loom/server/db"
	"github.com/loom-agent/loom/server/db/dbtest"
)

// A burst of requests with a key not yet verified pays argon2id once, not
// once per request; a wrong key in the same burst is still refused.
func TestBurstVerifiesOnce(t *testing.T) {
	d := dbtest.Open(t, db.SQLite)
	ctx := context.Background()
	if _, err := d.Exec(`INSERT INTO orgs (id, slug, name, created_at) VALUES ('o1', 'acme', 'Acme', $1)`, db.Now()); err != nil {
		t.Fatal(err)
	}
	s := New(d)
	_, full, err := s.Create(ctx, audit.System, "o1", "", "ci", []string{"read"}, 0)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 33)
	for range 32 {
		wg.Go(func() {
			if _, err := s.Verify(ctx, full); err != nil {
				errs <- err
			}
		})
	}
	wrong := full[:len(full)-1] + "x"
	if wrong == full {
		wrong = full[:len(full)-1] + "y"
	}
	wg.Go(func() {
		if _, err := s.Verify(ctx, wrong); err == nil {
			errs <- context.DeadlineExceeded // any error: a wrong key passed
		}
	})
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	// One for the key, one for the wrong secret.
	if n := s.hashed.Load(); n != 2 {
		t.Errorf("%d argon2id computations for 32 requests with one key and one wrong one, want 2", n)
	}
}
