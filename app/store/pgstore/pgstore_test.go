package pgstore

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"

	"hearth/app/store"
	"hearth/app/store/pgstore/pgtest"
	"hearth/app/store/storetest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func testOptions() Options {
	return Options{Migrations: os.DirFS("../../../embed/migrations")}
}

func openDSN(t testing.TB, dsn string) *Store {
	t.Helper()
	s, err := Open(context.Background(), dsn, testOptions())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func openFresh(t testing.TB) *Store { return openDSN(t, pgtest.DSN(t)) }

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return openFresh(t) })
}

func BenchmarkStore(b *testing.B) {
	var dsn string
	storetest.Bench(b, func(b *testing.B) store.Store {
		dsn = pgtest.DSN(b)
		return openDSN(b, dsn)
	})
	if dsn != "" {
		if n, err := UsedBytes(context.Background(), dsn); err == nil {
			b.Logf("last sub-benchmark's tables take %d bytes", n)
		}
	}
}

// BenchmarkBytesPerRecord reports the space one benchmark item (a 700-byte
// value and two index entries) takes in PostgreSQL.
func BenchmarkBytesPerRecord(b *testing.B) {
	dsn := pgtest.DSN(b)
	s := openDSN(b, dsn)
	ctx := context.Background()
	before, err := UsedBytes(ctx, dsn)
	if err != nil {
		b.Fatal(err)
	}
	value := make([]byte, 700)
	for i := 0; b.Loop(); i++ {
		id := fmt.Sprintf("%032x", i)
		if err := s.Update(ctx, func(tx store.Tx) error {
			if err := tx.Put("bench", id, value); err != nil {
				return err
			}
			if err := tx.SetIndex("bench.by_queue", binary.BigEndian.AppendUint64([]byte("q1|open|"+id), uint64(i)), id); err != nil {
				return err
			}
			return tx.SetIndex("bench.by_token", []byte("tok|"+id), id)
		}); err != nil {
			b.Fatal(err)
		}
	}
	after, err := UsedBytes(ctx, dsn)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(after-before)/float64(b.N), "bytes/record")
}

func put(t testing.TB, s store.Store, bucket, id string, v []byte) {
	t.Helper()
	if err := s.Update(context.Background(), func(tx store.Tx) error { return tx.Put(bucket, id, v) }); err != nil {
		t.Fatal(err)
	}
}

