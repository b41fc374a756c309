-- The accounts and sign-in schema. Portable between SQLite and PostgreSQL:
-- TEXT and BIGINT only; times are Unix microseconds; booleans are times
-- (revoked_at 0 means not revoked); IDs are random text made by the server.

-- +goose Up
CREATE TABLE users (
	id          TEXT PRIMARY KEY,
	email       TEXT NOT NULL UNIQUE, -- lower-cased
	name        TEXT NOT NULL DEFAULT '',
	created_at  BIGINT NOT NULL,
	disabled_at BIGINT NOT NULL DEFAULT 0
);

-- An identity at a sign-in provider (an OIDC issuer, GitHub) that signs in as a user.
CREATE TABLE identities (
	provider   TEXT NOT NULL,
	subject    TEXT NOT NULL,
	user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
	email      TEXT NOT NULL DEFAULT '',
	created_at BIGINT NOT NULL,
	PRIMARY KEY (provider, subject)
);
CREATE INDEX identities_user ON identities(user_id);

CREATE TABLE orgs (
	id         TEXT PRIMARY KEY,
	slug       TEXT NOT NULL UNIQUE,
	name       TEXT NOT NULL,
	created_at BIGINT NOT NULL
);

CREATE TABLE memberships (
	org_id     TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
	user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
	role       TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'member')),
	created_at BIGINT NOT NULL,
	PRIMARY KEY (org_id, user_id)
);
CREATE INDEX memberships_user ON memberships(user_id);

CREATE TABLE teams (
	id         TEXT PRIMARY KEY,
	org_id     TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
	slug       TEXT NOT NULL,
	name       TEXT NOT NULL,
	created_at BIGINT NOT NULL,
	UNIQUE (org_id, slug)
);

CREATE TABLE team_members (
	team_id    TEXT NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
	user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
	created_at BIGINT NOT NULL,
	PRIMARY KEY (team_id, user_id)
);
CREATE INDEX team_members_user ON team_members(user_id);

CREATE TABLE invitations (
	id          TEXT PRIMARY KEY,
	org_id      TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
	email       TEXT NOT NULL,
	role        TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'member')),
	token_hash  TEXT NOT NULL UNIQUE,
	invited_by  TEXT NOT NULL DEFAULT '',
	created_at  BIGINT NOT NULL,
	expires_at  BIGINT NOT NULL,
	accepted_at BIGINT NOT NULL DEFAULT 0,
	revoked_at  BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX invitations_org ON invitations(org_id);

-- Sign-in sessions: a browser's cookie (kind 'web') or the token `loom login`
-- stores (kind 'cli'). Only the SHA-256 of the token is kept.
CREATE TABLE sessions (
	id           TEXT PRIMARY KEY,
	token_hash   TEXT NOT NULL UNIQUE,
	user_id      TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
	kind         TEXT NOT NULL CHECK (kind IN ('web', 'cli')),
	csrf_hash    TEXT NOT NULL DEFAULT '',
	created_at   BIGINT NOT NULL,
	last_seen_at BIGINT NOT NULL,
	expires_at   BIGINT NOT NULL,
	revoked_at   BIGINT NOT NULL DEFAULT 0,
	user_agent   TEXT NOT NULL DEFAULT '',
	ip           TEXT NOT NULL DEFAULT ''
);
CREATE INDEX sessions_user ON sessions(user_id);

-- API keys: looked up by their public prefix, checked against an argon2id hash.
CREATE TABLE api_keys (
	id           TEXT PRIMARY KEY,
	prefix       TEXT NOT NULL UNIQUE,
	hash         TEXT NOT NULL,
	org_id       TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
	created_by   TEXT NOT NULL DEFAULT '',
	name         TEXT NOT NULL,
	scopes       TEXT NOT NULL DEFAULT '',
	created_at   BIGINT NOT NULL,
	last_used_at BIGINT NOT NULL DEFAULT 0,
	expires_at   BIGINT NOT NULL DEFAULT 0,
	revoked_at   BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX api_keys_org ON api_keys(org_id);

-- Magic sign-in links sent by email: single use, short-lived.
CREATE TABLE magic_links (
	token_hash TEXT PRIMARY KEY,
	email      TEXT NOT NULL,
	next       TEXT NOT NULL DEFAULT '',
	created_at BIGINT NOT NULL,
	expires_at BIGINT NOT NULL,
	used_at    BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX magic_links_email ON magic_links(email, created_at);

-- Device authorization (RFC 8628) for `loom login`.
CREATE TABLE device_codes (
	device_code_hash TEXT PRIMARY KEY,
	user_code        TEXT NOT NULL UNIQUE,
	client_name      TEXT NOT NULL DEFAULT '',
	created_at       BIGINT NOT NULL,
	expires_at       BIGINT NOT NULL,
	interval_seconds BIGINT NOT NULL,
	last_poll_at     BIGINT NOT NULL DEFAULT 0,
	user_id          TEXT NOT NULL DEFAULT '',
	approved_at      BIGINT NOT NULL DEFAULT 0,
	denied_at        BIGINT NOT NULL DEFAULT 0,
	consumed_at      BIGINT NOT NULL DEFAULT 0
);

-- Security events, for admins.
CREATE TABLE audit_log (
	id        TEXT PRIMARY KEY,
	at        BIGINT NOT NULL,
	org_id    TEXT NOT NULL DEFAULT '',
	actor     TEXT NOT NULL DEFAULT '',
	action    TEXT NOT NULL,
	target    TEXT NOT NULL DEFAULT '',
	detail    TEXT NOT NULL DEFAULT '',
	ip        TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_log_org ON audit_log(org_id, at);

-- +goose Down
DROP TABLE audit_log;
DROP TABLE device_codes;
DROP TABLE magic_links;
DROP TABLE api_keys;
DROP TABLE sessions;
DROP TABLE invitations;
DROP TABLE team_members;
DROP TABLE teams;
DROP TABLE memberships;
DROP TABLE orgs;
DROP TABLE identities;
DROP TABLE users;
