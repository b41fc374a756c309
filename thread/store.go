package thread

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/loom-agent/loom/llm"
	"github.com/loom-agent/loom/workspace"
)

// busyTimeout is how long SQLite waits for another connection's lock
// before giving up with SQLITE_BUSY. The store then says on stderr that it
// is waiting, and retries until lockWait has passed.
const busyTimeout = time.Second

// lockWait bounds the wait for a lock another process holds.
const lockWait = 10 * time.Second

// Store is a thread database. It is safe for concurrent use, by several
// goroutines and by several processes sharing the file.
type Store struct {
	db       *sql.DB
	path     string
	readOnly bool
	lockWait time.Duration
	// lockNotice says once that another process holds the lock.
	lockNotice sync.Once
}

// Open opens the database at path, creating it and its folder if needed,
// and brings its schema up to date.
func Open(path string) (*Store, error) {
	abs, err := absPath(path)
	if err != nil {
		return nil, err
	}
	return open(abs)
}

// OpenForReading opens the database at path for commands that only read
// it: as Open does, unless the file or its folder cannot be written (mode
// 0444, a read-only folder or file system), in which case it opens the
// database read-only. Writes through such a store fail with an error that
// says so.
func OpenForReading(path string) (*Store, error) {
	abs, err := absPath(path)
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(abs); err == nil && (!writable(abs) || !writable(filepath.Dir(abs))) {
		return openReadOnly(abs)
	}
	return open(abs)
}

// writable reports whether this process may write path, as the kernel
// judges it for the effective user (root passes a 0444 file, not an
// immutable one or a read-only file system).
func writable(path string) bool {
	return unix.Faccessat(unix.AT_FDCWD, path, unix.W_OK, unix.AT_EACCESS) == nil
}

func absPath(path string) (string, error) {
	if path == "" {
		return "", errors.New("thread database: empty path")
	}
	if strings.IndexByte(path, 0) >= 0 {
		return "", errors.New("thread database: the path contains a NUL byte")
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", fmt.Errorf("thread database %s: %w", path, err)
	}
	return abs, nil
}

// fileURI makes a file: URI of path with query, so a path with '?' or '#'
// in it is not read as options.
func fileURI(path string, query url.Values) string {
	return (&url.URL{Scheme: "file", Path: path, OmitHost: true}).String() + "?" + query.Encode()
}

// openReadOnly opens an existing database without writing anything: not
// the schema, not the journal mode. In a folder it may not write, SQLite
// cannot create the shared-memory file WAL readers need, so the database
// is read as immutable, without locks: the one way SQLite reads from
// read-only media.
func openReadOnly(abs string) (*Store, error) {
	q := url.Values{
		"mode":    {"ro"},
		"_pragma": {fmt.Sprintf("busy_timeout(%d)", busyTimeout.Milliseconds()), "query_only(1)"},
	}
	if !writable(filepath.Dir(abs)) {
		q.Set("immutable", "1")
	}
	db, err := sql.Open("sqlite", fileURI(abs, q))
	if err != nil {
		return nil, fmt.Errorf("thread database %s: %w", abs, err)
	}
	db.SetMaxOpenConns(8)
	db.SetConnMaxIdleTime(time.Minute)
	s := &Store{db: db, path: abs, readOnly: true, lockWait: lockWait}
	v, err := s.schemaVersion(context.Background())
	if err == nil && v != len(migrations) {
		err = fmt.Errorf("it has schema version %d and this Loom reads version %d, but it is read-only, so it cannot be migrated", v, len(migrations))
	}
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("thread database %s (read-only): %w", abs, err)
	}
	return s, nil
}

