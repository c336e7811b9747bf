package boltstore

import (
	"bytes"
	"context"
	"encoding/binary"
	"sort"
	"strings"

	"go.etcd.io/bbolt"

	"hearth/app/store"
)

// Export visits every record, index entry and counter of one read snapshot,
// ordered by kind, name and key (bbolt keeps buckets and keys in byte order).
func (s *Store) Export(ctx context.Context, fn func(store.Entry) error) error {
	err := s.db.View(func(btx *bbolt.Tx) error {
		type named struct {
			kind store.EntryKind
			name string
			b    *bbolt.Bucket
		}
		var all []named
		err := btx.ForEach(func(name []byte, b *bbolt.Bucket) error {
			n := string(name)
			switch {
			case strings.HasPrefix(n, recPrefix):
				all = append(all, named{store.KindRecord, strings.TrimPrefix(n, recPrefix), b})
			case strings.HasPrefix(n, idxPrefix):
				all = append(all, named{store.KindIndex, strings.TrimPrefix(n, idxPrefix), b})
			case bytes.Equal(name, seqBucket):
				all = append(all, named{store.KindSeq, "", b})
			}
			return nil
		})
		if err != nil {
			return err
		}
		sort.SliceStable(all, func(i, j int) bool {
			if all[i].kind != all[j].kind {
				return all[i].kind < all[j].kind
			}
			return all[i].name < all[j].name
		})
		for _, nb := range all {
			err := nb.b.ForEach(func(k, v []byte) error {
				if err := ctx.Err(); err != nil {
					return err
				}
				e := store.Entry{Kind: nb.kind, Name: nb.name, Key: clone(k), Value: clone(v)}
				if nb.kind == store.KindSeq {
					e.Name, e.Key = string(k), nil
				}
				return fn(e)
			})
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err == store.ErrStop {
		return nil
	}
	return err
}

// Import writes entries in one durable transaction (store.ImportEntries):
// records and index entries replace what is there; counters only move
// forwards.
func (s *Store) Import(ctx context.Context, entries []store.Entry) error {
	return s.Update(ctx, func(stx store.Tx) error {
		t := stx.(*tx)
		return store.ImportEntries(t, entries, t.raiseSeqs)
	})
}

// raiseSeqs sets each counter to its value unless it is already there or
// beyond.
func (t *tx) raiseSeqs(counters map[string]uint64) error {
	b, err := t.btx.CreateBucketIfNotExists(seqBucket)
	if err != nil {
		return err
	}
	for name, v := range counters {
		if cur, ok := get(b, []byte(name)); ok && len(cur) == 8 && binary.BigEndian.Uint64(cur) >= v {
			continue
		}
		if err := b.Put([]byte(name), binary.BigEndian.AppendUint64(nil, v)); err != nil {
			return err
		}
	}
	return nil
}
