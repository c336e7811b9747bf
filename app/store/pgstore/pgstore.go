// Package pgstore is Hearth's PostgreSQL storage backend, for clinic groups
// that run several Hearth nodes on one database. It implements store.Store
// with github.com/pocketbase/dbx over database/sql and pgx's stdlib driver,
// and passes the same conformance suite (storetest) as boltstore, down to
// byte order and error values.
//
// # Tables
//
// The SQL migrations (Options.Migrations, embed/migrations) create
//
//	hearth_records(bucket text COLLATE "C", id text COLLATE "C", value bytea, PRIMARY KEY (bucket, id))
//	hearth_index(name text COLLATE "C", key bytea, id text COLLATE "C", PRIMARY KEY (name, key))
//	hearth_seq(name text COLLATE "C" PRIMARY KEY, value bigint)
//
// bytea compares bytewise and COLLATE "C" text compares its UTF-8 bytes, so
// Each and Scan visit entries in exactly bbolt's (memcmp) order. The primary
// keys' btrees serve every read in both directions. Values stay opaque age
// ciphertext. Bucket, index and counter names, record ids and index keys
// never carry PHI: the callers guarantee it (see package store), which is
// why they may appear in SQL errors and in PostgreSQL's own logs.
//
// Migrations are applied at Open under a session advisory lock
// (migrateLockKey), each file in its own transaction together with its row
// in hearth_migrations, so several nodes starting at once apply each once.
//
// # Isolation
//
// Clinic code does read-modify-write inside Update and relies on bbolt's
// single writer for it. pgstore reproduces that across nodes: every write
// transaction first takes pg_advisory_xact_lock(writeLockKey), so the write
// transactions of all nodes run one at a time. Each statement of a READ
// COMMITTED transaction sees everything committed before it started, and
// therefore everything committed before the lock was granted: the result is
// the same as serial execution, without SERIALIZABLE's aborts. A write
// transaction forces synchronous_commit on, so Update returns only once the
// commit is flushed to PostgreSQL's WAL. Serialization failures and deadlocks
// (SQLSTATE 40001, 40P01), which the lock should make impossible, are still
// retried. View runs in a REPEATABLE READ READ ONLY transaction: one
// consistent snapshot. Export (and so Backup) uses one such snapshot too, so
// a backup is consistent while writers go on.
//
// # Grouping and round trips
//
// Since writes are serial anyway, one process keeps at most one write
// transaction open. Updates that arrive while it runs queue up and go
// together into the next transaction, like bbolt's Batch: one commit, one
// WAL flush for all. If one fn fails, the transaction is rolled back and the
// others run again without it; the failing fn then runs alone, so it gets its
// own error. A fn may therefore run more than once.
//
// Inside a write transaction Put, Delete, SetIndex and DeleteIndex are
// buffered (last write per key wins) and sent as one statement of unnest()
// arrays before any read that could see them (Each, Count, Scan) and at
// commit; Get, GetMany and Lookup answer from the buffer first. Counters are read
// once per transaction and then counted in memory. Every statement binds its
// values as parameters; SQL text is only ever assembled from constant
// fragments.
//
// The connection string may carry a password: it is never logged, and
// errors never include it.
package pgstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pocketbase/dbx"

	"hearth/app/store"
)

// Advisory lock keys. They are fixed so every node agrees on them; the
// values spell "Hearth" in their high bytes so they do not collide with
// another application's locks on a shared server.
const (
	// writeLockKey is held (transaction-scoped) by every write transaction.
	writeLockKey int64 = 0x4865617274680001
	// migrateLockKey is held (session-scoped) while migrations are applied.
	migrateLockKey int64 = 0x4865617274680002
)

// Pool sizing. One write transaction per process at a time; the rest serve
// Views, exports, notifications and throttling counters. (The listener and
// the leader hold connections of their own, outside the pool.) Every open
// connection may stay idle (until ConnMaxIdleTime): with fewer idle than
// open, a busy clinic's bursts closed connections and opened new ones
// many times a second, and each new one costs PostgreSQL a backend
// process (profiled: most of the database's CPU per message).
const (
	maxOpenConns = 24
	maxIdleConns = maxOpenConns
)

// ErrNotEmpty is returned by Restore when the database already holds Hearth
// data: a restore never merges into or overwrites a live database.
var ErrNotEmpty = errors.New("pgstore: restore needs an empty Hearth database, and this one already holds data")

