package thread

// migrations build the schema; migrations[i] takes the database from
// version i to i+1 (PRAGMA user_version). Append new ones; never edit a
// released one, since databases out there already ran it.
var migrations = []string{
	// 1: threads, turns, messages and the search index.
	`
CREATE TABLE threads (
	rid               INTEGER PRIMARY KEY, -- stable key for the FTS rows
	id                TEXT NOT NULL UNIQUE,
	created           INTEGER NOT NULL,    -- Unix milliseconds
	updated           INTEGER NOT NULL,
	workspace         TEXT NOT NULL,
	title             TEXT NOT NULL,
	model             TEXT NOT NULL,
	status            TEXT NOT NULL,
	error             TEXT NOT NULL DEFAULT '',
	diff              TEXT NOT NULL DEFAULT '',
	prompt_tokens     INTEGER NOT NULL DEFAULT 0,
	completion_tokens INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX threads_by_updated ON threads (updated);
CREATE INDEX threads_by_workspace ON threads (workspace, updated);

CREATE TABLE turns (
	thread_rid        INTEGER NOT NULL REFERENCES threads (rid) ON DELETE CASCADE,
	n                 INTEGER NOT NULL,
	created           INTEGER NOT NULL,
	prompt_tokens     INTEGER NOT NULL DEFAULT 0,
	completion_tokens INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (thread_rid, n)
) WITHOUT ROWID;

CREATE TABLE messages (
	id           INTEGER PRIMARY KEY,
	thread_rid   INTEGER NOT NULL,
	turn         INTEGER NOT NULL,
	seq          INTEGER NOT NULL,         -- position in the thread
	role         TEXT NOT NULL,
	content      TEXT NOT NULL,
	tool_calls   TEXT NOT NULL DEFAULT '', -- JSON array of llm.ToolCall
	tool_call_id TEXT NOT NULL DEFAULT '',
	tool_names   TEXT NOT NULL DEFAULT '', -- the tools called or answered, for search
	UNIQUE (thread_rid, seq),
	FOREIGN KEY (thread_rid, turn) REFERENCES turns (thread_rid, n) ON DELETE CASCADE
);

-- The index of titles and messages: a title row has rowid -threads.rid,
-- a message row messages.id. Search ranks messages and makes every
-- snippet with it.
CREATE VIRTUAL TABLE search USING fts5 (
	title, body, tools, thread_rid UNINDEXED,
	tokenize = 'unicode61 remove_diacritics 2',
	prefix = '2 3 4'
);

-- Titles alone again, rowid threads.rid, to rank title matches: bm25()
-- counts the documents holding each term by reading the term's whole
-- list in the index it runs on, which in search means every message
-- too. Here the lists are short. The columns are search's, so a query
-- naming a column means the same in both (body and tools stay empty).
CREATE VIRTUAL TABLE titles USING fts5 (
	title, body, tools, thread_rid UNINDEXED,
	tokenize = 'unicode61 remove_diacritics 2',
	prefix = '2 3 4'
);

CREATE TRIGGER threads_ai AFTER INSERT ON threads BEGIN
	INSERT INTO search (rowid, title, body, tools, thread_rid) VALUES (-new.rid, new.title, '', '', new.rid);
	INSERT INTO titles (rowid, title, body, tools, thread_rid) VALUES (new.rid, new.title, '', '', new.rid);
END;
CREATE TRIGGER threads_au AFTER UPDATE OF title ON threads BEGIN
	UPDATE search SET title = new.title WHERE rowid = -old.rid;
	UPDATE titles SET title = new.title WHERE rowid = old.rid;
END;
CREATE TRIGGER threads_ad AFTER DELETE ON threads BEGIN
	DELETE FROM search WHERE rowid = -old.rid;
	DELETE FROM titles WHERE rowid = old.rid;
END;
CREATE TRIGGER messages_ai AFTER INSERT ON messages BEGIN
	INSERT INTO search (rowid, title, body, tools, thread_rid) VALUES (new.id, '', new.content, new.tool_names, new.thread_rid);
END;
CREATE TRIGGER messages_au AFTER UPDATE OF content, tool_names ON messages BEGIN
	UPDATE search SET body = new.content, tools = new.tool_names WHERE rowid = old.id;
END;
CREATE TRIGGER messages_ad AFTER DELETE ON messages BEGIN
	DELETE FROM search WHERE rowid = old.id;
END;
`,
	// 2: the edits a thread's runs staged and nobody applied, as JSON
	// (workspace.FileChange with base hashes), so a thread can be applied
	// or continued without running the model again.
	`ALTER TABLE threads ADD COLUMN changes TEXT NOT NULL DEFAULT '';`,
}
