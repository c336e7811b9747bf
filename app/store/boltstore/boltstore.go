// Package boltstore is Hearth's default storage backend: one bbolt file.
//
// Layout: the records of bucket B live in the bbolt bucket "rec:B", the
// entries of index I in "idx:I" (key → record id), and counters in the bucket
// "seq" (key = counter name, value = 8-byte big-endian). Read transactions
// never create buckets: a bucket that was never written reads as empty.
//
// Every key and value handed out is copied out of the memory map before the
// transaction ends, because bbolt unmaps and remaps the file as it grows.
// The database is never opened with NoSync: Update returns only after the
// commit is fsync'd.
package boltstore

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync/atomic"
	"time"

	"go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"hearth/app/store"
)

// ErrCorrupt is store.ErrCorrupt, named here too for callers that already
// hold the concrete backend.
var ErrCorrupt = store.ErrCorrupt

// DefaultTimeout is how long Open waits for another process to release the
// file lock when Options.Timeout is zero.
const DefaultTimeout = time.Second

// Batching: a lone writer commits at once; concurrent writers are grouped
// into one commit (one fsync) by bbolt's Batch. bbolt's default delay of
// 10 ms would dominate a request's latency; 1 ms grouped too little under
// load: every commit rewrites a dozen B+tree paths and fsyncs, and with 64
// patients posting, `hearth bench` acknowledged 1,944 messages/s at 1 ms
// and 2,954/s at 3 ms (docs/PERFORMANCE.md). The wait is paid only when
// writers overlap.
const (
	maxBatchDelay = 3 * time.Millisecond
	maxBatchSize  = 256
)

// Options configure Open.
type Options struct {
	// Timeout bounds the wait for the file lock (DefaultTimeout when zero).
	// bbolt's own zero, "wait forever", is never used.
	Timeout time.Duration
	// ReadOnly opens an existing file for reading only (`hearth verify`):
	// a shared lock, no file created, nothing ever written, not even to
	// an empty file (which bbolt would otherwise initialise). Update fails.
	ReadOnly bool
}

// Store is a bbolt-backed store.Store.
type Store struct {
	db       *bbolt.DB
	path     string
	writers  atomic.Int64 // Updates in flight, to pick the solo or batch path
	panics   atomic.Int64 // bbolt panics and memory faults turned into errors
	released atomic.Int64 // when a transaction last released the map (UnixNano)
	measured atomic.Int64 // when a transaction last read the resident figure (UnixNano)
	fileBase int64        // file-backed resident bytes at Open (the program's pages)
	budget   int64        // the map's resident bytes allowed between releases (mapBudget)
	readOnly bool
	faults   string // the test binary's fault file (failpoint.go), "" in a clinic's build
}

var _ store.Store = (*Store)(nil)

// Open opens (creating if needed, mode 0600) the database file at path.
// If another process holds it, Open fails after opts.Timeout with an error
// wrapping store.ErrInUse; a damaged file gives an error wrapping ErrCorrupt,
// never a panic.
func Open(path string, opts Options) (*Store, error) {
	timeout := opts.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	if opts.ReadOnly {
		fi, err := os.Stat(path)
		if err != nil {
			return nil, fmt.Errorf("boltstore: open %s: %w", path, err)
		}
		if fi.Size() == 0 {
			return nil, fmt.Errorf("boltstore: open %s: %w (the file is empty: 0 bytes)", path, store.ErrCorrupt)
		}
	}
	db, err := openBolt(path, &bbolt.Options{Timeout: timeout, ReadOnly: opts.ReadOnly})
	if err != nil {
		return nil, err
	}
	// A file cut short (a copy interrupted, a full disk) still has valid
	// meta pages; reading past its end would fault. Its high-water mark
	// says how long it must be.
	if err := checkLength(db); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("boltstore: open %s: %w", path, err)
	}
	db.MaxBatchDelay = maxBatchDelay
	db.MaxBatchSize = maxBatchSize
	return &Store{db: db, path: path, readOnly: opts.ReadOnly, faults: faultFile(),
		fileBase: fileResident(), budget: mapBudget}, nil
}

// RecoveredPanics is how many times a transaction hit a damaged page and
// bbolt's panic (or a memory fault) was turned into an error wrapping
// ErrCorrupt.
func (s *Store) RecoveredPanics() int64 { return s.panics.Load() }

// guard turns a panic or memory fault inside a transaction into an error
// wrapping ErrCorrupt. bbolt's View and Update roll back in their own
// deferred calls, so the transaction's locks are released first.
func (s *Store) guard(err *error) {
	if r := recover(); r != nil {
		s.panics.Add(1)
		*err = fmt.Errorf("boltstore: %w: a damaged page (%v)", store.ErrCorrupt, r)
	}
}

