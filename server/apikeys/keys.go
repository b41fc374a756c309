// Package apikeys keeps organisations' API keys, for automation: scoped
// (read, write, use_model), prefixed, shown once, stored as an argon2id
// hash, revocable, their last use recorded.
//
// A key reads loom_PREFIX_SECRET. PREFIX (12 characters) is public and
// finds the row; SECRET (256 random bits) is checked against the row's
// argon2id hash. argon2id costs tens of milliseconds and 19 MiB by design,
// so a key verified once is remembered in memory by the SHA-256 of the
// whole key; the row is still read on every request, so a revoked or
// expired key is refused at once, unless Store.RecheckEvery lets a key
// whose row was read a moment ago skip the read (the team server's LLM
// proxy, whose calls a database read would hold before their first byte):
// then a key revoked through the same Store is still refused at once, one
// revoked on another replica within RecheckEvery, an expired one at once.
// Verifications that do pay argon2id run a few at a time, so a flood of
// wrong keys cannot take all memory.
package apikeys

import (
	"sync/atomic"

	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"golang.org/x/sync/singleflight"
	"log/slog"
	"net/http"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/argon2"

	"github.com/loom-agent/loom/server/audit"
	"github.com/loom-agent/loom/server/auth"
	"github.com/loom-agent/loom/server/db"
)

// Scopes a key may hold: the actions it may take (see server/policy).
var Scopes = []string{"read", "write", "use_model"}

// ErrInvalid is a key that is malformed, unknown or wrong; the client is
// told no more.
var ErrInvalid = errors.New("invalid API key")

// ErrRevoked and ErrExpired are keys that were good.
var (
	ErrRevoked = errors.New("the API key was revoked")
	ErrExpired = errors.New("the API key has expired")
)

// ErrBadRequest is a key asked for with a bad name, scope or expiry.
var ErrBadRequest = errors.New("bad API key request")

// ErrNotFound is an unknown key ID.
var ErrNotFound = errors.New("no such API key")

const (
	keyPrefix    = "loom_"
	lookupLen    = 12 // base32 characters: 60 bits
	secretLen    = 43 // base64url characters of 32 bytes
	fullLen      = len(keyPrefix) + lookupLen + 1 + secretLen
	lookupLetter = "abcdefghijklmnopqrstuvwxyz234567"
)

// argon2id parameters: OWASP's recommendation (19 MiB, 2 passes, 1 lane).
const (
	argonTime    = 2
	argonMemory  = 19 * 1024
	argonThreads = 1
	argonKeyLen  = 32
)

// LastUseResolution is how stale last_used_at may be: a key used all day
// is written once a minute, not on every request.
const LastUseResolution = time.Minute

// maxCached bounds the verified-keys cache.
const maxCached = 10000

// Key is an API key as listed: never its secret or hash.
type Key struct {
	ID         string   `json:"id"`
	Prefix     string   `json:"prefix"`
	OrgID      string   `json:"org_id"`
	Name       string   `json:"name"`
	Scopes     []string `json:"scopes"`
	CreatedBy  string   `json:"created_by"`
	CreatedAt  int64    `json:"created_at"`
	LastUsedAt int64    `json:"last_used_at"`
	ExpiresAt  int64    `json:"expires_at"`
	RevokedAt  int64    `json:"revoked_at"`
}

// Store keeps API keys in the server's database.
type Store struct {
	DB *db.DB

	mu       sync.Mutex
	verified map[[32]byte]string // SHA-256 of a whole key → the hash it matched
	slots    chan struct{}       // argon2id computations at once
	// checking shares one argon2id computation among the requests that
	// bring the same unverified key at once (a client's first burst would
	// otherwise pay it once per request).
	checking singleflight.Group
	hashed   atomic.Int64 // argon2id computations made, for tests

	// RecheckEvery, if positive, is how long a key whose row was just
	// read is taken on that reading (its principal and expiry) without
	// reading it again; set it before the Store serves. Revoke forgets
	// the key at once; another replica's revocation is seen within it.
	RecheckEvery time.Duration
	recent       map[[32]byte]recentKey // by the SHA-256 of the whole key, under mu
	// revocations counts Revoke's calls (under mu): a reading begun before
	// one is not kept, lest it outlive the revocation.
	revocations int
}

// recentKey is a key's row as read at a time.
type recentKey struct {
	p         auth.Principal
	expiresAt int64
	at        time.Time
}

// New returns the key store on d.
func New(d *db.DB) *Store {
	return &Store{DB: d, verified: map[[32]byte]string{}, slots: make(chan struct{}, runtime.GOMAXPROCS(0))}
}

