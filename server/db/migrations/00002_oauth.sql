-- Sign-ins through OpenID Connect issuers and GitHub in progress: one row
-- per trip to a provider, used once. Only hashes are kept: of the state
-- sent to the provider, and of the random secret in the cookie that binds
-- the sign-in to the browser that started it.

-- +goose Up
CREATE TABLE oauth_states (
	state_hash   TEXT PRIMARY KEY,
	provider     TEXT NOT NULL,
	browser_hash TEXT NOT NULL,
	next         TEXT NOT NULL DEFAULT '',
	created_at   BIGINT NOT NULL,
	expires_at   BIGINT NOT NULL,
	used_at      BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX oauth_states_expiry ON oauth_states(expires_at);

-- +goose Down
DROP TABLE oauth_states;