func get(t testing.TB, s store.Store, bucket, id string) ([]byte, error) {
	t.Helper()
	var v []byte
	var gerr error
	if err := s.View(context.Background(), func(tx store.Tx) error {
		v, gerr = tx.Get(bucket, id)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return v, gerr
}

// dump returns every entry of s, in Export's order.
func dump(t testing.TB, s store.Store) []store.Entry {
	t.Helper()
	var all []store.Entry
	if err := s.Export(context.Background(), func(e store.Entry) error {
		all = append(all, e)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return all
}

func TestRestore(t *testing.T) {
	ctx := context.Background()
	src := openFresh(t)
	if err := src.Update(ctx, func(tx store.Tx) error {
		for i := range 1500 {
			id := fmt.Sprintf("id%05d", i)
			if err := tx.Put("items", id, bytes.Repeat([]byte{byte(i)}, i%900)); err != nil {
				return err
			}
			if err := tx.SetIndex("items.by_id", []byte(id), id); err != nil {
				return err
			}
		}
		for range 42 {
			if _, err := tx.NextSeq("events"); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	var backup bytes.Buffer
	if _, err := src.Backup(ctx, &backup); err != nil {
		t.Fatal(err)
	}

	dsn := pgtest.DSN(t)
	if err := Restore(ctx, dsn, testOptions(), bytes.NewReader(backup.Bytes())); err != nil {
		t.Fatalf("Restore: %v", err)
	}
	dst := openDSN(t, dsn)
	want, got := dump(t, src), dump(t, dst)
	if len(got) != len(want) {
		t.Fatalf("restored %d entries, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i].Kind != want[i].Kind || got[i].Name != want[i].Name || !bytes.Equal(got[i].Key, want[i].Key) || !bytes.Equal(got[i].Value, want[i].Value) {
			t.Fatalf("entry %d = %+v, want %+v", i, got[i], want[i])
		}
	}
	if err := dst.Check(ctx); err != nil {
		t.Fatal(err)
	}

	// Never into a database that holds data: the restored one, or one with
	// only a counter.
	if err := Restore(ctx, dsn, testOptions(), bytes.NewReader(backup.Bytes())); !errors.Is(err, ErrNotEmpty) {
		t.Fatalf("Restore into a restored database = %v, want ErrNotEmpty", err)
	}
	counterOnly := pgtest.DSN(t)
	s := openDSN(t, counterOnly)
	if err := s.Update(ctx, func(tx store.Tx) error { _, err := tx.NextSeq("x"); return err }); err != nil {
		t.Fatal(err)
	}
	if err := Restore(ctx, counterOnly, testOptions(), bytes.NewReader(backup.Bytes())); !errors.Is(err, ErrNotEmpty) {
		t.Fatalf("Restore into a database with a counter = %v, want ErrNotEmpty", err)
	}

	// A cut or garbled dump writes nothing.
	for name, data := range map[string][]byte{
		"cut":     backup.Bytes()[:backup.Len()*2/3],
		"nearly":  backup.Bytes()[:backup.Len()-1],
		"garbage": bytes.Repeat([]byte("not a dump "), 100),
		"empty":   nil,
	} {
		dsn := pgtest.DSN(t)
		err := Restore(ctx, dsn, testOptions(), bytes.NewReader(data))
		if !errors.Is(err, store.ErrDumpDamaged) {
			t.Errorf("Restore of a %s dump = %v, want ErrDumpDamaged", name, err)
		}
		if n := len(dump(t, openDSN(t, dsn))); n != 0 {
			t.Errorf("Restore of a %s dump left %d entries", name, n)
		}
	}
}

func TestMigrationsApplyOnceUnderRace(t *testing.T) {
	dsn := pgtest.DSN(t)
	const nodes = 6
	var wg sync.WaitGroup
	errs := make(chan error, nodes)
	stores := make(chan *Store, nodes)
	start := make(chan struct{})
	for range nodes {
		wg.Go(func() {
			<-start
			s, err := Open(context.Background(), dsn, testOptions())
			if err != nil {
				errs <- err
				return
			}
			stores <- s
		})
	}
	close(start)
	wg.Wait()
	close(errs)
	close(stores)
	for err := range errs {
		t.Fatalf("concurrent Open: %v", err)
	}
	var s *Store
	for st := range stores {
		s = st
		t.Cleanup(func() { _ = st.Close() })
	}
	names, err := migrationNames(testOptions().Migrations)
	if err != nil {
		t.Fatal(err)
	}
	var rows, distinct int
	if err := s.db.NewQuery(`SELECT count(*), count(DISTINCT name) FROM hearth_migrations`).Row(&rows, &distinct); err != nil {
		t.Fatal(err)
	}
	if rows < len(names) || rows != distinct {
		t.Fatalf("hearth_migrations has %d rows (%d distinct) for %d files", rows, distinct, len(names))
	}
	if err := s.Check(context.Background()); err != nil {
		t.Fatal(err)
	}
	// Opening again applies nothing and keeps the data.
	put(t, s, "items", "a", []byte("v"))
	again := openDSN(t, dsn)
	if v, err := get(t, again, "items", "a"); err != nil || string(v) != "v" {
		t.Fatalf("after reopening: %q, %v", v, err)
	}
}

// TestTwoNodes: an Update acknowledged on one node is visible on another at
// once.
func TestTwoNodes(t *testing.T) {
	dsn := pgtest.DSN(t)
	a, b := openDSN(t, dsn), openDSN(t, dsn)
	for i := range 50 {
		id := strconv.Itoa(i)
		put(t, a, "items", id, []byte("from a "+id))
		if v, err := get(t, b, "items", id); err != nil || string(v) != "from a "+id {
			t.Fatalf("node b reads %q, %v right after node a's Update", v, err)
		}
	}
}

// TestNoLostUpdates: several nodes doing read-modify-write on one record and
// one counter never lose an update, because their write transactions are
// serial.
func TestNoLostUpdates(t *testing.T) {
	dsn := pgtest.DSN(t)
	nodes := []*Store{openDSN(t, dsn), openDSN(t, dsn), openDSN(t, dsn)}
	const workers, each = 8, 40
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, len(nodes)*workers)
	for _, s := range nodes {
		for range workers {
			wg.Go(func() {
				for range each {
					err := s.Update(ctx, func(tx store.Tx) error {
						var n uint64
						v, err := tx.Get("counters", "hits")
						switch {
						case err == nil:
							n = binary.BigEndian.Uint64(v)
						case !errors.Is(err, store.ErrNotFound):
							return err
						}
						if err := tx.Put("counters", "hits", binary.BigEndian.AppendUint64(nil, n+1)); err != nil {
							return err
						}
						seq, err := tx.NextSeq("hits")
						if err != nil {
							return err
						}
						return tx.SetIndex("counters.by_seq", binary.BigEndian.AppendUint64(nil, seq), "hits")
					})
					if err != nil {
						errs <- err
						return
					}
				}
			})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	const total = 3 * workers * each
	v, err := get(t, nodes[1], "counters", "hits")
	if err != nil || binary.BigEndian.Uint64(v) != total {
		t.Fatalf("read-modify-write counter = %x, %v; want %d", v, err, total)
	}
	entries := 0
	if err := nodes[2].View(ctx, func(tx store.Tx) error {
		return tx.Scan("counters.by_seq", store.Range{}, func(k []byte, _ string) error {
			entries++
			if binary.BigEndian.Uint64(k) != uint64(entries) {
				return fmt.Errorf("sequence %d where %d belongs", binary.BigEndian.Uint64(k), entries)
			}
			return nil
		})
	}); err != nil {
		t.Fatal(err)
	}
	if entries != total {
		t.Fatalf("%d sequence numbers handed out, want %d", entries, total)
	}
}

// TestParameterised: names, ids and keys that would break SQL built from
// strings round-trip as data.
func TestParameterised(t *testing.T) {
	s := openFresh(t)
	ctx := context.Background()
	nasty := []string{
		`'; DROP TABLE hearth_records; --`,
		`x' OR '1'='1`,
		`"); DELETE FROM hearth_index; --`,
		`{:bucket}`, `$1`, `\x00`, `%s%d`, `{{hearth_records}}`, `[[id]]`,
	}
	if err := s.Update(ctx, func(tx store.Tx) error {
		for i, id := range nasty {
			if err := tx.Put("items", id, []byte(id)); err != nil {
				return err
			}
			if err := tx.SetIndex("items.by_nasty", []byte(id), id); err != nil {
				return err
			}
			if err := tx.SetIndex("items.by_i", []byte{byte(i)}, id); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	for _, id := range nasty {
		if v, err := get(t, s, "items", id); err != nil || string(v) != id {
			t.Fatalf("Get(%q) = %q, %v", id, v, err)
		}
	}
	if err := s.View(ctx, func(tx store.Tx) error {
		for _, id := range nasty {
			got, err := tx.Lookup("items.by_nasty", []byte(id))
			if err != nil || got != id {
				return fmt.Errorf("Lookup(%q) = %q, %v", id, got, err)
			}
		}
		n := 0
		err := tx.Scan("items.by_nasty", store.Range{Prefix: []byte(`'`), After: []byte(`'; DROP`)}, func(k []byte, id string) error {
			n++
			return nil
		})
		if err != nil || n != 1 {
			return fmt.Errorf("Scan with quotes in its bounds: %d entries, %v", n, err)
		}
		c, err := tx.Count("items")
		if err != nil || c != len(nasty) {
			return fmt.Errorf("Count = %d, %v", c, err)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := s.Check(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestCheckFindsDamage(t *testing.T) {
	s := openFresh(t)
	ctx := context.Background()
	put(t, s, "items", "a", []byte("v"))
	if err := s.Check(ctx); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`INSERT INTO hearth_records (bucket, id, value) VALUES ('Bad Bucket', 'x', '')`,
		`INSERT INTO hearth_index (name, key, id) VALUES ('items.x', '', 'a')`,
		`DELETE FROM hearth_migrations`,
	} {
		if _, err := s.db.NewQuery(q).Execute(); err != nil {
			t.Fatal(err)
		}
	}
	err := s.Check(ctx)
	if !errors.Is(err, store.ErrCorrupt) {
		t.Fatalf("Check = %v, want ErrCorrupt", err)
	}
	for _, want := range []string{"bad bucket name", "bad index name, key or id", "001_store.sql is not applied"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Check's error %q does not mention %q", err, want)
		}
	}
	if _, err := s.db.NewQuery(`DROP TABLE hearth_seq`).Execute(); err != nil {
		t.Fatal(err)
	}
	if err := s.Check(ctx); !errors.Is(err, store.ErrCorrupt) || !strings.Contains(err.Error(), "hearth_seq is missing") {
		t.Fatalf("Check without hearth_seq = %v", err)
	}
}

func TestErrorsHideTheConnectionString(t *testing.T) {
	ctx := context.Background()
	for _, dsn := range []string{
		"postgres://hearth:Sup3rSecretPw@127.0.0.1:1/hearth?sslmode=disable&connect_timeout=2",
		"host=127.0.0.1 port=1 user=hearth password=Sup3rSecretPw dbname=hearth sslmode=disable connect_timeout=2",
		"postgres://hearth:Sup3rSecretPw@[bad",
	} {
		_, err := Open(ctx, dsn, testOptions())
		if err == nil {
			t.Fatalf("Open of an unreachable server succeeded")
		}
		if strings.Contains(err.Error(), "Sup3rSecretPw") {
			t.Errorf("Open's error shows the password: %v", err)
		}
		if _, err := UsedBytes(ctx, dsn); err == nil || strings.Contains(err.Error(), "Sup3rSecretPw") {
			t.Errorf("UsedBytes's error: %v", err)
		}
		if err := Restore(ctx, dsn, testOptions(), strings.NewReader("")); err == nil || strings.Contains(err.Error(), "Sup3rSecretPw") {
			t.Errorf("Restore's error: %v", err)
		}
	}
}

func TestOpenNeedsMigrations(t *testing.T) {
	if _, err := Open(context.Background(), pgtest.DSN(t), Options{}); err == nil {
		t.Fatal("Open without migrations succeeded")
	}
}

// TestBatchIsolatesFailures: when Updates grouped in one transaction fail,
// the others still commit and each failing one gets its own error.
func TestBatchIsolatesFailures(t *testing.T) {
	s := openFresh(t)
	ctx := context.Background()
	errOdd := errors.New("odd writer fails")
	const writers = 40
	var wg sync.WaitGroup
	results := make([]error, writers)
	for w := range writers {
		wg.Go(func() {
			results[w] = s.Update(ctx, func(tx store.Tx) error {
				if err := tx.Put("items", fmt.Sprintf("w%02d", w), []byte("v")); err != nil {
					return err
				}
				if _, err := tx.NextSeq("n"); err != nil {
					return err
				}
				if w%2 == 1 {
					return fmt.Errorf("writer %d: %w", w, errOdd)
				}
				return nil
			})
		})
	}
	wg.Wait()
	for w, err := range results {
		if w%2 == 1 && (!errors.Is(err, errOdd) || !strings.Contains(err.Error(), fmt.Sprintf("writer %d:", w))) {
			t.Errorf("writer %d: %v, want its own error", w, err)
		}
		if w%2 == 0 && err != nil {
			t.Errorf("writer %d: %v", w, err)
		}
		_, gerr := get(t, s, "items", fmt.Sprintf("w%02d", w))
		if (w%2 == 0) != (gerr == nil) {
			t.Errorf("writer %d: record present = %v", w, gerr == nil)
		}
	}
	var next uint64
	if err := s.Update(ctx, func(tx store.Tx) error {
		var err error
		next, err = tx.NextSeq("n")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if next != writers/2+1 {
		t.Fatalf("NextSeq = %d, want %d: failed Updates' counters were kept", next, writers/2+1)
	}
}

func TestPanicReachesItsCaller(t *testing.T) {
	s := openFresh(t)
	defer func() {
		if r := recover(); r != "boom" {
			t.Fatalf("recovered %v, want boom", r)
		}
		put(t, s, "items", "after", nil) // the store still works
	}()
	_ = s.Update(context.Background(), func(store.Tx) error { panic("boom") })
}

func TestUsedBytes(t *testing.T) {
	dsn := pgtest.DSN(t)
	s := openDSN(t, dsn)
	before, err := UsedBytes(context.Background(), dsn)
	if err != nil || before <= 0 {
		t.Fatalf("UsedBytes = %d, %v", before, err)
	}
	if err := s.Update(context.Background(), func(tx store.Tx) error {
		for i := range 2000 {
			if err := tx.Put("items", strconv.Itoa(i), make([]byte, 1000)); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	after, err := UsedBytes(context.Background(), dsn)
	if err != nil || after < before+2000*1000 {
		t.Fatalf("UsedBytes after 2 MB of records = %d (was %d), %v", after, before, err)
	}
}

// TestIDsTextCannotHold: PostgreSQL's text holds NUL-free UTF-8 only. Such
// ids cannot be written (a clear error, not a server one), read as absent,
// and still bound Each in byte order.
func TestIDsTextCannotHold(t *testing.T) {
	s := openFresh(t)
	ctx := context.Background()
	for _, id := range []string{"a\x00b", "\xff", "a\xc3", strings.Repeat("x", maxIDLen+1)} {
		if err := s.Update(ctx, func(tx store.Tx) error { return tx.Put("items", id, nil) }); err == nil {
			t.Errorf("Put(%q) succeeded", id)
		}
		if _, err := get(t, s, "items", id); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Get(%q) = %v, want ErrNotFound", id, err)
		}
		if err := s.Update(ctx, func(tx store.Tx) error { return tx.Delete("items", id) }); err != nil {
			t.Errorf("Delete(%q) = %v", id, err)
		}
	}
	for _, id := range []string{"a", "aé", "b"} {
		put(t, s, "items", id, []byte(id))
	}
	for after, want := range map[string]string{
		"a\xff": "b", "a\x00": "aé b", "a\xc3": "aé b", "\xff": "", "\x00": "a aé b", "a": "aé b",
	} {
		var got []string
		if err := s.View(ctx, func(tx store.Tx) error {
			return tx.Each("items", after, func(id string, _ []byte) error { got = append(got, id); return nil })
		}); err != nil {
			t.Fatal(err)
		}
		if strings.Join(got, " ") != want {
			t.Errorf("Each(after %q) = %q, want %q", after, got, want)
		}
	}
}

// TestScrubTakesOutEveryFormOfThePassword: whatever a driver error quotes
// of the connection string (all of it, its redacted form, the bare or
// escaped password, a key=value password), Scrub leaves none of it, and
// errors.Is still sees the original.
func TestScrubTakesOutEveryFormOfThePassword(t *testing.T) {
	const dsn = "postgres://hearth:p%40ss%2Fw0rd!@db.example:5432/hearth?sslmode=disable"
	base := errors.New("driver says")
	for _, quoted := range []string{dsn, "p@ss/w0rd!", "p%40ss%2Fw0rd!", "postgres://hearth:xxxxx@db.example:5432/hearth?sslmode=disable"} {
		err := Scrub(fmt.Errorf("%w: cannot use %s", base, quoted), dsn)
		if strings.Contains(err.Error(), "p@ss/w0rd") || strings.Contains(err.Error(), "p%40ss") {
			t.Errorf("Scrub left the password in %q", err.Error())
		}
		if !errors.Is(err, base) {
			t.Errorf("Scrub lost the wrapped error of %q", err.Error())
		}
	}
	kv := "host=db user=hearth password=s3cret-pw dbname=hearth"
	if err := Scrub(errors.New("failed for password=s3cret-pw"), kv); strings.Contains(err.Error(), "s3cret-pw") {
		t.Errorf("Scrub left a key=value password in %q", err.Error())
	}
}
