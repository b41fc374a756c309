package apikeys_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/loom-agent/loom/server/accounts"
	"github.com/loom-agent/loom/server/apikeys"
	"github.com/loom-agent/loom/server/audit"
	"github.com/loom-agent/loom/server/auth"
	"github.com/loom-agent/loom/server/db"
	"github.com/loom-agent/loom/server/db/dbtest"
	"github.com/loom-agent/loom/server/policy"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

var by = audit.Actor{ID: "tester"}

// fixture is an organisation "acme" owned by ada, with bob a member.
type fixture struct {
	d        *db.DB
	accounts *accounts.Store
	keys     *apikeys.Store
	org      accounts.Org
	ada, bob accounts.User
}

func setUp(t *testing.T, d *db.DB) *fixture {
	ctx := context.Background()
	f := &fixture{d: d, accounts: accounts.New(d), keys: apikeys.New(d)}
	var err error
	if f.ada, err = f.accounts.CreateUser(ctx, "ada@example.com", ""); err != nil {
		t.Fatal(err)
	}
	f.bob, _ = f.accounts.CreateUser(ctx, "bob@example.com", "")
	if f.org, err = f.accounts.CreateOrg(ctx, by, "acme", "Acme", f.ada.ID); err != nil {
		t.Fatal(err)
	}
	if err := f.accounts.AddMember(ctx, by, f.org.ID, f.bob.ID, policy.Member); err != nil {
		t.Fatal(err)
	}
	return f
}

func TestCreateAndVerify(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		f := setUp(t, d)
		k, full, err := f.keys.Create(ctx, by, f.org.ID, f.ada.ID, "ci", []string{"write", "read", "read"}, 0)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(full, "loom_"+k.Prefix+"_") || fmt.Sprint(k.Scopes) != "[read write]" {
			t.Errorf("key %q, %+v", full, k)
		}
		p, err := f.keys.Verify(ctx, full)
		if err != nil {
			t.Fatal(err)
		}
		if p.Kind != auth.KindAPIKey || p.KeyID != k.ID || p.KeyOrgID != f.org.ID || p.UserID != f.ada.ID || fmt.Sprint(p.Scopes) != "[read write]" {
			t.Errorf("principal %+v", p)
		}
		secret := full[len("loom_")+len(k.Prefix)+1:]
		other := []byte(secret)
		other[0] ^= 1
		for name, bad := range map[string]string{
			"wrong secret":   "loom_" + k.Prefix + "_" + string(other),
			"unknown prefix": "loom_aaaaaaaaaaaa_" + secret,
			"short":          full[:len(full)-1],
			"bad prefix":     "loom_AAAAAAAAAAAA_" + secret,
			"empty":          "",
		} {
			if _, err := f.keys.Verify(ctx, bad); !errors.Is(err, apikeys.ErrInvalid) {
				t.Errorf("%s: %v, want ErrInvalid", name, err)
			}
		}
		for _, tc := range []struct {
			name   string
			scopes []string
		}{{"", []string{"read"}}, {"ci", nil}, {"ci", []string{"manage"}}, {"c\ni", []string{"read"}}} {
			if _, _, err := f.keys.Create(ctx, by, f.org.ID, f.ada.ID, tc.name, tc.scopes, 0); !errors.Is(err, apikeys.ErrBadRequest) {
				t.Errorf("name %q scopes %v: %v", tc.name, tc.scopes, err)
			}
		}
	})
}

// The database holds the key's argon2id hash, never the key.
func TestKeyStoredOnlyHashed(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := setUp(t, d)
		k, full, err := f.keys.Create(context.Background(), by, f.org.ID, f.ada.ID, "ci", []string{"read"}, 0)
		if err != nil {
			t.Fatal(err)
		}
		dbtest.AssertNotStored(t, d, full[len("loom_")+len(k.Prefix)+1:])
		var hash string
		d.QueryRow(`SELECT hash FROM api_keys WHERE id = $1`, k.ID).Scan(&hash)
		if !strings.HasPrefix(hash, "$argon2id$v=19$m=19456,t=2,p=1$") {
			t.Errorf("stored hash %q", hash)
		}
	})
}