// open opens the database at abs for reading and writing.
func open(abs string) (*Store, error) {
	if _, err := os.Stat(abs); err == nil && (!writable(abs) || !writable(filepath.Dir(abs))) {
		return nil, fmt.Errorf("thread database %s is read-only (the file or its folder is not writable): "+
			"it can be listed, searched and shown, not written", abs)
	}
	if err := os.MkdirAll(filepath.Dir(abs), 0o700); err != nil {
		return nil, fmt.Errorf("thread database: %w", err)
	}
	// Create the file ourselves so it is private (threads hold code and
	// prompts); SQLite gives its -wal and -shm files the same mode.
	f, err := os.OpenFile(abs, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("thread database: %w", err)
	}
	f.Close()
	// busy_timeout is applied first (the driver sorts it so), then WAL;
	// synchronous=NORMAL is safe in WAL mode: a killed process loses
	// nothing committed, a power cut at most the last commits.
	dsn := fileURI(abs, url.Values{
		"_pragma": {
			fmt.Sprintf("busy_timeout(%d)", busyTimeout.Milliseconds()),
			"journal_mode(WAL)",
			"synchronous(NORMAL)",
			"foreign_keys(ON)",
			// A search reads scattered pages of a big index and of the
			// messages: from SQLite's default 2 MB cache they would come
			// back through a read(2) each. Mapped, they are shared by all
			// connections and processes, and only what is read is resident.
			"mmap_size(268435456)",
		},
		"_txlock": {"immediate"}, // writes take the lock up front: no deadlock on upgrade
	})
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("thread database %s: %w", abs, err)
	}
	db.SetMaxOpenConns(8)
	db.SetConnMaxIdleTime(time.Minute)
	s := &Store{db: db, path: abs, lockWait: lockWait}
	if err := s.migrate(context.Background()); err != nil {
		db.Close()
		return nil, fmt.Errorf("thread database %s: %w", abs, err)
	}
	return s, nil
}

// Path returns the database file's absolute path.
func (s *Store) Path() string { return s.path }

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

// write runs fn in a write transaction (BEGIN IMMEDIATE), retried while
// the database is busy (see retryBusy). fn must be safe to run again: a
// failed attempt is rolled back.
func (s *Store) write(ctx context.Context, fn func(*sql.Tx) error) error {
	if s.readOnly {
		return fmt.Errorf("thread database %s is open read-only: the file or its folder is not writable", s.path)
	}
	return s.retryBusy(ctx, func() error { return s.writeOnce(ctx, fn) })
}

// retryBusy runs fn again while it fails on a lock another connection
// holds, past SQLite's own busy timeout or in a busy state that timeout
// does not cover (a snapshot or a WAL recovery in progress), for at most
// s.lockWait. The first time it waits it says so on stderr, naming the
// file, since the other holder is often a process the user can end.
func (s *Store) retryBusy(ctx context.Context, fn func() error) error {
	start := time.Now()
	delay := 10 * time.Millisecond
	for {
		err := fn()
		if err == nil || !isBusy(err) {
			return err
		}
		waited := time.Since(start)
		if waited >= busyTimeout {
			s.lockNotice.Do(func() {
				slog.Warn("the thread database is locked by another process; waiting", "file", s.path, "at_most", s.lockWait)
			})
		}
		if waited+busyTimeout > s.lockWait { // the next attempt would overrun
			return fmt.Errorf("thread database %s is locked by another process; gave up after %s: %w",
				s.path, waited.Round(100*time.Millisecond), err)
		}
		t := time.NewTimer(delay/2 + rand.N(delay))
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
		delay = min(2*delay, time.Second)
	}
}

func (s *Store) writeOnce(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

// read runs fn in a read transaction, so it sees one snapshot, retried
// while the database is busy.
func (s *Store) read(ctx context.Context, fn func(*sql.Tx) error) error {
	return s.retryBusy(ctx, func() error { return s.readOnce(ctx, fn) })
}

func (s *Store) readOnce(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return err
	}
	defer tx.Rollback()
	return fn(tx)
}

// isBusy reports a lock held by another connection.
func isBusy(err error) bool {
	var e *sqlite.Error
	if !errors.As(err, &e) {
		return false
	}
	c := e.Code() & 0xff // primary code, without the extended bits
	return c == sqlite3.SQLITE_BUSY || c == sqlite3.SQLITE_LOCKED
}

