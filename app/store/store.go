// Package store is Hearth's storage interface: named buckets of opaque values
// (age ciphertext, sealed by the caller) and named indexes of ordered byte keys
// that point at record ids.
//
// The store knows nothing of the clinic's rules or of encryption: it never sees
// plaintext, and it must never be handed PHI in a bucket name, record id or
// index key. Index keys are built by the caller from non-PHI parts (queue,
// status, due time, ids) or from blind-index tokens.
//
// Backends: boltstore (bbolt, the default) and pgstore (PostgreSQL, for
// clinic groups running several nodes on one database).
// Every backend passes the conformance suite in storetest.
package store

import (
	"context"
	"errors"
	"io"
	"strings"
	"time"
)

// Errors every backend returns (wrapped with %w where it adds context).
var (
	// ErrNotFound: the record or index entry does not exist.
	ErrNotFound = errors.New("store: not found")
	// ErrInUse: another process holds the database (bbolt's file lock).
	ErrInUse = errors.New("store: the database is in use by another Hearth process (is `hearth serve` already running?)")
	// ErrStop, returned by a Scan or Each callback, ends the walk early without error.
	ErrStop = errors.New("store: stop")
	// ErrBadName: a bucket or index name is empty or malformed.
	ErrBadName = errors.New("store: bad bucket or index name")
	// ErrCorrupt: the backend found its own structures damaged (Open or
	// Check). It lives here, not in a backend, so callers that see only the
	// interface (hearth verify, the start-up path) can recognise it.
	ErrCorrupt = errors.New("store: the database file is damaged; restore from a backup")
)

// Store is one database.
type Store interface {
	// Update runs fn in a read-write transaction. Concurrent callers may be
	// grouped into one durable commit, so fn can run more than once and must
	// have no effect outside tx. Update returns nil only after the commit is
	// on disk (fsync'd): that is the moment a request may be acknowledged.
	Update(ctx context.Context, fn func(Tx) error) error
	// View runs fn in a read-only, consistent snapshot.
	View(ctx context.Context, fn func(Tx) error) error
	// Backup writes a consistent snapshot of the whole database to w while
	// writers go on, and returns the bytes written. Its format is the
	// backend's own; the same backend's Restore reads it.
	Backup(ctx context.Context, w io.Writer) (int64, error)
	// Check verifies the backend's own structures (bbolt's page checks).
	// It knows nothing of what values mean.
	Check(ctx context.Context) error
	// Close flushes and closes. It is safe to call once.
	Close() error
	Copier
}

// Tx is one transaction. Values and keys handed out are copies the caller
// may keep after the transaction ends.
type Tx interface {
	// Get returns a copy of the value stored under id in bucket, or ErrNotFound.
	Get(bucket, id string) ([]byte, error)
	// GetMany is Get for many ids at once, in one round trip on a backend
	// where a read is a round trip. It returns one value per id, in the
	// order of ids (an id may repeat), each a copy as Get returns. A missing
	// id gets a nil value, never ErrNotFound; a value stored empty comes back
	// as a non-nil empty slice, so the two stay apart. In a write
	// transaction it sees the transaction's own Puts and Deletes, as Get
	// does. A bad bucket name is ErrBadName.
	GetMany(bucket string, ids []string) ([][]byte, error)
	// Put stores value under id in bucket, replacing any earlier value.
	Put(bucket, id string, value []byte) error
	// Delete removes id from bucket; deleting a missing id is not an error.
	Delete(bucket, id string) error
	// Each visits the records of bucket in ascending id order, starting after
	// the id `after` ("" for the first). Returning ErrStop ends it cleanly.
	Each(bucket, after string, fn func(id string, value []byte) error) error
	// Count returns the number of records in bucket.
	Count(bucket string) (int, error)

	// SetIndex points key in index at id (replacing an earlier id).
	SetIndex(index string, key []byte, id string) error
	// DeleteIndex removes key from index; a missing key is not an error.
	DeleteIndex(index string, key []byte) error
	// Lookup returns the id that key points at in index, or ErrNotFound.
	Lookup(index string, key []byte) (string, error)
	// Scan visits index entries whose key starts with r.Prefix, in byte order
	// (descending when r.Reverse), strictly after r.After when it is set, and
	// at most r.Limit of them when r.Limit > 0. Returning ErrStop ends it.
	Scan(index string, r Range, fn func(key []byte, id string) error) error

	// NextSeq returns the next value of a monotonic counter named name,
	// starting at 1. It is part of the transaction: rolled back with it.
	NextSeq(name string) (uint64, error)
}