// A key revoked on one replica is refused by another at its next request,
// although that replica had verified (and cached) it.
func TestRevokedKeyRefusedAtOnce(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		f := setUp(t, d)
		k, full, _ := f.keys.Create(ctx, by, f.org.ID, f.ada.ID, "ci", []string{"read"}, 0)
		for range 2 {
			if _, err := f.keys.Verify(ctx, full); err != nil {
				t.Fatal(err)
			}
		}
		if err := apikeys.New(d).Revoke(ctx, by, f.org.ID, k.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := f.keys.Verify(ctx, full); !errors.Is(err, apikeys.ErrRevoked) {
			t.Errorf("after revocation: %v, want ErrRevoked", err)
		}
		if err := f.keys.Revoke(ctx, by, f.org.ID, k.ID); !errors.Is(err, apikeys.ErrNotFound) {
			t.Errorf("revoking twice: %v", err)
		}
		// An expired key too.
		k2, full2, _ := f.keys.Create(ctx, by, f.org.ID, f.ada.ID, "ci", []string{"read"}, db.Now()+3600e6)
		f.keys.Verify(ctx, full2)
		d.Exec(`UPDATE api_keys SET expires_at = $1 WHERE id = $2`, db.Now()-1, k2.ID)
		if _, err := f.keys.Verify(ctx, full2); !errors.Is(err, apikeys.ErrExpired) {
			t.Errorf("after expiry: %v, want ErrExpired", err)
		}
		events, _ := audit.List(ctx, d, f.org.ID, 0, 0)
		if events[0].Action != audit.KeyCreated || events[1].Action != audit.KeyRevoked || events[1].Target != k.ID {
			t.Errorf("audit log: %+v", events[:2])
		}
	})
}

// With RecheckEvery, a key read a moment ago is not read again: revoked
// through the same store it is refused at once, revoked on another replica
// within RecheckEvery; expired, at once.
func TestRecheckEvery(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		f := setUp(t, d)
		f.keys.RecheckEvery = time.Hour
		verify := func(full string) error { _, err := f.keys.Verify(ctx, full); return err }
		k, full, _ := f.keys.Create(ctx, by, f.org.ID, f.ada.ID, "ci", []string{"read"}, 0)
		if err := verify(full); err != nil {
			t.Fatal(err)
		}
		// Another replica's revocation: this one takes its reading.
		if err := apikeys.New(d).Revoke(ctx, by, f.org.ID, k.ID); err != nil {
			t.Fatal(err)
		}
		if err := verify(full); err != nil {
			t.Errorf("within RecheckEvery of its reading: %v, want it taken", err)
		}
		f.keys.RecheckEvery = time.Millisecond
		time.Sleep(2 * time.Millisecond)
		if err := verify(full); !errors.Is(err, apikeys.ErrRevoked) {
			t.Errorf("past RecheckEvery: %v, want ErrRevoked", err)
		}

		// Revoked through this store: at once.
		f.keys.RecheckEvery = time.Hour
		k2, full2, _ := f.keys.Create(ctx, by, f.org.ID, f.ada.ID, "ci", []string{"read"}, 0)
		verify(full2)
		if err := f.keys.Revoke(ctx, by, f.org.ID, k2.ID); err != nil {
			t.Fatal(err)
		}
		if err := verify(full2); !errors.Is(err, apikeys.ErrRevoked) {
			t.Errorf("revoked here: %v, want ErrRevoked", err)
		}

		// Expired: at once, from its reading.
		expires := db.Now() + 3e6
		_, full3, _ := f.keys.Create(ctx, by, f.org.ID, f.ada.ID, "ci", []string{"read"}, expires)
		if err := verify(full3); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Until(time.UnixMicro(expires)) + 10*time.Millisecond)
		if err := verify(full3); !errors.Is(err, apikeys.ErrExpired) {
			t.Errorf("expired: %v, want ErrExpired", err)
		}
	})
}

func TestLastUseThrottled(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		f := setUp(t, d)
		k, full, _ := f.keys.Create(ctx, by, f.org.ID, f.ada.ID, "ci", []string{"read"}, 0)
		lastUsed := func() (v int64) {
			d.QueryRow(`SELECT last_used_at FROM api_keys WHERE id = $1`, k.ID).Scan(&v)
			return v
		}
		f.keys.Verify(ctx, full)
		first := lastUsed()
		if first == 0 {
			t.Fatal("last use not recorded")
		}
		f.keys.Verify(ctx, full)
		if got := lastUsed(); got != first {
			t.Errorf("second use within a minute wrote last_used_at again (%d → %d)", first, got)
		}
		old := first - apikeys.LastUseResolution.Microseconds() - 1
		d.Exec(`UPDATE api_keys SET last_used_at = $1 WHERE id = $2`, old, k.ID)
		f.keys.Verify(ctx, full)
		if got := lastUsed(); got <= first {
			t.Errorf("a use after a minute was not recorded: %d", got)
		}
	})
}