// openBolt opens the file, turning bbolt's panics and memory faults on a
// damaged file (it reads the meta and freelist pages straight from the map)
// into ErrCorrupt.
func openBolt(path string, o *bbolt.Options) (db *bbolt.DB, err error) {
	var f *os.File
	o.OpenFile = func(name string, flag int, perm os.FileMode) (*os.File, error) {
		fh, err := os.OpenFile(name, flag, perm)
		f = fh
		return fh, err
	}
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			// bbolt cannot be closed half-open; release the descriptor at
			// least. The mapping (and with it the flock) lives until exit.
			if f != nil {
				_ = f.Close()
			}
			db, err = nil, fmt.Errorf("boltstore: open %s: %w (%v)", path, store.ErrCorrupt, r)
		}
	}()
	db, err = bbolt.Open(path, 0o600, o)
	switch {
	case err == nil:
		return db, nil
	case errors.Is(err, berrors.ErrTimeout):
		return nil, fmt.Errorf("boltstore: open %s: %w", path, store.ErrInUse)
	case errors.Is(err, berrors.ErrInvalid), errors.Is(err, berrors.ErrChecksum),
		errors.Is(err, berrors.ErrVersionMismatch), errors.Is(err, io.EOF),
		errors.Is(err, io.ErrUnexpectedEOF),
		strings.Contains(err.Error(), "file size too small"): // bbolt has no sentinel for it
		return nil, fmt.Errorf("boltstore: open %s: %w (%w)", path, store.ErrCorrupt, err)
	default:
		return nil, fmt.Errorf("boltstore: open %s: %w", path, err)
	}
}

func checkLength(db *bbolt.DB) error {
	fi, err := os.Stat(db.Path())
	if err != nil {
		return err
	}
	var want int64
	if err := db.View(func(tx *bbolt.Tx) error { want = tx.Size(); return nil }); err != nil {
		return err
	}
	if fi.Size() < want {
		return fmt.Errorf("%w (file is %d bytes, its pages need %d: truncated?)", store.ErrCorrupt, fi.Size(), want)
	}
	return nil
}

// Path returns the database file's path.
func (s *Store) Path() string { return s.path }

// Update runs fn in a read-write transaction and returns after the commit
// is fsync'd. Concurrent Updates are grouped with bbolt's Batch, which may
// run fn more than once: again when another fn in its batch fails (the
// batch is rolled back and retried without it), and once more alone when
// fn itself returns an error. Only the final run's writes are kept, so fn
// must have no effect outside tx. A context cancelled before fn's final
// run makes Update return ctx.Err() with nothing written.
func (s *Store) Update(ctx context.Context, fn func(store.Tx) error) (err error) {
	if err := ctx.Err(); err != nil {
		return err
	}
	run := func(btx *bbolt.Tx) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := fn(&tx{btx: btx}); err != nil {
			return err
		}
		// Writers read pages through the map as readers do (the commit
		// after fn moves the map only if the file grew).
		s.maybeRelease(btx)
		// A test's failpoint: the commit fails as a failing disk's would.
		return s.injectedFault()
	}
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer s.guard(&err)
	// A lone writer need not wait MaxBatchDelay for company.
	n := s.writers.Add(1)
	defer s.writers.Add(-1)
	if n == 1 {
		return s.db.Update(run)
	}
	return s.db.Batch(run)
}

// View runs fn in a read-only snapshot.
func (s *Store) View(ctx context.Context, fn func(store.Tx) error) (err error) {
	if err := ctx.Err(); err != nil {
		return err
	}
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer s.guard(&err)
	return s.db.View(func(btx *bbolt.Tx) error {
		err := fn(&tx{btx: btx})
		s.maybeRelease(btx)
		return err
	})
}

// releaseEvery is how often a transaction also takes the database map's
// pages out of the process's resident memory (releaseMap). bbolt reads
// through a memory map, and the kernel maps at least 64 KB (a whole large
// folio, up to megabytes, when the page cache has one) around every page a
// B+tree walk touches, so the resident figure grows toward the file's size
// (176 MB of a 1.8 GB store in `hearth bench`; 231 MB touched within 10 s
// while patients signed in), though those pages are the kernel's page
// cache, not the server's memory. What is read again is mapped again (a
// minor fault; the hot pages are few).
const releaseEvery = 2 * time.Second

// mapBudget bounds the map's share of the resident figure between those
// releases: a busy two seconds (patients sending while staff page through
// the inbox) touched pages in enough large folios to map 250 MB. Every
// measureEvery a transaction reads the process's file-backed resident
// memory (/proc/self/statm, a few microseconds) and releases the map when
// it has grown past mapBudget since Open. Releasing costs a walk of the
// page tables and, afterwards, a minor fault per hot page.
const (
	mapBudget    = 32 << 20
	measureEvery = 100 * time.Millisecond
)