// Range selects index entries for Scan.
type Range struct {
	Prefix  []byte
	After   []byte
	Reverse bool
	Limit   int
}

// IndexBucket names the bucket whose records an index points at: by
// convention an index is named "<bucket>.<what>" (for example
// "items.by_queue"), so a generic check can confirm every entry resolves.
func IndexBucket(index string) string {
	b, _, _ := strings.Cut(index, ".")
	return b
}

// ValidName reports whether s can be a bucket, index or counter name:
// 1 to 64 characters of a-z, 0-9, '_' and '.'.
func ValidName(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// EntryKind says what an Entry holds.
type EntryKind uint8

// The kinds of Entry.
const (
	KindRecord EntryKind = 1 // Name is a bucket, Key a record id, Value the stored value
	KindIndex  EntryKind = 2 // Name is an index, Key an index key, Value the id it points at
	KindSeq    EntryKind = 3 // Name is a counter, Key is nil, Value its current value (8 bytes, big-endian)
)

// Entry is one stored thing in a backend-neutral form: what `hearth
// migrate-store` copies from one backend to another, and what a PostgreSQL
// backup is made of. Values stay exactly as stored (age ciphertext).
type Entry struct {
	Kind  EntryKind
	Name  string
	Key   []byte
	Value []byte
}

// Copier moves a whole database between backends. Every backend implements
// it (it is part of Store).
type Copier interface {
	// Export visits every record, index entry and counter of one consistent
	// snapshot, ordered by kind, then name, then key. Returning ErrStop from
	// fn ends it cleanly.
	Export(ctx context.Context, fn func(Entry) error) error
	// Import writes entries durably in one transaction. Records and index
	// entries replace what is there and counters never move backwards, so
	// importing the same entries twice changes nothing the second time.
	Import(ctx context.Context, entries []Entry) error
}

// Cluster is what a shared backend (PostgreSQL) adds so that several Hearth
// nodes can serve one clinic. bbolt does not implement it: one process
// holds its file. Nothing handed to a Cluster may carry PHI: channels carry
// sequence numbers and ids, counters are keyed by hashes.
type Cluster interface {
	// Notify sends payload on channel to every node listening, this one
	// included. It is not part of any transaction: callers notify after
	// their commit, and listeners treat a notification as "look again",
	// never as the data itself.
	Notify(ctx context.Context, channel, payload string) error
	// Listen calls fn for every notification on channels until ctx ends,
	// reconnecting when the connection drops. Because notifications sent
	// while it was away are lost, it calls fn(channel, "") for each channel
	// whenever it (re)connects: "you may have missed something".
	Listen(ctx context.Context, channels []string, fn func(channel, payload string)) error
	// Lead waits until this node holds the named leadership, then runs fn
	// with a context that ends when the leadership is lost (its connection
	// dropped) or ctx ends; then it waits to lead again. Exactly one node
	// leads at a time; when the leader dies, another takes over within
	// seconds. Lead returns when ctx ends.
	Lead(ctx context.Context, name string, fn func(ctx context.Context)) error
	// Hit counts one event against key in the window that started at most
	// window ago (a new window starts when the last one has ended) and
	// returns the count in the current window.
	Hit(ctx context.Context, key string, window time.Duration) (int, error)
	// Hits returns key's count in its current window (0 once it has ended).
	Hits(ctx context.Context, key string, window time.Duration) (int, error)
	// ResetHits forgets key's count.
	ResetHits(ctx context.Context, key string) error
}

// PrefixEnd returns the smallest key greater than every key starting with
// p, or nil if there is none (p empty or all 0xff): the end of a prefix
// scan, for backends.
func PrefixEnd(p []byte) []byte {
	for i := len(p) - 1; i >= 0; i-- {
		if p[i] != 0xff {
			end := append([]byte(nil), p[:i+1]...)
			end[i]++
			return end
		}
	}
	return nil
}