// Options configure Open.
type Options struct {
	// Migrations is the embed/migrations folder: SQL files applied in name
	// order. Required.
	Migrations fs.FS
	// Log receives notes on migrations and retried transactions. Optional.
	Log *slog.Logger
}

// Store is a PostgreSQL-backed store.Store.
type Store struct {
	db  *dbx.DB
	dsn string

	log        *slog.Logger
	migrations []string // the names of Options.Migrations, for Check

	writes grouper[*call]    // Updates waiting for the next transaction
	hits   grouper[*hitCall] // HitBoths waiting for the next group statement (hitgroup.go)

	closeOnce sync.Once
	closeErr  error
}

var _ store.Store = (*Store)(nil)

// Open connects to the database named by dsn (a postgres:// URL or key=value
// string for pgx), applies the migrations not yet applied, and returns the
// store.
func Open(ctx context.Context, dsn string, opts Options) (*Store, error) {
	if opts.Migrations == nil {
		return nil, errors.New("pgstore: open: Options.Migrations is required")
	}
	log := opts.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	names, err := migrationNames(opts.Migrations)
	if err != nil {
		return nil, fmt.Errorf("pgstore: open: %w", err)
	}
	db, err := connect(ctx, dsn)
	if err != nil {
		return nil, err
	}
	s := &Store{db: db, dsn: dsn, log: log, migrations: names}
	if err := s.migrate(ctx, opts.Migrations); err != nil {
		_ = db.Close()
		return nil, Scrub(fmt.Errorf("pgstore: open: %w", err), dsn)
	}
	return s, nil
}

// connect opens the pool and checks that the server answers. Pool
// connections get the same TCP keepalives as the listener and the leader:
// a node cut off in the middle of a write transaction holds the write lock
// of every node until the server notices, which keepalives bound to seconds
// (not the kernel's two hours); an idle-in-transaction limit is the
// backstop for a node that hangs with its connection alive.
func connect(ctx context.Context, dsn string) (*dbx.DB, error) {
	cfg, err := sessionConfig(dsn, "hearth")
	if err != nil {
		return nil, fmt.Errorf("pgstore: open: %w", err)
	}
	cfg.RuntimeParams["idle_in_transaction_session_timeout"] = "300000" // ms
	db := dbx.NewFromDB(stdlib.OpenDB(*cfg), "pgx")
	sdb := db.DB()
	sdb.SetMaxOpenConns(maxOpenConns)
	sdb.SetMaxIdleConns(maxIdleConns)
	sdb.SetConnMaxIdleTime(5 * time.Minute)
	if err := sdb.PingContext(ctx); err != nil {
		_ = db.Close()
		return nil, Scrub(fmt.Errorf("pgstore: open: connect: %w", err), dsn)
	}
	return db, nil
}

// Scrub keeps the connection string, and every form of the password in it,
// out of an error's text (pgx quotes parts of a DSN it cannot parse or
// reach). errors.Is and errors.As still see the original. Every error that
// leaves pgstore has been through it.
func Scrub(err error, dsn string) error {
	if err == nil || dsn == "" {
		return err
	}
	msg := err.Error()
	secrets := []string{dsn}
	if u, perr := url.Parse(dsn); perr == nil {
		secrets = append(secrets, u.Redacted())
		if pw, ok := u.User.Password(); ok && pw != "" {
			secrets = append(secrets, pw, url.QueryEscape(pw), url.PathEscape(pw))
		}
		// The password exactly as written in the URL (its own escaping).
		if _, rest, ok := strings.Cut(dsn, "://"); ok {
			if userinfo, _, ok := strings.Cut(rest, "@"); ok {
				if _, raw, ok := strings.Cut(userinfo, ":"); ok && raw != "" {
					secrets = append(secrets, raw)
				}
			}
		}
		if pw := u.Query().Get("password"); pw != "" {
			secrets = append(secrets, pw, url.QueryEscape(pw))
		}
	}
	for _, f := range strings.Fields(dsn) { // key=value form
		if k, v, ok := strings.Cut(f, "="); ok && strings.EqualFold(k, "password") && v != "" {
			secrets = append(secrets, v, strings.Trim(v, "'"))
		}
	}
	clean := msg
	for _, sec := range secrets {
		if len(sec) >= 3 {
			clean = strings.ReplaceAll(clean, sec, "xxxxx")
		}
	}
	if clean == msg {
		return err
	}
	return &scrubbedError{msg: clean, err: err}
}

type scrubbedError struct {
	msg string
	err error
}

func (e *scrubbedError) Error() string { return e.msg }
func (e *scrubbedError) Unwrap() error { return e.err }