// maybeRelease releases the map if no transaction has for releaseEvery, or
// if it has grown past the budget. The caller's transaction keeps the map
// where it is.
func (s *Store) maybeRelease(btx *bbolt.Tx) {
	now := time.Now().UnixNano()
	last := s.released.Load()
	if now-last >= int64(releaseEvery) {
		if s.released.CompareAndSwap(last, now) {
			releaseMap(s.db, btx.Size())
		}
		return
	}
	seen := s.measured.Load()
	if now-seen < int64(measureEvery) || !s.measured.CompareAndSwap(seen, now) {
		return
	}
	if r := fileResident(); r >= 0 && r-s.fileBase > s.budget {
		s.released.Store(now)
		releaseMap(s.db, btx.Size())
	}
}

// Backup writes a consistent copy of the database file (bbolt's own format,
// which Restore reads) while writers go on. Cancelling ctx stops it.
func (s *Store) Backup(ctx context.Context, w io.Writer) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if ctx.Done() != nil {
		w = ctxWriter{ctx: ctx, w: w}
	}
	var n int64
	err := s.db.View(func(btx *bbolt.Tx) error {
		var err error
		n, err = btx.WriteTo(w)
		return err
	})
	if err != nil {
		return n, fmt.Errorf("boltstore: backup: %w", err)
	}
	return n, nil
}

type ctxWriter struct {
	ctx context.Context
	w   io.Writer
}

func (c ctxWriter) Write(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.w.Write(p)
}

// Check verifies bbolt's page structure (tx.Check) and returns every problem
// found as one error wrapping ErrCorrupt, naming the damaged buckets and
// pages.
//
// It runs in two parts. First every key and value is read, the slow part
// on a large store (every page comes from disk), in a read transaction:
// writers go on meanwhile. Then bbolt's own page check, which reads the
// shared freelist and so is only safe from a writable transaction: writers
// wait for this part only, and it finds the pages in the page cache. A
// read-only store has no writers, so a read transaction does both.
func (s *Store) Check(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return check(ctx, s.db, !s.readOnly)
}

func check(ctx context.Context, db *bbolt.DB, writable bool) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("boltstore: check: %w (%v)", store.ErrCorrupt, r)
		}
	}()
	// tx.Check walks pages in a goroutine of its own, where a wild page
	// pointer would be a fatal fault rather than a panic. Touch every page
	// here first, in a goroutine that turns faults into panics, from a
	// snapshot that does not hold writers up.
	rtx, err := db.Begin(false)
	if err != nil {
		return fmt.Errorf("boltstore: check: %w", err)
	}
	werr, size := walk(ctx, rtx), rtx.Size()
	_ = rtx.Rollback()
	if werr != nil {
		releaseMap(db, size)
		return werr
	}
	btx, err := db.Begin(writable)
	if err != nil {
		return fmt.Errorf("boltstore: check: %w", err)
	}
	defer func() { _ = btx.Rollback() }()
	// The check reads every page through bbolt's memory map. Those pages
	// are not the server's working set: once the check is done they leave
	// the process's resident memory (a 1.7 GB store otherwise stayed
	// resident in full after every start).
	defer releaseMap(db, btx.Size())
	var errs []error
	total := 0
	for err := range btx.Check() {
		total++
		if len(errs) < 20 {
			errs = append(errs, err)
		}
	}
	if total > 0 {
		if total > len(errs) {
			errs = append(errs, fmt.Errorf("and %d more", total-len(errs)))
		}
		return fmt.Errorf("boltstore: check: %w: %w", store.ErrCorrupt, errors.Join(errs...))
	}
	return nil
}

// walk reads every key and value of every bucket, recovering the panics
// (and, with SetPanicOnFault, memory faults) a damaged page causes. Each
// bucket is read on its own, so the error names every damaged one.
func walk(ctx context.Context, btx *bbolt.Tx) error {
	var names []string
	if err := safely(func() error {
		return btx.ForEach(func(name []byte, _ *bbolt.Bucket) error {
			names = append(names, string(name))
			return nil
		})
	}); err != nil {
		return fmt.Errorf("boltstore: check: %w: the list of buckets is damaged (%v)", store.ErrCorrupt, err)
	}
	var errs []error
	var sink byte
	n := 0
	for _, name := range names {
		err := safely(func() error {
			b := btx.Bucket([]byte(name))
			if b == nil {
				return errors.New("bucket missing")
			}
			return b.ForEach(func(k, v []byte) error {
				if n++; n%4096 == 0 {
					if err := ctx.Err(); err != nil {
						return err
					}
				}
				// Touch the first and last byte so overflow pages are read.
				if len(k) > 0 {
					sink ^= k[len(k)-1]
				}
				if len(v) > 0 {
					sink ^= v[0] ^ v[len(v)-1]
				}
				return nil
			})
		})
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("bucket %q is damaged (%v)", name, err))
		}
	}
	_ = sink
	if len(errs) > 0 {
		return fmt.Errorf("boltstore: check: %w: %w", store.ErrCorrupt, errors.Join(errs...))
	}
	return nil
}