// Create starts a new thread with status running.
func (s *Store) Create(ctx context.Context, m Meta) (*Thread, error) {
	if m.Title == "" {
		m.Title = "(untitled)"
	}
	now := time.Now()
	t := &Thread{Created: now, Updated: now, Workspace: m.Workspace, Title: m.Title, Model: m.Model, Status: StatusRunning}
	for range 5 { // an ID collides once in 32768 starts within a second
		t.ID = newID(now)
		err := s.write(ctx, func(tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx,
				`INSERT INTO threads (id, created, updated, workspace, title, model, status) VALUES (?, ?, ?, ?, ?, ?, ?)`,
				t.ID, now.UnixMilli(), now.UnixMilli(), t.Workspace, t.Title, t.Model, t.Status)
			return err
		})
		if err == nil {
			return t, nil
		}
		if !isConstraint(err) {
			return nil, fmt.Errorf("creating a thread: %w", err)
		}
	}
	return nil, errors.New("creating a thread: no free ID")
}

func isConstraint(err error) bool {
	var e *sqlite.Error
	return errors.As(err, &e) && e.Code()&0xff == sqlite3.SQLITE_CONSTRAINT
}

// AppendTurn adds a turn at the end of thread id, in one transaction, and
// returns its number (0 for the first). The turn's usage is added to the
// thread's totals.
func (s *Store) AppendTurn(ctx context.Context, id string, t Turn) (int, error) {
	if err := checkTurn(t); err != nil {
		return 0, err
	}
	var n int
	err := s.write(ctx, func(tx *sql.Tx) error {
		rid, err := threadRID(ctx, tx, id)
		if err != nil {
			return err
		}
		var seq int
		if err := tx.QueryRowContext(ctx,
			`SELECT coalesce((SELECT max(n) + 1 FROM turns WHERE thread_rid = ?1), 0),
			        coalesce((SELECT max(seq) + 1 FROM messages WHERE thread_rid = ?1), 0)`, rid).Scan(&n, &seq); err != nil {
			return err
		}
		now := time.Now().UnixMilli()
		if _, err := insertTurn(ctx, tx, rid, n, seq, now, t); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE threads SET updated = ?, prompt_tokens = prompt_tokens + ?,
			completion_tokens = completion_tokens + ? WHERE rid = ?`,
			now, t.Usage.PromptTokens, t.Usage.CompletionTokens, rid)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("appending a turn to thread %s: %w", id, err)
	}
	return n, nil
}

// checkTurn refuses turns the store could not give back as they came.
func checkTurn(t Turn) error {
	if len(t.Messages) == 0 {
		return errors.New("a turn needs at least one message")
	}
	for i, m := range t.Messages {
		switch m.Role {
		case llm.RoleSystem, llm.RoleUser, llm.RoleAssistant, llm.RoleTool:
		default:
			return fmt.Errorf("message %d has an unknown role %q", i, m.Role)
		}
	}
	return nil
}

// insertTurn writes turn n of thread rid, its messages numbered from seq,
// and returns the next free seq.
func insertTurn(ctx context.Context, tx *sql.Tx, rid int64, n, seq int, now int64, t Turn) (int, error) {
	if _, err := tx.ExecContext(ctx,
		`INSERT INTO turns (thread_rid, n, created, prompt_tokens, completion_tokens) VALUES (?, ?, ?, ?, ?)`,
		rid, n, now, t.Usage.PromptTokens, t.Usage.CompletionTokens); err != nil {
		return 0, err
	}
	stmt, err := tx.PrepareContext(ctx, `INSERT INTO messages
		(thread_rid, turn, seq, role, content, tool_calls, tool_call_id, tool_names) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return 0, err
	}
	defer stmt.Close()
	names := map[string]string{} // call ID → tool name, to label results
	for _, m := range t.Messages {
		calls, toolNames := "", ""
		if len(m.ToolCalls) > 0 {
			b, err := json.Marshal(m.ToolCalls)
			if err != nil {
				return 0, err
			}
			calls = string(b)
			var ns []string
			for _, c := range m.ToolCalls {
				ns = append(ns, c.Name)
				names[c.ID] = c.Name
			}
			toolNames = strings.Join(ns, " ")
		}
		if m.Role == llm.RoleTool {
			toolNames = names[m.ToolCallID]
			if toolNames == "" && m.ToolCallID != "" {
				toolNames = earlierToolName(ctx, tx, rid, m.ToolCallID)
			}
		}
		if _, err := stmt.ExecContext(ctx, rid, n, seq, string(m.Role), m.Content, calls, m.ToolCallID, toolNames); err != nil {
			return 0, err
		}
		seq++
	}
	return seq, nil
}

// earlierToolName finds the name of the call a result answers when the
// call was stored in an earlier turn; "" if it cannot.
func earlierToolName(ctx context.Context, tx *sql.Tx, rid int64, callID string) string {
	var raw string
	err := tx.QueryRowContext(ctx, `SELECT tool_calls FROM messages
		WHERE thread_rid = ? AND role = 'assistant' AND tool_calls != '' ORDER BY seq DESC LIMIT 1`, rid).Scan(&raw)
	if err != nil {
		return ""
	}
	var calls []llm.ToolCall
	_ = json.Unmarshal([]byte(raw), &calls)
	for _, c := range calls {
		if c.ID == callID {
			return c.Name
		}
	}
	return ""
}

// threadRID maps a thread ID to its row, or ErrNotFound.
func threadRID(ctx context.Context, tx *sql.Tx, id string) (int64, error) {
	var rid int64
	err := tx.QueryRowContext(ctx, `SELECT rid FROM threads WHERE id = ?`, id).Scan(&rid)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("%w: %q", ErrNotFound, id)
	}
	return rid, err
}