// testUser stands for the session checker another package provides: the
// X-Test-User header names the signed-in user.
type testUser struct{}

func (testUser) Check(r *http.Request) (*auth.Principal, error) {
	if id := r.Header.Get("X-Test-User"); id != "" {
		return &auth.Principal{Kind: auth.KindWeb, UserID: id}, nil
	}
	return nil, nil
}

// whoami answers with the principal the middleware found.
var whoami = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	json.NewEncoder(w).Encode(auth.From(r.Context()))
})

func TestHTTP(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := setUp(t, d)
		authz := policy.NewAuthorizer(f.accounts, nil)
		mux := http.NewServeMux()
		(&apikeys.Handler{Keys: f.keys, Authz: authz, OrgID: f.accounts.OrgID}).Routes(mux)
		mux.Handle("GET /whoami", whoami)
		srv := httptest.NewServer(auth.Authenticate(f.keys, testUser{})(mux))
		defer srv.Close()
		call := func(method, path, user, bearer, body string) (int, map[string]any) {
			t.Helper()
			req, _ := http.NewRequest(method, srv.URL+path, bytes.NewBufferString(body))
			if user != "" {
				req.Header.Set("X-Test-User", user)
			}
			if bearer != "" {
				req.Header.Set("Authorization", "bearer "+bearer)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			var m map[string]any
			json.Unmarshal(b, &m)
			return resp.StatusCode, m
		}
		keys := "/api/v1/orgs/acme/keys"
		body := `{"name": "ci", "scopes": ["read"]}`
		if code, m := call("POST", keys, f.bob.ID, "", body); code != http.StatusForbidden {
			t.Errorf("a member creating a key: %d %v", code, m)
		}
		if code, _ := call("POST", keys, "", "", body); code != http.StatusUnauthorized {
			t.Errorf("nobody creating a key: %d", code)
		}
		if code, m := call("POST", keys, f.ada.ID, "", `{"name": "ci", "scopes": ["manage"]}`); code != http.StatusBadRequest {
			t.Errorf("a key to manage: %d %v", code, m)
		}
		code, m := call("POST", keys, f.ada.ID, "", body)
		if code != http.StatusCreated {
			t.Fatalf("the owner creating a key: %d %v", code, m)
		}
		secret := m["secret"].(string)
		id := m["key"].(map[string]any)["id"].(string)

		// The key signs requests in; it may not manage keys, even its own.
		if code, m := call("GET", "/whoami", "", secret, ""); code != http.StatusOK || m["KeyID"] != id {
			t.Errorf("whoami with the key: %d %v", code, m)
		}
		if code, _ := call("GET", keys, "", secret, ""); code != http.StatusForbidden {
			t.Errorf("the key listing keys: %d", code)
		}
		if code, _ := call("DELETE", keys+"/"+id, "", secret, ""); code != http.StatusForbidden {
			t.Errorf("the key revoking itself: %d", code)
		}
		code, m = call("GET", keys, f.ada.ID, "", "")
		if list := m["keys"].([]any); code != http.StatusOK || len(list) != 1 || strings.Contains(fmt.Sprint(m), secret[20:]) {
			t.Errorf("listing: %d %v", code, m)
		}
		// Another bearer token is left to the next checker; a wrong loom_
		// key is refused, never treated as nobody.
		if code, m := call("GET", "/whoami", "", "sometoken", ""); code != http.StatusOK || m != nil {
			t.Errorf("a foreign bearer token: %d %v", code, m)
		}
		if code, _ := call("GET", "/whoami", f.bob.ID, secret[:len(secret)-2]+"xx", ""); code != http.StatusUnauthorized {
			t.Errorf("a wrong key: %d", code)
		}
		if code, _ := call("DELETE", keys+"/"+id, f.ada.ID, "", ""); code != http.StatusNoContent {
			t.Errorf("revoking: %d", code)
		}
		if code, m := call("GET", "/whoami", "", secret, ""); code != http.StatusUnauthorized || !strings.Contains(fmt.Sprint(m), "revoked") {
			t.Errorf("the revoked key: %d %v", code, m)
		}
	})
}
