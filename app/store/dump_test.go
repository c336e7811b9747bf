package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"runtime"
	"testing"
)

// sliceCopier exports a fixed list of entries.
type sliceCopier []Entry

func (s sliceCopier) Export(_ context.Context, fn func(Entry) error) error {
	for _, e := range s {
		if err := fn(e); err != nil {
			return err
		}
	}
	return nil
}

func (s sliceCopier) Import(context.Context, []Entry) error { return nil }

func dumpOf(tb testing.TB, es ...Entry) []byte {
	var buf bytes.Buffer
	if _, err := WriteDump(context.Background(), &buf, sliceCopier(es)); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

var dumpEntries = []Entry{
	{Kind: KindRecord, Name: "items", Key: []byte("0b6c7a36-1d1f-4c65-9b53-7a0e0f1d2c3e"), Value: []byte("age-sealed bytes")},
	{Kind: KindIndex, Name: "patients_by_blind", Key: []byte{0, 1, 2}, Value: []byte("id")},
	{Kind: KindSeq, Name: "events", Value: []byte{0, 0, 0, 0, 0, 0, 0, 9}},
}

// TestReadDumpLengthClaimsCostOnlyWhatArrives: a dump whose entry claims a
// gigabyte and then ends is damaged, and reading it allocates about what
// the stream held, not what it claimed.
func TestReadDumpLengthClaimsCostOnlyWhatArrives(t *testing.T) {
	forged := append([]byte(DumpMagic), byte(KindRecord))
	forged = binary.AppendUvarint(forged, 1<<30)
	forged = append(forged, "items"...)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := ReadDump(bytes.NewReader(forged), 10, func([]Entry) error { return nil })
	runtime.ReadMemStats(&after)
	if !errors.Is(err, ErrDumpDamaged) {
		t.Fatalf("a cut dump: %v", err)
	}
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 16<<20 {
		t.Errorf("reading a 30-byte dump that claims 1 GiB allocated %d bytes", grew)
	}
}

// FuzzReadDump: any stream either reads back as entries whose count the
// stream's end confirms, or fails as damaged; never a panic, and memory
// follows the bytes given, not the lengths claimed.
func FuzzReadDump(f *testing.F) {
	whole := dumpOf(f, dumpEntries...)
	f.Add(whole)
	f.Add(dumpOf(f))
	f.Add(whole[:len(whole)-1])
	f.Add(whole[:len(DumpMagic)+3])
	f.Add([]byte(DumpMagic + "\x09"))
	f.Add(append([]byte(DumpMagic+"\x01"), 0xff, 0xff, 0xff, 0xff, 0x0f))
	f.Add([]byte("HEARTH-STORE-DUMP 2\n\x00\x00"))
	f.Fuzz(func(t *testing.T, b []byte) {
		var got []Entry
		n, err := ReadDump(bytes.NewReader(b), 2, func(es []Entry) error {
			if len(es) == 0 || len(es) > 2 {
				t.Fatalf("a batch of %d", len(es))
			}
			got = append(got, es...)
			return nil
		})
		if err != nil {
			if !errors.Is(err, ErrDumpDamaged) {
				t.Fatalf("not marked damaged: %v", err)
			}
			return
		}
		if n != len(got) {
			t.Fatalf("ReadDump says %d entries, handed over %d", n, len(got))
		}
		size := 0
		for _, e := range got {
			if e.Kind < KindRecord || e.Kind > KindSeq || (e.Kind == KindSeq && e.Key != nil) {
				t.Fatalf("entry %+v", e)
			}
			size += len(e.Name) + len(e.Key) + len(e.Value)
		}
		if size > len(b) {
			t.Fatalf("%d bytes of entries from a %d-byte stream", size, len(b))
		}
		// What reads back writes a dump that reads back the same.
		var again []Entry
		if _, err := ReadDump(bytes.NewReader(dumpOf(t, got...)), 100, func(es []Entry) error {
			again = append(again, es...)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if len(again) != len(got) {
			t.Fatalf("%d entries written, %d read back", len(got), len(again))
		}
		for i := range got {
			if got[i].Kind != again[i].Kind || got[i].Name != again[i].Name || !bytes.Equal(got[i].Key, again[i].Key) || !bytes.Equal(got[i].Value, again[i].Value) {
				t.Fatalf("entry %d: %+v read back as %+v", i, got[i], again[i])
			}
		}
	})
}