// Finish records how the latest run of thread id ended.
func (s *Store) Finish(ctx context.Context, id string, o Outcome) error {
	if !o.Status.Valid() {
		return fmt.Errorf("finishing thread %s: unknown status %q", id, o.Status)
	}
	err := s.write(ctx, func(tx *sql.Tx) error {
		return finish(ctx, tx, id, o)
	})
	if err != nil {
		return fmt.Errorf("finishing thread %s: %w", id, err)
	}
	return nil
}

// ClearChanges records that thread id's staged edits were applied (or
// given up): they are no longer kept, and a later run starts from the
// disk. The diff stays as the record of what the run did.
func (s *Store) ClearChanges(ctx context.Context, id string) error {
	return s.update(ctx, id, "thread %s", `UPDATE threads SET changes = '', updated = ? WHERE id = ?`, time.Now().UnixMilli(), id)
}

// update runs query, which changes the row of thread id, in a write
// transaction; no such row is ErrNotFound. Errors are prefixed with what,
// a format naming id.
func (s *Store) update(ctx context.Context, id, what, query string, args ...any) error {
	err := s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, query, args...)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err == nil && n == 0 {
			return fmt.Errorf("%w: %q", ErrNotFound, id)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf(what+": %w", id, err)
	}
	return nil
}

// encodeChanges stores staged edits as JSON; none is the empty string.
func encodeChanges(changes []workspace.FileChange) (string, error) {
	if len(changes) == 0 {
		return "", nil
	}
	b, err := json.Marshal(changes)
	return string(b), err
}

func decodeChanges(s string) ([]workspace.FileChange, error) {
	if s == "" {
		return nil, nil
	}
	var changes []workspace.FileChange
	if err := json.Unmarshal([]byte(s), &changes); err != nil {
		return nil, fmt.Errorf("staged changes: %w", err)
	}
	return changes, nil
}

// SetTitle renames a thread.
func (s *Store) SetTitle(ctx context.Context, id, title string) error {
	return s.update(ctx, id, "renaming thread %s", `UPDATE threads SET title = ? WHERE id = ?`, TitleFrom(title), id)
}

func finish(ctx context.Context, tx *sql.Tx, id string, o Outcome) error {
	changes, err := encodeChanges(o.Changes)
	if err != nil {
		return err
	}
	q := `UPDATE threads SET status = ?, diff = ?, changes = ?, error = ?, updated = ? WHERE id = ?`
	args := []any{o.Status, o.Diff, changes, o.Error, time.Now().UnixMilli(), id}
	if o.Usage != (llm.Usage{}) {
		q = `UPDATE threads SET status = ?, diff = ?, changes = ?, error = ?, updated = ?, prompt_tokens = ?, completion_tokens = ? WHERE id = ?`
		args = []any{o.Status, o.Diff, changes, o.Error, time.Now().UnixMilli(), o.Usage.PromptTokens, o.Usage.CompletionTokens, id}
	}
	res, err := tx.ExecContext(ctx, q, args...)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err == nil && n == 0 {
		return fmt.Errorf("%w: %q", ErrNotFound, id)
	}
	return nil
}

