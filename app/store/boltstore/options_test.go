package boltstore

import (
	"context"
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"

	"go.etcd.io/bbolt"

	"hearth/app/store"
)

// metaFreelist reads the freelist page id recorded in the newer of a closed
// file's two meta pages (bbolt's on-disk layout: a 16-byte page header, then
// magic, version, page size and flags as uint32s, the root bucket's page id
// and sequence, and the freelist's page id, then the high-water mark and the
// transaction id). noFreelist is bbolt's marker for "freelist not synced".
func metaFreelist(t *testing.T, path string) (freelist uint64, noFreelist bool) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	const header = 16
	le := binary.LittleEndian
	if len(b) < header+16 {
		t.Fatalf("%s is %d bytes: no meta page", path, len(b))
	}
	pageSize := int(le.Uint32(b[header+8:]))
	var bestTx uint64
	found := false
	for _, off := range []int{0, pageSize} {
		m := b[off+header:]
		if le.Uint32(m) != 0xED0CDAED { // bbolt's magic
			continue
		}
		fl := le.Uint64(m[32:])
		txid := le.Uint64(m[48:])
		if !found || txid > bestTx {
			bestTx, freelist, found = txid, fl, true
		}
	}
	if !found {
		t.Fatalf("%s has no valid meta page", path)
	}
	return freelist, freelist == 0xffffffffffffffff
}

// Checklist line 3: the options Hearth opens bbolt with are asserted on a
// real file, and the file itself records the freelist mode the options
// promise. NoSync would acknowledge commits the disk never saw;
// NoFreelistSync (an unsynced freelist, rebuilt by a scan at every open)
// must agree with what the file says, or a file written under one setting
// and opened under the other would be trusted with a stale freelist.
func TestOpenOptionsAgreeWithTheFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hearth.db")
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if s.db.NoSync {
		t.Fatal("NoSync is set: commits would be acknowledged before they reach the disk")
	}
	if s.db.NoFreelistSync {
		t.Fatal("NoFreelistSync is set: Hearth keeps the freelist on disk")
	}
	if s.db.MaxBatchDelay != maxBatchDelay || s.db.MaxBatchSize != maxBatchSize {
		t.Fatalf("batching %v/%d, want %v/%d", s.db.MaxBatchDelay, s.db.MaxBatchSize, maxBatchDelay, maxBatchSize)
	}
	if err := s.Update(context.Background(), func(tx store.Tx) error {
		return tx.Put("msg", "1", []byte("sealed"))
	}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if fl, none := metaFreelist(t, path); none {
		t.Fatal("the file records no synced freelist, but Hearth opened it with NoFreelistSync off")
	} else if types, _ := pageTypes(t, path); types[int(fl)] != "freelist" {
		t.Fatalf("meta names page %d as the freelist, which is a %q page", fl, types[int(fl)])
	}
}

// A file whose freelist was not synced (written by a tool that set
// NoFreelistSync) is brought back in line when Hearth opens it: the stored
// mode then matches Hearth's options, before any request is served.
func TestOpenSyncsAFreelistLeftUnsynced(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hearth.db")
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{NoFreelistSync: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(func(tx *bbolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists([]byte("rec:msg"))
		if err != nil {
			return err
		}
		return b.Put([]byte("1"), []byte("sealed"))
	}); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if _, none := metaFreelist(t, path); !none {
		t.Fatal("setup: the file should record an unsynced freelist")
	}

	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if s.db.NoFreelistSync || s.db.NoSync {
		t.Fatalf("opened with NoFreelistSync=%v NoSync=%v", s.db.NoFreelistSync, s.db.NoSync)
	}
	var got []byte
	if err := s.View(context.Background(), func(tx store.Tx) error {
		var err error
		got, err = tx.Get("msg", "1")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if string(got) != "sealed" {
		t.Fatalf("read %q", got)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, none := metaFreelist(t, path); none {
		t.Fatal("after Hearth opened it the file still records an unsynced freelist")
	}
}
