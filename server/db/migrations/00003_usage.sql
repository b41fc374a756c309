-- The LLM proxy's usage: a record per model call, the counters limits and
-- budgets are kept by, and the leases of concurrent streams. Portable
-- between SQLite and PostgreSQL like 00001: TEXT and BIGINT, times in Unix
-- microseconds, money in micro-dollars.

-- +goose Up
-- One row per model call. Never a key, a token or a prompt: key_id names
-- the API key (its row in api_keys), error is the proxy's own message.
CREATE TABLE usage_records (
	id            TEXT PRIMARY KEY,
	at            BIGINT NOT NULL, -- when the call was admitted
	org_id        TEXT NOT NULL DEFAULT '',
	user_id       TEXT NOT NULL DEFAULT '', -- '' for an API key's call
	key_id        TEXT NOT NULL DEFAULT '',
	model         TEXT NOT NULL,
	upstream      TEXT NOT NULL DEFAULT '',
	endpoint      TEXT NOT NULL DEFAULT '',
	stream        BIGINT NOT NULL DEFAULT 0,
	input_tokens  BIGINT NOT NULL DEFAULT 0,
	output_tokens BIGINT NOT NULL DEFAULT 0,
	cached_tokens BIGINT NOT NULL DEFAULT 0,
	cost_micros   BIGINT NOT NULL DEFAULT 0,
	latency_us    BIGINT NOT NULL DEFAULT 0,
	status        BIGINT NOT NULL DEFAULT 0,
	error         TEXT NOT NULL DEFAULT ''
);
CREATE INDEX usage_records_org ON usage_records(org_id, at);
CREATE INDEX usage_records_user ON usage_records(user_id, at);

-- The teams a call counted for (its user's teams in its organisation).
CREATE TABLE usage_record_teams (
	record_id TEXT NOT NULL REFERENCES usage_records(id) ON DELETE CASCADE,
	team_id   TEXT NOT NULL,
	PRIMARY KEY (record_id, team_id)
);
CREATE INDEX usage_record_teams_team ON usage_record_teams(team_id);

-- What a subject ('key:ID', 'user:ID', 'team:ID') used in a window
-- ('minute', 'day' or 'month' from start; 'streams' is the row a stream's
-- admission locks). Updated by INSERT … ON CONFLICT DO UPDATE … RETURNING,
-- so replicas sharing a PostgreSQL database share the counts.
CREATE TABLE usage_counters (
	subject     TEXT NOT NULL,
	period      TEXT NOT NULL,
	start       BIGINT NOT NULL,
	requests    BIGINT NOT NULL DEFAULT 0,
	tokens      BIGINT NOT NULL DEFAULT 0,
	cost_micros BIGINT NOT NULL DEFAULT 0,
	PRIMARY KEY (subject, period, start)
);

-- A concurrent stream's slot: held until the call is done, or until it
-- expires when the replica that holds it stops renewing it (a crash).
CREATE TABLE usage_leases (
	id         TEXT PRIMARY KEY,
	subject    TEXT NOT NULL,
	replica    TEXT NOT NULL,
	expires_at BIGINT NOT NULL
);
CREATE INDEX usage_leases_subject ON usage_leases(subject, expires_at);
CREATE INDEX usage_leases_replica ON usage_leases(replica);

-- +goose Down
DROP TABLE usage_leases;
DROP TABLE usage_counters;
DROP TABLE usage_record_teams;
DROP TABLE usage_records;