// safely runs fn, turning a panic or memory fault into an error.
func safely(fn func() error) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%v", r)
		}
	}()
	return fn()
}

// Close closes the database.
func (s *Store) Close() error {
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("boltstore: close: %w", err)
	}
	return nil
}

// Restore creates the database file path from r, a Backup's output. It
// refuses to replace an existing file. The copy is written to a temporary
// file in the same directory, fsync'd, opened and checked, and only then
// put in place (no-clobber) and the directory fsync'd, so path either does
// not exist or holds a complete, checked database.
func Restore(path string, r io.Reader) (err error) {
	if _, err := os.Lstat(path); err == nil {
		return fmt.Errorf("boltstore: restore: %s: %w", path, os.ErrExist)
	} else if !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("boltstore: restore: %w", err)
	}
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".restore-*")
	if err != nil {
		return fmt.Errorf("boltstore: restore: %w", err)
	}
	tmp := f.Name()
	defer func() {
		if f != nil {
			_ = f.Close()
		}
		if err != nil {
			_ = os.Remove(tmp)
		}
	}()
	br := bufio.NewReaderSize(r, 64<<10)
	if head, _ := br.Peek(len(store.DumpMagic)); string(head) == store.DumpMagic {
		// A backend-neutral dump (a clinic group's PostgreSQL backup):
		// load its entries into the new file.
		_ = f.Close()
		f = nil
		if err := loadDump(tmp, br); err != nil {
			return fmt.Errorf("boltstore: restore: %w", err)
		}
	} else {
		n, err := io.Copy(f, br)
		if err != nil {
			return fmt.Errorf("boltstore: restore: %w", err)
		}
		if n == 0 {
			// bbolt would quietly initialise an empty file as a new database.
			return fmt.Errorf("boltstore: restore: the backup is empty: %w", store.ErrCorrupt)
		}
		if err := f.Chmod(0o600); err != nil {
			return fmt.Errorf("boltstore: restore: %w", err)
		}
		if err := f.Sync(); err != nil {
			return fmt.Errorf("boltstore: restore: %w", err)
		}
		if err := f.Close(); err != nil {
			f = nil
			return fmt.Errorf("boltstore: restore: %w", err)
		}
		f = nil
	}

	s, err := Open(tmp, Options{})
	if err != nil {
		return fmt.Errorf("boltstore: restore: %w", err)
	}
	err = s.Check(context.Background())
	if cerr := s.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("boltstore: restore: %w", err)
	}

	// Link then unlink is a rename that, unlike rename, fails if path
	// appeared meanwhile.
	if err := os.Link(tmp, path); err == nil {
		if err := os.Remove(tmp); err != nil {
			return fmt.Errorf("boltstore: restore: %w", err)
		}
	} else if errors.Is(err, os.ErrExist) {
		return fmt.Errorf("boltstore: restore: %s: %w", path, os.ErrExist)
	} else {
		// No hard links on this filesystem: rename after a last look.
		if _, serr := os.Lstat(path); serr == nil {
			return fmt.Errorf("boltstore: restore: %s: %w", path, os.ErrExist)
		}
		if err := os.Rename(tmp, path); err != nil {
			return fmt.Errorf("boltstore: restore: %w", err)
		}
	}
	return syncDir(dir)
}

// loadDump imports a store dump into the (empty) database file at path.
func loadDump(path string, r io.Reader) error {
	s, err := Open(path, Options{})
	if err != nil {
		return err
	}
	_, err = store.ReadDump(r, 5000, func(batch []store.Entry) error {
		return s.Import(context.Background(), batch)
	})
	if cerr := s.Close(); err == nil {
		err = cerr
	}
	return err
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("boltstore: restore: %w", err)
	}
	if err := d.Sync(); err != nil {
		return errors.Join(fmt.Errorf("boltstore: restore: sync %s: %w", dir, err), d.Close())
	}
	if err := d.Close(); err != nil {
		return fmt.Errorf("boltstore: restore: %w", err)
	}
	return nil
}

// UsedBytes is the space the database's pages occupy in the file: its high
// water mark less the free pages (the file itself grows ahead in large
// steps, so its length overstates what the data needs).
func UsedBytes(path string) (int64, error) {
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		return 0, err
	}
	var n int64
	err = db.View(func(tx *bbolt.Tx) error {
		free := db.Stats().FreePageN + db.Stats().PendingPageN
		n = tx.Size() - int64(free)*int64(db.Info().PageSize)
		return nil
	})
	if err := errors.Join(err, db.Close()); err != nil {
		return 0, err
	}
	return n, nil
}
