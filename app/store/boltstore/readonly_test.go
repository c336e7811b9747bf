package boltstore

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"hearth/app/store"
)

func fileHash(t *testing.T, path string) [32]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(b)
}

func TestReadOnlyNeverWrites(t *testing.T) {
	empty := filepath.Join(t.TempDir(), "empty.db")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(empty, Options{ReadOnly: true}); !errors.Is(err, store.ErrCorrupt) {
		t.Fatalf("a 0-byte file opened read-only: %v, want ErrCorrupt", err)
	}
	if fi, _ := os.Stat(empty); fi.Size() != 0 {
		t.Fatalf("the 0-byte file is now %d bytes", fi.Size())
	}
	if _, err := Open(filepath.Join(t.TempDir(), "none.db"), Options{ReadOnly: true}); err == nil {
		t.Fatal("a missing file opened read-only")
	}

	path, want := writeFixture(t)
	before := fileHash(t, path)
	s, err := Open(path, Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Check(context.Background()); err != nil {
		t.Fatalf("check of a sound file, read-only: %v", err)
	}
	n := 0
	if err := s.View(context.Background(), func(tx store.Tx) error {
		return tx.Each("items", "", func(id string, v []byte) error {
			if n++; !bytes.Equal(v, want[id]) {
				return fmt.Errorf("%s differs", id)
			}
			return nil
		})
	}); err != nil || n != len(want) {
		t.Fatalf("read %d of %d: %v", n, len(want), err)
	}
	if err := s.Update(context.Background(), func(tx store.Tx) error { return tx.Put("items", "x", []byte("y")) }); err == nil {
		t.Fatal("a read-only store took a write")
	}
	// A second reader may share the file; a writer may not.
	s2, err := Open(path, Options{ReadOnly: true})
	if err != nil {
		t.Fatalf("a second read-only open: %v", err)
	}
	if err := s2.Close(); err != nil {
		t.Fatalf("closing the second reader: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("closing the read-only store: %v", err)
	}
	if fileHash(t, path) != before {
		t.Fatal("the read-only store changed the file")
	}
}

// TestDamageIsNamedAndPanicsRecovered flips the headers of the items
// bucket's pages: Check names the bucket or the pages, reads return
// ErrCorrupt instead of panicking, and the file is never changed.
func TestDamageIsNamedAndPanicsRecovered(t *testing.T) {
	src, _ := writeFixture(t)
	orig, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	types, pageSize := pageTypes(t, src)
	data := bytes.Clone(orig)
	flipped := 0
	for id, typ := range types {
		if typ == "branch" || (typ == "leaf" && id%3 == 0) {
			for i := 8; i < 16; i++ { // flags, count, overflow
				data[id*pageSize+i] ^= 0xa5
			}
			flipped++
		}
	}
	path := filepath.Join(t.TempDir(), "damaged.db")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	before := fileHash(t, path)
	s, err := Open(path, Options{ReadOnly: true})
	if err != nil {
		if !errors.Is(err, store.ErrCorrupt) {
			t.Fatalf("open: %v", err)
		}
		return
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("closing the damaged store: %v", err)
		}
	})
	err = s.Check(context.Background())
	if !errors.Is(err, store.ErrCorrupt) || !(strings.Contains(err.Error(), "bucket") || strings.Contains(err.Error(), "page")) {
		t.Fatalf("check after %d pages were damaged: %v", flipped, err)
	}
	err = s.View(context.Background(), func(tx store.Tx) error {
		return tx.Each("items", "", func(string, []byte) error { return nil })
	})
	if err != nil && !errors.Is(err, store.ErrCorrupt) {
		t.Fatalf("reading the damaged bucket: %v, want ErrCorrupt", err)
	}
	if err != nil && s.RecoveredPanics() == 0 && !strings.Contains(err.Error(), "damaged") {
		t.Fatalf("a damaged read was not counted: %v", err)
	}
	t.Logf("check: %.300s; read: %v; recovered panics: %d", s.Check(context.Background()), err, s.RecoveredPanics())
	if fileHash(t, path) != before {
		t.Fatal("checking the damaged file changed it")
	}
}