// ReplaceTurns swaps the turns of thread id from number from on for turns
// and records the outcome, all in one transaction. The token totals become
// the sum of the turns.
func (s *Store) ReplaceTurns(ctx context.Context, id string, from int, turns []Turn, o Outcome) error {
	for _, t := range turns {
		if err := checkTurn(t); err != nil {
			return err
		}
	}
	return s.write(ctx, func(tx *sql.Tx) error {
		rid, err := threadRID(ctx, tx, id)
		if err != nil {
			return err
		}
		for _, q := range []string{
			`DELETE FROM messages WHERE thread_rid = ? AND turn >= ?`,
			`DELETE FROM turns WHERE thread_rid = ? AND n >= ?`,
		} {
			if _, err := tx.ExecContext(ctx, q, rid, from); err != nil {
				return err
			}
		}
		var seq int
		if err := tx.QueryRowContext(ctx, `SELECT coalesce(max(seq) + 1, 0) FROM messages WHERE thread_rid = ?`, rid).Scan(&seq); err != nil {
			return err
		}
		for i, t := range turns {
			created := t.Created.UnixMilli()
			if t.Created.IsZero() {
				created = time.Now().UnixMilli()
			}
			if seq, err = insertTurn(ctx, tx, rid, from+i, seq, created, t); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, `UPDATE threads SET
			prompt_tokens = (SELECT coalesce(sum(prompt_tokens), 0) FROM turns WHERE thread_rid = ?1),
			completion_tokens = (SELECT coalesce(sum(completion_tokens), 0) FROM turns WHERE thread_rid = ?1)
			WHERE rid = ?1`, rid); err != nil {
			return err
		}
		return finish(ctx, tx, id, o)
	})
}

// Get returns thread id with all its turns.
func (s *Store) Get(ctx context.Context, id string) (*Thread, error) {
	var t *Thread
	err := s.read(ctx, func(tx *sql.Tx) error {
		var rid int64
		var err error
		if t, rid, err = scanThread(tx.QueryRowContext(ctx, threadColumns+` WHERE id = ?`, id)); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("%w: %q", ErrNotFound, id)
			}
			return err
		}
		var changes string
		if err := tx.QueryRowContext(ctx, `SELECT changes FROM threads WHERE rid = ?`, rid).Scan(&changes); err != nil {
			return err
		}
		if t.Changes, err = decodeChanges(changes); err != nil {
			return err
		}
		rows, err := tx.QueryContext(ctx, `SELECT n, created, prompt_tokens, completion_tokens FROM turns WHERE thread_rid = ? ORDER BY n`, rid)
		if err != nil {
			return err
		}
		index := map[int]int{} // turn number → position in t.Turns
		for rows.Next() {
			var turn Turn
			var created int64
			if err := rows.Scan(&turn.N, &created, &turn.Usage.PromptTokens, &turn.Usage.CompletionTokens); err != nil {
				rows.Close()
				return err
			}
			turn.Created = time.UnixMilli(created)
			index[turn.N] = len(t.Turns)
			t.Turns = append(t.Turns, turn)
		}
		if err := rows.Close(); err != nil {
			return err
		}
		rows, err = tx.QueryContext(ctx, `SELECT turn, role, content, tool_calls, tool_call_id FROM messages WHERE thread_rid = ? ORDER BY seq`, rid)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var n int
			var m llm.Message
			var calls string
			if err := rows.Scan(&n, &m.Role, &m.Content, &calls, &m.ToolCallID); err != nil {
				return err
			}
			if calls != "" {
				if err := json.Unmarshal([]byte(calls), &m.ToolCalls); err != nil {
					return fmt.Errorf("turn %d: tool calls: %w", n, err)
				}
			}
			if i, ok := index[n]; ok {
				t.Turns[i].Messages = append(t.Turns[i].Messages, m)
			}
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("reading thread %s: %w", id, err)
	}
	return t, nil
}

// threadColumns selects what scanThread reads.
const threadColumns = `SELECT rid, id, created, updated, workspace, title, model, status, error, diff,
	prompt_tokens, completion_tokens, (SELECT count(*) FROM turns WHERE thread_rid = rid), changes != '',
	` + modelTurns + ` FROM threads`