// Create makes a key for org with scopes, expiring at expiresAt (Unix
// microseconds; 0 never). The whole key is returned once; only its hash is
// kept.
func (s *Store) Create(ctx context.Context, by audit.Actor, org, createdBy, name string, scopes []string, expiresAt int64) (Key, string, error) {
	name = strings.TrimSpace(name)
	if name == "" || len(name) > 100 || strings.ContainsFunc(name, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return Key{}, "", fmt.Errorf("%w: the key's name must be 1 to 100 printable characters", ErrBadRequest)
	}
	if len(scopes) == 0 {
		return Key{}, "", fmt.Errorf("%w: give the key at least one scope of %s", ErrBadRequest, strings.Join(Scopes, ", "))
	}
	scopes = slices.Clone(scopes)
	slices.Sort(scopes)
	scopes = slices.Compact(scopes)
	for _, sc := range scopes {
		if !slices.Contains(Scopes, sc) {
			return Key{}, "", fmt.Errorf("%w: unknown scope %q: use %s", ErrBadRequest, sc, strings.Join(Scopes, ", "))
		}
	}
	now := db.Now()
	if expiresAt != 0 && expiresAt <= now {
		return Key{}, "", fmt.Errorf("%w: the expiry is in the past", ErrBadRequest)
	}
	k := Key{ID: rand.Text(), OrgID: org, Name: name, Scopes: scopes, CreatedBy: createdBy, CreatedAt: now, ExpiresAt: expiresAt}
	secretBytes := make([]byte, 32)
	rand.Read(secretBytes)
	secret := base64.RawURLEncoding.EncodeToString(secretBytes)
	hash := hashSecret(secret)
	var full string
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		// A new lookup ID on the rare collision of 60 random bits.
		for range 3 {
			k.Prefix = newLookup()
			full = keyPrefix + k.Prefix + "_" + secret
			_, err := tx.ExecContext(ctx, `INSERT INTO api_keys (id, prefix, hash, org_id, created_by, name, scopes, created_at, expires_at)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
				k.ID, k.Prefix, hash, org, createdBy, name, strings.Join(scopes, " "), now, expiresAt)
			if db.IsUnique(err) {
				continue
			}
			if err != nil {
				return fmt.Errorf("storing the API key: %w", err)
			}
			return audit.Append(ctx, tx, by, org, audit.KeyCreated, k.ID, "name="+name+" scopes="+strings.Join(scopes, ","))
		}
		return errors.New("could not pick a unique key prefix")
	})
	if err != nil {
		return Key{}, "", err
	}
	return k, full, nil
}

func newLookup() string {
	return strings.ToLower(rand.Text()[:lookupLen])
}

// hashSecret returns the PHC string of secret's argon2id hash.
func hashSecret(secret string) string {
	salt := make([]byte, 16)
	rand.Read(salt)
	sum := argon2.IDKey([]byte(secret), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads,
		b64.EncodeToString(salt), b64.EncodeToString(sum))
}

// checkSecret reports whether secret matches the PHC string phc.
func checkSecret(secret, phc string) bool {
	parts := strings.Split(phc, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false
	}
	var version int
	var memory, time uint32
	var threads uint8
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return false
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &memory, &time, &threads); err != nil ||
		memory > 1<<20 || time > 10 || threads == 0 {
		return false
	}
	b64 := base64.RawStdEncoding
	salt, err1 := b64.DecodeString(parts[4])
	want, err2 := b64.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(want) == 0 {
		return false
	}
	got := argon2.IDKey([]byte(secret), salt, time, memory, threads, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}

// parse splits a whole key into its lookup prefix and secret.
func parse(full string) (lookup, secret string, ok bool) {
	if len(full) != fullLen || !strings.HasPrefix(full, keyPrefix) || full[len(keyPrefix)+lookupLen] != '_' {
		return "", "", false
	}
	lookup = full[len(keyPrefix) : len(keyPrefix)+lookupLen]
	for _, c := range lookup {
		if !strings.ContainsRune(lookupLetter, c) {
			return "", "", false
		}
	}
	return lookup, full[len(keyPrefix)+lookupLen+1:], true
}

// Verify returns the principal a whole key stands for.
func (s *Store) Verify(ctx context.Context, full string) (*auth.Principal, error) {
	lookup, secret, ok := parse(full)
	if !ok {
		return nil, ErrInvalid
	}
	var sum [32]byte
	if s.RecheckEvery > 0 {
		sum = sha256.Sum256([]byte(full))
		s.mu.Lock()
		rk, ok := s.recent[sum]
		s.mu.Unlock()
		if ok && time.Since(rk.at) < s.RecheckEvery && (rk.expiresAt == 0 || rk.expiresAt > db.Now()) {
			p := rk.p
			p.Scopes = slices.Clone(p.Scopes)
			return &p, nil
		}
	}
	s.mu.Lock()
	revocations := s.revocations
	s.mu.Unlock()
	var k Key
	var hash, scopes string
	err := s.DB.QueryRowContext(ctx, `SELECT id, hash, org_id, created_by, scopes, last_used_at, expires_at, revoked_at
		FROM api_keys WHERE prefix = $1`, lookup).
		Scan(&k.ID, &hash, &k.OrgID, &k.CreatedBy, &scopes, &k.LastUsedAt, &k.ExpiresAt, &k.RevokedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrInvalid
	}
	if err != nil {
		return nil, fmt.Errorf("looking up the API key: %w", err)
	}
	if err := s.check(ctx, full, secret, hash); err != nil {
		return nil, err
	}
	// Revocation and expiry are checked after the secret, so that only
	// the key's holder learns them.
	now := db.Now()
	switch {
	case k.RevokedAt != 0:
		return nil, ErrRevoked
	case k.ExpiresAt != 0 && k.ExpiresAt <= now:
		return nil, ErrExpired
	}
	if now-k.LastUsedAt >= LastUseResolution.Microseconds() {
		// The condition makes replicas racing on one key write once.
		if _, err := s.DB.ExecContext(ctx, `UPDATE api_keys SET last_used_at = $1 WHERE id = $2 AND last_used_at < $3`,
			now, k.ID, now-LastUseResolution.Microseconds()); err != nil {
			slog.WarnContext(ctx, "recording an API key's use", "key", k.ID, "err", err)
		}
	}
	p := &auth.Principal{Kind: auth.KindAPIKey, UserID: k.CreatedBy, KeyID: k.ID, KeyOrgID: k.OrgID, Scopes: strings.Fields(scopes)}
	if s.RecheckEvery > 0 {
		p := *p
		p.Scopes = slices.Clone(p.Scopes)
		s.mu.Lock()
		if s.recent == nil || len(s.recent) >= maxCached {
			s.recent = map[[32]byte]recentKey{}
		}
		if s.revocations == revocations {
			s.recent[sum] = recentKey{p: p, expiresAt: k.ExpiresAt, at: time.Now()}
		}
		s.mu.Unlock()
	}
	return p, nil
}

// check compares secret with the stored hash, through the cache of keys
// already verified against that very hash.
func (s *Store) check(ctx context.Context, full, secret, hash string) error {
	sum := sha256.Sum256([]byte(full))
	s.mu.Lock()
	cached, ok := s.verified[sum]
	s.mu.Unlock()
	if ok && cached == hash {
		return nil
	}
	v, err, _ := s.checking.Do(string(sum[:])+hash, func() (any, error) {
		select {
		case s.slots <- struct{}{}:
		case <-ctx.Done():
			return false, ctx.Err()
		}
		defer func() { <-s.slots }()
		s.hashed.Add(1)
		return checkSecret(secret, hash), nil
	})
	if err != nil {
		return err
	}
	if !v.(bool) {
		return ErrInvalid
	}
	s.mu.Lock()
	if len(s.verified) >= maxCached {
		for k := range s.verified { // forget one, any
			delete(s.verified, k)
			break
		}
	}
	s.verified[sum] = hash
	s.mu.Unlock()
	return nil
}

// List returns org's keys, newest first, revoked ones included.
func (s *Store) List(ctx context.Context, org string) ([]Key, error) {
	rows, err := s.DB.QueryContext(ctx, `SELECT id, prefix, org_id, name, scopes, created_by, created_at, last_used_at, expires_at, revoked_at
		FROM api_keys WHERE org_id = $1 ORDER BY created_at DESC`, org)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Key{}
	for rows.Next() {
		var k Key
		var scopes string
		if err := rows.Scan(&k.ID, &k.Prefix, &k.OrgID, &k.Name, &scopes, &k.CreatedBy, &k.CreatedAt, &k.LastUsedAt, &k.ExpiresAt, &k.RevokedAt); err != nil {
			return nil, err
		}
		k.Scopes = strings.Fields(scopes)
		out = append(out, k)
	}
	return out, rows.Err()
}

// Revoke revokes org's key id; the next request with it is refused.
func (s *Store) Revoke(ctx context.Context, by audit.Actor, org, id string) error {
	defer s.forget(id)
	return s.DB.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE api_keys SET revoked_at = $3 WHERE org_id = $1 AND id = $2 AND revoked_at = 0`, org, id, db.Now())
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("API key %s (or it is already revoked): %w", id, ErrNotFound)
		}
		return audit.Append(ctx, tx, by, org, audit.KeyRevoked, id, "")
	})
}

// forget drops key id's recent reading, so that its next use reads its row.
func (s *Store) forget(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.revocations++
	for sum, rk := range s.recent {
		if rk.p.KeyID == id {
			delete(s.recent, sum)
		}
	}
}

// Check is the auth.Checker of `Authorization: Bearer loom_…`; other
// bearer tokens are left to the next checker.
func (s *Store) Check(r *http.Request) (*auth.Principal, error) {
	token := auth.Bearer(r)
	if !strings.HasPrefix(token, keyPrefix) {
		return nil, nil
	}
	p, err := s.Verify(r.Context(), token)
	if err != nil && !errors.Is(err, ErrInvalid) && !errors.Is(err, ErrRevoked) && !errors.Is(err, ErrExpired) {
		slog.ErrorContext(r.Context(), "verifying an API key", "err", err)
		return nil, errors.New("the API key could not be checked")
	}
	return p, err
}