func migrationNames(fsys fs.FS) ([]string, error) {
	names, err := fs.Glob(fsys, "*.sql")
	if err != nil {
		return nil, fmt.Errorf("migrations: %w", err)
	}
	if len(names) == 0 {
		return nil, errors.New("migrations: the folder holds no .sql files")
	}
	slices.Sort(names)
	return names, nil
}

// migrate applies the migrations not yet recorded in hearth_migrations,
// in name order, holding the session advisory lock on one connection so
// that nodes starting together apply each exactly once.
func (s *Store) migrate(ctx context.Context, fsys fs.FS) (err error) {
	conn, err := s.db.DB().Conn(ctx)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	defer func() {
		// Returns the connection to the pool (or discards it, below).
		if cerr := conn.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("migrate: %w", cerr)
		}
	}()
	if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock($1)`, migrateLockKey); err != nil {
		return fmt.Errorf("migrate: lock: %w", err)
	}
	defer func() {
		// A background context: the lock must go even if ctx has ended.
		uctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if _, uerr := conn.ExecContext(uctx, `SELECT pg_advisory_unlock($1)`, migrateLockKey); uerr != nil {
			// Never hand a connection that may still hold the lock back
			// to the pool: discard it (closing it ends the session).
			_ = conn.Raw(func(any) error { return driver.ErrBadConn })
			if err == nil {
				err = fmt.Errorf("migrate: unlock: %w", uerr)
			}
		}
	}()
	if _, err := conn.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS hearth_migrations (
		name text COLLATE "C" PRIMARY KEY,
		applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	applied, err := appliedMigrations(ctx, conn)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	for _, name := range s.migrations {
		if applied[name] {
			continue
		}
		body, err := fs.ReadFile(fsys, name)
		if err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
		if err := applyMigration(ctx, s.db, conn, name, string(body)); err != nil {
			return fmt.Errorf("migrate: %s: %w", name, err)
		}
		s.log.Info("pgstore: applied migration", "name", name)
	}
	return nil
}

type queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

func appliedMigrations(ctx context.Context, q queryer) (map[string]bool, error) {
	rows, err := q.QueryContext(ctx, `SELECT name FROM hearth_migrations`)
	if err != nil {
		return nil, err
	}
	applied := map[string]bool{}
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return nil, errors.Join(err, rows.Close())
		}
		applied[name] = true
	}
	if err := rows.Close(); err != nil {
		return nil, err
	}
	return applied, rows.Err()
}

// applyMigration runs one file and records it in one transaction. The file
// is sent as it is (several statements, simple protocol); it carries no
// values, and the record binds the name.
func applyMigration(ctx context.Context, db *dbx.DB, conn *sql.Conn, name, body string) error {
	sqlTx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() { _ = sqlTx.Rollback() }()
	if _, err := sqlTx.ExecContext(ctx, body); err != nil {
		return err
	}
	q := db.Wrap(sqlTx)
	if _, err := q.NewQuery(`INSERT INTO hearth_migrations (name) VALUES ({:name})`).
		Bind(dbx.Params{"name": name}).WithContext(ctx).Execute(); err != nil {
		return err
	}
	return sqlTx.Commit()
}

// Close closes the connection pool. Updates still queued fail.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		if err := s.db.Close(); err != nil {
			s.closeErr = fmt.Errorf("pgstore: close: %w", err)
		}
	})
	return s.closeErr
}

// Backup writes a dump (store.WriteDump) of one consistent snapshot to w
// while writers go on, and returns the bytes written. Restore reads it.
func (s *Store) Backup(ctx context.Context, w io.Writer) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	n, err := store.WriteDump(ctx, w, s)
	if err != nil {
		return n, fmt.Errorf("pgstore: backup: %w", err)
	}
	return n, nil
}

// namePattern is store.ValidName as a PostgreSQL regular expression, for
// Check.
const namePattern = `'^[a-z0-9_.]{1,64}$'`

// Check verifies what the backend itself relies on: every migration is
// applied, the tables exist, and every row is well formed (valid names,
// non-empty ids and keys, counters in range). It knows nothing of what
// values mean. Problems come back as one error wrapping store.ErrCorrupt.
func (s *Store) Check(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	var problems []error
	applied, err := appliedMigrations(ctx, s.db.DB())
	if err != nil {
		return fmt.Errorf("pgstore: check: %w", err)
	}
	for _, name := range s.migrations {
		if !applied[name] {
			problems = append(problems, fmt.Errorf("migration %s is not applied", name))
		}
	}
	missing := false
	for _, table := range []string{"hearth_records", "hearth_index", "hearth_seq"} {
		var ok bool
		err := s.db.NewQuery(`SELECT to_regclass({:t}) IS NOT NULL`).Bind(dbx.Params{"t": table}).WithContext(ctx).Row(&ok)
		if err != nil {
			return fmt.Errorf("pgstore: check: %w", err)
		}
		if !ok {
			missing = true
			problems = append(problems, fmt.Errorf("table %s is missing", table))
		}
	}
	if !missing {
		for _, c := range []struct{ what, sql string }{
			{"records with a bad bucket name or id",
				`SELECT count(*) FROM hearth_records WHERE bucket !~ ` + namePattern + ` OR id = ''`},
			{"index entries with a bad index name, key or id",
				`SELECT count(*) FROM hearth_index WHERE name !~ ` + namePattern + ` OR octet_length(key) = 0 OR id = ''`},
			{"counters with a bad name or value",
				`SELECT count(*) FROM hearth_seq WHERE name !~ ` + namePattern + ` OR value < 0`},
		} {
			var n int64
			if err := s.db.NewQuery(c.sql).WithContext(ctx).Row(&n); err != nil {
				return fmt.Errorf("pgstore: check: %w", err)
			}
			if n > 0 {
				problems = append(problems, fmt.Errorf("%d %s", n, c.what))
			}
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("pgstore: check: %w: %w", store.ErrCorrupt, errors.Join(problems...))
	}
	return nil
}

// Restore reads a dump (Backup's output, store.ReadDump) into the database
// named by dsn, applying the migrations first. The database must hold no
// Hearth data (ErrNotEmpty otherwise). Everything is written in one
// transaction: a damaged or cut dump (store.ErrDumpDamaged), a cancelled
// ctx or any other failure leaves the database as empty as it was.
func Restore(ctx context.Context, dsn string, opts Options, r io.Reader) (err error) {
	s, err := Open(ctx, dsn, opts)
	if err != nil {
		return fmt.Errorf("pgstore: restore: %w", err)
	}
	defer func() {
		if cerr := s.Close(); err == nil {
			err = cerr
		}
	}()
	q, err := s.db.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelReadCommitted})
	if err != nil {
		return Scrub(fmt.Errorf("pgstore: restore: %w", err), dsn)
	}
	defer func() { _ = q.Rollback() }()
	t := newTx(ctx, q, true)
	if err := t.begin(); err != nil {
		return fmt.Errorf("pgstore: restore: %w", err)
	}
	var nonEmpty bool
	if err := t.query(`SELECT EXISTS (SELECT 1 FROM hearth_records) OR EXISTS (SELECT 1 FROM hearth_index)
		OR EXISTS (SELECT 1 FROM hearth_seq)`, nil).Row(&nonEmpty); err != nil {
		return fmt.Errorf("pgstore: restore: %w", err)
	}
	if nonEmpty {
		return ErrNotEmpty
	}
	n, err := store.ReadDump(r, 1000, t.importEntries)
	if err != nil {
		return fmt.Errorf("pgstore: restore: %w", err)
	}
	if err := t.flush(); err != nil {
		return fmt.Errorf("pgstore: restore: %w", err)
	}
	if err := q.Commit(); err != nil {
		return fmt.Errorf("pgstore: restore: commit: %w", err)
	}
	s.log.Info("pgstore: restored", "entries", n)
	return nil
}

// UsedBytes is the space Hearth's tables take in the database named by dsn,
// with their indexes and TOAST (pg_total_relation_size).
func UsedBytes(ctx context.Context, dsn string) (n int64, err error) {
	db, err := connect(ctx, dsn)
	if err != nil {
		return 0, err
	}
	defer func() {
		if cerr := db.Close(); cerr != nil && err == nil {
			err = Scrub(fmt.Errorf("pgstore: used bytes: %w", cerr), dsn)
		}
	}()
	err = db.NewQuery(`SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0)::bigint
		FROM pg_class c JOIN pg_namespace ns ON ns.oid = c.relnamespace
		WHERE c.relkind = 'r' AND ns.nspname = current_schema() AND c.relname LIKE {:pattern}`).
		Bind(dbx.Params{"pattern": `hearth\_%`}).WithContext(ctx).Row(&n)
	if err != nil {
		return 0, Scrub(fmt.Errorf("pgstore: used bytes: %w", err), dsn)
	}
	return n, nil
}
