package boltstore

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"

	"go.etcd.io/bbolt"

	"hearth/app/store"
)

// tx adapts a bbolt transaction to store.Tx. Everything it returns is a
// copy: bbolt's slices point into the memory map, which is unmapped when
// the file grows.
type tx struct {
	btx *bbolt.Tx
}

var _ store.Tx = (*tx)(nil)

var seqBucket = []byte("seq")

func bucketName(prefix, name string) ([]byte, error) {
	if !store.ValidName(name) {
		return nil, fmt.Errorf("boltstore: %q: %w", name, store.ErrBadName)
	}
	return []byte(prefix + name), nil
}

// bucket returns the bbolt bucket, or nil if it does not exist yet.
func (t *tx) bucket(prefix, name string) (*bbolt.Bucket, error) {
	bn, err := bucketName(prefix, name)
	if err != nil {
		return nil, err
	}
	return t.btx.Bucket(bn), nil
}

// writeBucket returns the bbolt bucket, creating it if needed; in a read
// transaction that fails with bbolt's ErrTxNotWritable.
func (t *tx) writeBucket(prefix, name string) (*bbolt.Bucket, error) {
	bn, err := bucketName(prefix, name)
	if err != nil {
		return nil, err
	}
	b := t.btx.Bucket(bn)
	if b == nil {
		if b, err = t.btx.CreateBucketIfNotExists(bn); err != nil {
			return nil, err
		}
	}
	if prefix == recPrefix {
		// Records are written in id order (time-ordered ids, sequence
		// numbers), so pages can be filled before they split; bbolt's default
		// of one half would leave every page half empty. Index keys arrive
		// in any order and keep the default.
		b.FillPercent = recordFillPercent
	}
	return b, nil
}

const (
	recPrefix         = "rec:"
	idxPrefix         = "idx:"
	recordFillPercent = 0.95
)

// get returns the value stored exactly under key, ok=false if there is none.
// bbolt can hand back a nil slice for an empty value, so presence is decided
// by the key, not by the value being non-nil.
func get(b *bbolt.Bucket, key []byte) ([]byte, bool) {
	if b == nil {
		return nil, false
	}
	k, v := b.Cursor().Seek(key)
	if k == nil || !bytes.Equal(k, key) {
		return nil, false
	}
	return v, true
}

func clone(b []byte) []byte { return append([]byte{}, b...) }

func (t *tx) Get(bucket, id string) ([]byte, error) {
	b, err := t.bucket("rec:", bucket)
	if err != nil {
		return nil, err
	}
	v, ok := get(b, []byte(id))
	if !ok {
		return nil, fmt.Errorf("boltstore: get %s %q: %w", bucket, id, store.ErrNotFound)
	}
	return clone(v), nil
}

// GetMany reads each id in turn: bbolt is in-process, so one lookup per
// id costs no round trip.
func (t *tx) GetMany(bucket string, ids []string) ([][]byte, error) {
	b, err := t.bucket(recPrefix, bucket)
	if err != nil {
		return nil, err
	}
	out := make([][]byte, len(ids))
	for i, id := range ids {
		if v, ok := get(b, []byte(id)); ok {
			out[i] = clone(v)
		}
	}
	return out, nil
}

func (t *tx) Put(bucket, id string, value []byte) error {
	if id == "" {
		return fmt.Errorf("boltstore: put %s: empty id", bucket)
	}
	b, err := t.writeBucket("rec:", bucket)
	if err != nil {
		return fmt.Errorf("boltstore: put %s: %w", bucket, err)
	}
	// bbolt keeps the value slice until commit, and a batched commit comes
	// after fn returns: the caller must be free to reuse its buffer.
	if err := b.Put([]byte(id), clone(value)); err != nil {
		return fmt.Errorf("boltstore: put %s: %w", bucket, err)
	}
	return nil
}

func (t *tx) Delete(bucket, id string) error {
	b, err := t.bucket("rec:", bucket)
	if err != nil || b == nil || id == "" {
		return err
	}
	if err := b.Delete([]byte(id)); err != nil {
		return fmt.Errorf("boltstore: delete %s: %w", bucket, err)
	}
	return nil
}

func (t *tx) Each(bucket, after string, fn func(id string, value []byte) error) error {
	b, err := t.bucket("rec:", bucket)
	if err != nil || b == nil {
		return err
	}
	c := b.Cursor()
	var k, v []byte
	if after == "" {
		k, v = c.First()
	} else {
		k, v = c.Seek([]byte(after))
		if k != nil && string(k) == after {
			k, v = c.Next()
		}
	}
	for ; k != nil; k, v = c.Next() {
		if err := fn(string(k), clone(v)); err != nil {
			if errors.Is(err, store.ErrStop) {
				return nil
			}
			return err
		}
	}
	return nil
}