// modelTurns counts the turns of thread rid that hold a model's answer,
// as a run counts its turns (an instruction is a turn of the thread, not
// of the model).
const modelTurns = `(SELECT count(*) FROM turns u WHERE u.thread_rid = rid AND EXISTS
	(SELECT 1 FROM messages m WHERE m.thread_rid = u.thread_rid AND m.turn = u.n AND m.role = 'assistant'))`

type scanner interface{ Scan(...any) error }

func scanThread(r scanner) (*Thread, int64, error) {
	var t Thread
	var rid, created, updated int64
	err := r.Scan(&rid, &t.ID, &created, &updated, &t.Workspace, &t.Title, &t.Model, &t.Status, &t.Error, &t.Diff,
		&t.Usage.PromptTokens, &t.Usage.CompletionTokens, &t.TurnCount, &t.Unapplied, &t.ModelTurns)
	if err != nil {
		return nil, 0, err
	}
	t.Created, t.Updated = time.UnixMilli(created), time.UnixMilli(updated)
	return &t, rid, nil
}

// where turns a filter into SQL conditions on threads (aliased t).
func (f Filter) where() (string, []any) {
	var conds []string
	var args []any
	if f.Workspace != "" {
		conds = append(conds, "t.workspace = ?")
		args = append(args, f.Workspace)
	}
	if f.Workspaces != nil {
		cond, wargs := inWorkspaces("t.workspace", f.Workspaces)
		conds = append(conds, cond)
		args = append(args, wargs...)
	}
	if f.Status != "" {
		conds = append(conds, "t.status = ?")
		args = append(args, string(f.Status))
	}
	if !f.Since.IsZero() {
		conds = append(conds, "t.updated >= ?")
		args = append(args, f.Since.UnixMilli())
	}
	if len(conds) == 0 {
		return "1", nil
	}
	return strings.Join(conds, " AND "), args
}

// inWorkspaces is the SQL condition that column is one of dirs.
func inWorkspaces(column string, dirs []string) (string, []any) {
	if len(dirs) == 0 {
		return "0", nil
	}
	args := make([]any, len(dirs))
	for i, d := range dirs {
		args[i] = d
	}
	return column + " IN (" + strings.TrimSuffix(strings.Repeat("?,", len(dirs)), ",") + ")", args
}

func (f Filter) limit() int {
	if f.Limit <= 0 {
		return DefaultLimit
	}
	return f.Limit
}

