// Package thread keeps Loom's conversations ("threads") in a SQLite
// database so a run can be read back, searched, exported and continued.
//
// A thread is appended turn by turn while the agent runs, each turn in one
// transaction, so a crash loses at most the turn in flight. A Recorder
// turns a run's agent events into those appends and, when the run ends,
// replaces the run's turns with the agent's authoritative transcript (the
// events carry only previews of tool results).
//
// The database is shared by every Loom process on the machine (the CLI, an
// LSP server, an MCP server): it runs in WAL mode with a busy timeout,
// writes take the lock up front (BEGIN IMMEDIATE) and are retried on
// SQLITE_BUSY, so concurrent writers wait for each other instead of failing
// with "database is locked". The schema is versioned in code (migrate.go,
// PRAGMA user_version), each migration in its own transaction.
//
// Search goes through an FTS5 index over titles, message text and tool
// names, and a small one of titles alone that ranks title matches, both
// kept in step by triggers, ranked by BM25.
package thread