func (t *tx) Count(bucket string) (int, error) {
	b, err := t.bucket("rec:", bucket)
	if err != nil || b == nil {
		return 0, err
	}
	if !t.btx.Writable() {
		// Stats walks pages, not keys: cheaper, and exact for a bucket
		// with no sub-buckets, but blind to uncommitted writes.
		return b.Stats().KeyN, nil
	}
	n := 0
	c := b.Cursor()
	for k, _ := c.First(); k != nil; k, _ = c.Next() {
		n++
	}
	return n, nil
}

func (t *tx) SetIndex(index string, key []byte, id string) error {
	if id == "" {
		return fmt.Errorf("boltstore: set index %s: empty id", index)
	}
	b, err := t.writeBucket(idxPrefix, index)
	if err != nil {
		return fmt.Errorf("boltstore: set index %s: %w", index, err)
	}
	if err := b.Put(key, []byte(id)); err != nil {
		return fmt.Errorf("boltstore: set index %s: %w", index, err)
	}
	return nil
}

func (t *tx) DeleteIndex(index string, key []byte) error {
	b, err := t.bucket(idxPrefix, index)
	if err != nil || b == nil || len(key) == 0 {
		return err
	}
	if err := b.Delete(key); err != nil {
		return fmt.Errorf("boltstore: delete index %s: %w", index, err)
	}
	return nil
}

func (t *tx) Lookup(index string, key []byte) (string, error) {
	b, err := t.bucket(idxPrefix, index)
	if err != nil {
		return "", err
	}
	v, ok := get(b, key)
	if !ok {
		return "", fmt.Errorf("boltstore: lookup %s: %w", index, store.ErrNotFound)
	}
	return string(v), nil
}

func (t *tx) Scan(index string, r store.Range, fn func(key []byte, id string) error) error {
	b, err := t.bucket(idxPrefix, index)
	if err != nil || b == nil {
		return err
	}
	c := b.Cursor()
	var k, v []byte
	var next func() ([]byte, []byte)
	if !r.Reverse {
		// Start at the larger of Prefix and After, skipping After itself.
		start := r.Prefix
		if len(r.After) > 0 && bytes.Compare(r.After, start) > 0 {
			start = r.After
		}
		if len(start) == 0 {
			k, v = c.First()
		} else {
			k, v = c.Seek(start)
		}
		if k != nil && len(r.After) > 0 && bytes.Equal(k, r.After) {
			k, v = c.Next()
		}
		next = c.Next
	} else {
		// Start at the last key below an exclusive upper bound: the
		// smaller of After and the first key past every Prefix key.
		bound := store.PrefixEnd(r.Prefix)
		if len(r.After) > 0 && (bound == nil || bytes.Compare(r.After, bound) < 0) {
			bound = r.After
		}
		if bound == nil {
			k, v = c.Last()
		} else if k, _ = c.Seek(bound); k == nil {
			k, v = c.Last()
		} else {
			k, v = c.Prev()
		}
		next = c.Prev
	}
	for n := 0; k != nil && bytes.HasPrefix(k, r.Prefix); k, v = next() {
		if r.Limit > 0 && n >= r.Limit {
			break
		}
		n++
		if err := fn(clone(k), string(v)); err != nil {
			if errors.Is(err, store.ErrStop) {
				return nil
			}
			return err
		}
	}
	return nil
}

func (t *tx) NextSeq(name string) (uint64, error) {
	if !store.ValidName(name) {
		return 0, fmt.Errorf("boltstore: counter %q: %w", name, store.ErrBadName)
	}
	b, err := t.btx.CreateBucketIfNotExists(seqBucket)
	if err != nil {
		return 0, fmt.Errorf("boltstore: next seq %s: %w", name, err)
	}
	var n uint64
	if v, ok := get(b, []byte(name)); ok {
		if len(v) != 8 {
			return 0, fmt.Errorf("boltstore: next seq %s: %w (counter is %d bytes)", name, store.ErrCorrupt, len(v))
		}
		n = binary.BigEndian.Uint64(v)
	}
	n++
	if err := b.Put([]byte(name), binary.BigEndian.AppendUint64(nil, n)); err != nil {
		return 0, fmt.Errorf("boltstore: next seq %s: %w", name, err)
	}
	return n, nil
}