// List returns the threads that pass f, most recently updated first,
// without their turns.
func (s *Store) List(ctx context.Context, f Filter) ([]Thread, error) {
	where, args := f.where()
	var out []Thread
	err := s.read(ctx, func(tx *sql.Tx) error {
		out = nil
		rows, err := tx.QueryContext(ctx, strings.Replace(threadColumns, "FROM threads", "FROM threads t", 1)+
			" WHERE "+where+" ORDER BY t.updated DESC, t.id DESC LIMIT ?", append(args, f.limit())...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			t, _, err := scanThread(rows)
			if err != nil {
				return err
			}
			out = append(out, *t)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("listing threads: %w", err)
	}
	return out, nil
}

// Resolve expands an ID prefix to the one thread ID it starts; an exact
// ID is returned as it is.
func (s *Store) Resolve(ctx context.Context, prefix string) (string, error) {
	return s.resolve(ctx, prefix, nil)
}

// ResolveIn is Resolve among the threads of the workspaces given (root
// folders, as recorded): a thread of another workspace is not found, and
// does not make a prefix ambiguous.
func (s *Store) ResolveIn(ctx context.Context, prefix string, workspaces []string) (string, error) {
	if workspaces == nil {
		workspaces = []string{}
	}
	return s.resolve(ctx, prefix, workspaces)
}

func (s *Store) resolve(ctx context.Context, prefix string, workspaces []string) (string, error) {
	if prefix == "" || strings.Trim(strings.ToLower(prefix), idAlphabet) != "" {
		return "", fmt.Errorf("%w: %q", ErrNotFound, prefix)
	}
	prefix = strings.ToLower(prefix)
	scope, args := "1", []any{prefix, prefix + "~"}
	if workspaces != nil {
		var wargs []any
		scope, wargs = inWorkspaces("workspace", workspaces)
		args = append(args, wargs...)
	}
	var ids []string
	err := s.read(ctx, func(tx *sql.Tx) error {
		ids = nil
		// '~' sorts after every ID character, so the range is the prefix's.
		rows, err := tx.QueryContext(ctx, `SELECT id FROM threads WHERE id >= ? AND id < ? AND `+scope+` ORDER BY id LIMIT `+fmt.Sprint(maxCandidates+1), args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				return err
			}
			ids = append(ids, id)
		}
		return rows.Err()
	})
	if err != nil {
		return "", err
	}
	if slices.Contains(ids, prefix) {
		return prefix, nil
	}
	switch len(ids) {
	case 0:
		return "", fmt.Errorf("%w: %q", ErrNotFound, prefix)
	case 1:
		return ids[0], nil
	}
	more := ""
	if len(ids) > maxCandidates {
		ids, more = ids[:maxCandidates], " and more"
	}
	return "", fmt.Errorf("%q is %w: it starts %s%s; type more of the ID", prefix, ErrAmbiguous, strings.Join(ids, ", "), more)
}

// ErrAmbiguous is returned (wrapped, with the candidates) for an ID
// prefix that starts several threads.
var ErrAmbiguous = errors.New("ambiguous")

// maxCandidates is how many threads an ambiguous prefix's error names.
const maxCandidates = 5

// MinShortID is the shortest prefix ShortIDs returns: as git's short
// hashes, long enough that it stays unique as threads are added, mostly.
const MinShortID = 8

// ShortIDs maps each of ids to its shortest prefix, of at least
// MinShortID characters, that starts no other thread of the store (the
// whole store, not only ids: a list filtered by workspace shows prefixes
// that every command accepts).
func (s *Store) ShortIDs(ctx context.Context, ids []string) (map[string]string, error) {
	short := make(map[string]string, len(ids))
	err := s.read(ctx, func(tx *sql.Tx) error {
		for _, id := range ids {
			// The IDs beside id in order share the longest prefixes with it.
			var before, after sql.NullString
			if err := tx.QueryRowContext(ctx, `SELECT (SELECT max(id) FROM threads WHERE id < ?1), (SELECT min(id) FROM threads WHERE id > ?1)`, id).
				Scan(&before, &after); err != nil {
				return err
			}
			n := max(sharedLen(id, before.String), sharedLen(id, after.String)) + 1
			short[id] = id[:min(len(id), max(n, MinShortID))]
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("shortening thread IDs: %w", err)
	}
	return short, nil
}

// sharedLen is the length of the prefix a and b share.
func sharedLen(a, b string) int {
	n := 0
	for n < len(a) && n < len(b) && a[n] == b[n] {
		n++
	}
	return n
}

// Delete removes thread id and everything it holds.
func (s *Store) Delete(ctx context.Context, id string) error {
	err := s.write(ctx, func(tx *sql.Tx) error {
		rid, err := threadRID(ctx, tx, id)
		if err != nil {
			return err
		}
		// Children first, explicitly, so the FTS triggers fire for each row.
		for _, q := range []string{
			`DELETE FROM messages WHERE thread_rid = ?`,
			`DELETE FROM turns WHERE thread_rid = ?`,
			`DELETE FROM threads WHERE rid = ?`,
		} {
			if _, err := tx.ExecContext(ctx, q, rid); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("deleting thread %s: %w", id, err)
	}
	return nil
}

// Check says whether the database is sound (SQLite's quick_check) and how
// many threads it holds, for `loom doctor`.
func (s *Store) Check(ctx context.Context) (threads int, err error) {
	err = s.read(ctx, func(tx *sql.Tx) error {
		var verdict string
		if err := tx.QueryRowContext(ctx, "PRAGMA quick_check").Scan(&verdict); err != nil {
			return err
		}
		if verdict != "ok" {
			return fmt.Errorf("damaged: %s", verdict)
		}
		return tx.QueryRowContext(ctx, "SELECT count(*) FROM threads").Scan(&threads)
	})
	return threads, err
}
