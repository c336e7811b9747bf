package cli

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"hearth/app/clinic"
	"hearth/app/config"
	"hearth/app/store"
	"hearth/app/vault"
)

// migrate-store copies a one-PC clinic (the built-in database in a data
// folder) into a PostgreSQL database that a clinic group's nodes share. The
// copy is backend-neutral (store.Copier): ciphertext moves as it is, never
// opened except for the sample that proves the keys still open it.
//
// It only reads the data folder: the built-in database is opened (its lock
// proves no server is using it) but never written, so the one-PC clinic can
// go on as before if the group is not ready.

const (
	// clinic.Init's record of whose keys seal a database. It is copied last,
	// once everything else has checked out, so a copy cut short or found
	// wrong is never taken for a clinic by `hearth serve --store`.
	recipientKey = "recipient"

	migrateBatch  = 2000 // entries per PostgreSQL transaction
	migrateSample = 200  // sealed records opened from PostgreSQL to prove the copy
)

// migrateStore: hearth migrate-store --from DIR --to postgres://...
func migrateStore(ctx context.Context, args []string, env Env) (err error) {
	batch, sample := migrateBatch, migrateSample
	c, err := parse("migrate-store", args, config.Flags{Store: true, More: func(fs *flag.FlagSet, c *config.Config) {
		fs.StringVar(&c.Data, "from", c.Data, "the data folder of the one-PC clinic to copy (same as --data)")
		fs.StringVar(&c.Store, "to", c.Store, "the PostgreSQL database to copy it into, postgres://... (same as --store)")
		fs.IntVar(&batch, "batch", batch, "entries written per transaction")
		fs.IntVar(&sample, "sample", sample, "sealed records opened from PostgreSQL afterwards, to prove the copy")
	}}, env)
	if err != nil {
		return err
	}
	if c.Store == "" {
		return errors.New("name the PostgreSQL database to copy the clinic into: hearth migrate-store --from DIR --to postgres://USER:PASSWORD@HOST/DATABASE")
	}
	if len(c.Args) > 0 || batch < 1 || sample < 0 {
		return errors.New("usage: hearth migrate-store --from DIR --to postgres://USER:PASSWORD@HOST/DATABASE [--batch N] [--sample N]")
	}
	// say reports progress; the first failed write becomes the command's
	// error once the copy is done (a copy is never stopped half-way for it).
	var sayErr error
	say := func(format string, a ...any) {
		if sayErr == nil {
			_, sayErr = fmt.Fprintf(env.Stdout, format+"\n", a...)
		}
	}
	from, to := c, c
	from.Store = ""
	log := logger(io.Discard)

	// The source: keys and the built-in database, opened for reading only.
	if !env.Backend.Exists(from) {
		return fmt.Errorf("no Hearth database in %s: name the data folder of the clinic to copy with --from", from.Data)
	}
	v, err := vault.Load(from.KeysDir())
	if errors.Is(err, vault.ErrNoKeys) {
		return errNoKeys(from)
	}
	if err != nil {
		return err
	}
	if v.Locked() {
		if err := unlockFromStdin(v, env); err != nil {
			return err
		}
	}
	src, err := env.Backend.Open(ctx, from, 300*time.Millisecond, log)
	if errors.Is(err, store.ErrInUse) {
		return fmt.Errorf("hearth serve is running on %s: stop hearth serve first, so the copy is of a database nobody is changing (nothing was changed)", from.Data)
	}
	if err != nil {
		return err
	}
	defer closeAfter(&err, src)
	srcRecipient, err := getMeta(ctx, src, recipientKey)
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("%s holds no clinic (it was not made by `hearth setup` or `hearth serve`); nothing to copy", from.DBPath())
	}
	if err != nil {
		return err
	}
	if string(srcRecipient) != v.Recipient() {
		return fmt.Errorf("%w\n(keys: %s)", clinic.ErrWrongKeys, from.KeysDir())
	}

	// The destination.
	if err := env.Backend.Ping(ctx, to); err != nil {
		return err
	}
	dst, err := env.Backend.Open(ctx, to, time.Second, log)
	if err != nil {
		return err
	}
	defer closeAfter(&err, dst)
	// Another clinic's database is refused before anything is read.
	switch got, err := getMeta(ctx, dst, recipientKey); {
	case err == nil && !bytes.Equal(got, srcRecipient):
		return differentClinic(to)
	case err != nil && !errors.Is(err, store.ErrNotFound):
		return fmt.Errorf("read the %s: %w", to.Where(), err)
	}

	say("Reading the clinic in %s ...", from.DBPath())
	sampler := newSampler(sample)
	have, err := takeTally(ctx, src, sampler.offer)
	if err != nil {
		return fmt.Errorf("read %s: %w", from.DBPath(), err)
	}
	before, err := takeTally(ctx, dst, nil)
	if err != nil {
		return fmt.Errorf("read the %s: %w", to.Where(), err)
	}
	if err := canCopyInto(ctx, dst, v, have, before, to); err != nil {
		return err
	}
	if before.entries > 0 {
		say("The %s already holds part or all of this clinic (an earlier run): copying again, which changes nothing already there.", to.Where())
	}

	say("Copying %d records, %d index entries and %d counters into the %s ...", have.records(), have.indexEntries(), len(have.seqs), to.Where())
	var pending []store.Entry
	var held *store.Entry
	copied, shown := 0, 0
	flush := func() error {
		if len(pending) == 0 {
			return nil
		}
		if err := dst.Import(ctx, pending); err != nil {
			return fmt.Errorf("write into the %s: %w", to.Where(), err)
		}
		copied += len(pending)
		pending = pending[:0]
		if pct := copied * 100 / max(1, have.entries); pct >= shown+10 || copied == have.entries {
			shown = pct - pct%10
			say("  copied %d of %d entries (%d%%)", copied, have.entries, pct)
		}
		return nil
	}
	err = src.Export(ctx, func(e store.Entry) error {
		if isRecipient(e) {
			held = &e
			return nil
		}
		pending = append(pending, e)
		if len(pending) >= batch {
			return flush()
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	if err != nil {
		return fmt.Errorf("%w\nThe data folder is unchanged; run the same migrate-store again to finish the copy", err)
	}
	if held == nil {
		return fmt.Errorf("%s lost its clinic record while it was read; is another program using it? (nothing was changed in it)", from.DBPath())
	}

	say("Checking the copy ...")
	after, err := takeTally(ctx, dst, nil)
	if err != nil {
		return fmt.Errorf("read the %s: %w", to.Where(), err)
	}
	problems := compareTallies(have, after)
	opened, more := checkSample(ctx, dst, v, sampler.picked)
	problems = append(problems, more...)
	if len(problems) > 0 {
		say("PROBLEMS (%d):", len(problems))
		for _, p := range problems {
			say("  - %s", p)
		}
		return fmt.Errorf("the copy in the %s did not check out, so it was not marked as this clinic's database and no node will serve it.\n"+
			"The data folder %s is unchanged: keep using it, and call for help with this report", to.Where(), from.Data)
	}
	// Everything checked out: now the database is this clinic's.
	if err := dst.Import(ctx, []store.Entry{*held}); err != nil {
		return fmt.Errorf("write into the %s: %w", to.Where(), err)
	}
	if got, err := getMeta(ctx, dst, recipientKey); err != nil || !bytes.Equal(got, srcRecipient) {
		return fmt.Errorf("the %s did not keep the clinic's key record (%v); run the same migrate-store again", to.Where(), err)
	}

	keys, err := filepath.Abs(from.KeysDir())
	if err != nil {
		return err
	}
	say(`
Done. The %s now holds this clinic:
  %d records in %d buckets, %d index entries and %d counters, the same as in %s;
  %d sampled records open with this clinic's keys.
Nothing in %s was changed.

Next steps:
  1. Keep the one-PC server stopped from now on: changes made there would not reach the group.
  2. Copy the keys folder %s to every node (into each node's data folder,
     readable only by the user Hearth runs as). Without it a node cannot open any record.
  3. Start every node with: hearth serve --data DIR --store URL
     (URL: the same postgres:// address you gave --to).
  4. Take a backup from any node with: hearth backup --data DIR --store URL FILE`,
		to.Where(), have.records(), have.buckets(), have.indexEntries(), len(have.seqs), from.DBPath(),
		opened, from.Data, keys)
	return sayErr
}

// unlockFromStdin asks for the passphrase that seals the clinic's keys.
func unlockFromStdin(v *vault.Vault, env Env) error {
	if _, err := fmt.Fprintln(env.Stderr, "The clinic's keys are sealed with a passphrase. Type it and press Enter:"); err != nil {
		return err
	}
	sc := bufio.NewScanner(env.Stdin)
	if !sc.Scan() {
		return errors.New("the keys are sealed with a passphrase, and none was given on standard input")
	}
	err := v.Unlock(strings.TrimRight(sc.Text(), "\r"))
	if errors.Is(err, vault.ErrBadPassphrase) {
		return errors.New("that passphrase does not unlock the clinic's keys (nothing was changed)")
	}
	return err
}

func getMeta(ctx context.Context, st store.Store, key string) ([]byte, error) {
	var v []byte
	err := st.View(ctx, func(tx store.Tx) error {
		var err error
		v, err = tx.Get(clinic.MetaBucket, key)
		return err
	})
	return v, err
}

func isRecipient(e store.Entry) bool {
	return e.Kind == store.KindRecord && e.Name == clinic.MetaBucket && string(e.Key) == recipientKey
}

// tally is what one side of a migration holds, in counts: records per
// bucket, entries per index, and every counter's value. The clinic's key
// record (meta/recipient) is kept apart, since it is copied last.
type tally struct {
	entries   int
	counts    map[tallyKey]int
	seqs      map[string]uint64
	recipient []byte
}

type tallyKey struct {
	kind store.EntryKind
	name string
}

func takeTally(ctx context.Context, st store.Store, each func(store.Entry)) (tally, error) {
	t := tally{counts: map[tallyKey]int{}, seqs: map[string]uint64{}}
	err := st.Export(ctx, func(e store.Entry) error {
		if isRecipient(e) {
			t.recipient = e.Value
			return nil
		}
		t.entries++
		switch e.Kind {
		case store.KindSeq:
			if len(e.Value) != 8 {
				return fmt.Errorf("counter %s has a %d-byte value", e.Name, len(e.Value))
			}
			t.seqs[e.Name] = binary.BigEndian.Uint64(e.Value)
		default:
			t.counts[tallyKey{e.Kind, e.Name}]++
		}
		if each != nil {
			each(e)
		}
		return nil
	})
	return t, err
}

func (t tally) sum(kind store.EntryKind) int {
	n := 0
	for k, c := range t.counts {
		if k.kind == kind {
			n += c
		}
	}
	return n
}

// records counts the clinic's key record too: it is one of them.
func (t tally) records() int      { return t.sum(store.KindRecord) + 1 }
func (t tally) indexEntries() int { return t.sum(store.KindIndex) }
func (t tally) buckets() int {
	n := 0
	for k := range t.counts {
		if k.kind == store.KindRecord {
			n++
		}
	}
	if t.counts[tallyKey{store.KindRecord, clinic.MetaBucket}] == 0 {
		n++ // meta, which held only the key record
	}
	return n
}

func (k tallyKey) String() string {
	if k.kind == store.KindIndex {
		return "index " + k.name
	}
	return "bucket " + k.name
}

func (k tallyKey) unit() string {
	if k.kind == store.KindIndex {
		return "entries"
	}
	return "records"
}

// canCopyInto refuses a destination that holds another clinic, or this
// clinic with changes made after an earlier copy (copying again would put
// older versions of records back over newer ones).
func canCopyInto(ctx context.Context, dst store.Store, v *vault.Vault, have, before tally, to config.Config) error {
	if before.recipient != nil && !bytes.Equal(before.recipient, have.recipient) {
		return differentClinic(to)
	}
	if before.entries == 0 {
		return nil
	}
	if before.recipient == nil {
		// An earlier run cut short leaves everything but the key record:
		// the records already there must open with these keys.
		if err := ownRecords(ctx, dst, v); err != nil {
			return fmt.Errorf("the %s is not empty and its records are not this clinic's (%v); nothing was changed.\n"+
				"Copy into a new, empty database", to.Where(), err)
		}
	}
	movedOn := fmt.Errorf("the %s already holds this clinic, with changes made after it was copied (a node has been serving from it).\n"+
		"Copying again would put older records back over newer ones, so nothing was changed: the database is the clinic's data now", to.Where())
	for name, n := range before.seqs {
		if h, ok := have.seqs[name]; !ok || n > h {
			return movedOn
		}
	}
	for k, n := range before.counts {
		if n > have.counts[k] {
			return movedOn
		}
	}
	return nil
}

func differentClinic(to config.Config) error {
	return fmt.Errorf("the %s already holds a different clinic; nothing was changed.\n"+
		"Copy into a new, empty database (for example: CREATE DATABASE hearth_new; then --to .../hearth_new)", to.Where())
}

// ownRecords opens a few sealed records of st with v.
func ownRecords(ctx context.Context, st store.Store, v *vault.Vault) error {
	return st.View(ctx, func(tx store.Tx) error {
		checked := 0
		for _, b := range clinic.SealedBuckets() {
			err := tx.Each(b, "", func(id string, raw []byte) error {
				ref, err := v.BoundRef(raw)
				if err != nil {
					return fmt.Errorf("record %s/%s does not open with this clinic's keys", b, id)
				}
				if ref.Bucket != b || ref.ID != id {
					return fmt.Errorf("record %s/%s is not where it was sealed", b, id)
				}
				if checked++; checked >= 5 {
					return store.ErrStop
				}
				return nil
			})
			if err != nil || checked >= 5 {
				return err
			}
		}
		return nil
	})
}

// compareTallies names every difference between the source and the copy:
// records and index entries must match exactly, counters may only be ahead.
func compareTallies(have, got tally) []string {
	var problems []string
	keys := map[tallyKey]bool{}
	for k := range have.counts {
		keys[k] = true
	}
	for k := range got.counts {
		keys[k] = true
	}
	sorted := make([]tallyKey, 0, len(keys))
	for k := range keys {
		sorted = append(sorted, k)
	}
	slices.SortFunc(sorted, func(a, b tallyKey) int {
		if a.kind != b.kind {
			return int(a.kind) - int(b.kind)
		}
		return strings.Compare(a.name, b.name)
	})
	for _, k := range sorted {
		if h, g := have.counts[k], got.counts[k]; h != g {
			problems = append(problems, fmt.Sprintf("%s: %d %s in the data folder, %d in PostgreSQL", k, h, k.unit(), g))
		}
	}
	names := make([]string, 0, len(have.seqs))
	for n := range have.seqs {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		if g, ok := got.seqs[n]; !ok || g < have.seqs[n] {
			problems = append(problems, fmt.Sprintf("counter %s: %d in the data folder, %d in PostgreSQL (it must not be behind)", n, have.seqs[n], g))
		}
	}
	return problems
}

// sampler keeps a uniform random sample of the sealed records it is
// offered (reservoir sampling): their place and a hash of their bytes.
type sampler struct {
	size   int
	seen   int
	sealed map[string]bool
	picked []sampled
}

type sampled struct {
	bucket, id string
	sum        [32]byte
}

func newSampler(size int) *sampler {
	s := &sampler{size: size, sealed: map[string]bool{}}
	for _, b := range clinic.SealedBuckets() {
		s.sealed[b] = true
	}
	return s
}

func (s *sampler) offer(e store.Entry) {
	if e.Kind != store.KindRecord || !s.sealed[e.Name] || s.size == 0 {
		return
	}
	s.seen++
	r := sampled{bucket: e.Name, id: string(e.Key), sum: sha256.Sum256(e.Value)}
	if len(s.picked) < s.size {
		s.picked = append(s.picked, r)
	} else if i := rand.IntN(s.seen); i < s.size {
		s.picked[i] = r
	}
}

// checkSample reads each sampled record from the copy: the same bytes, and
// they open with the clinic's keys as the record they are filed as.
func checkSample(ctx context.Context, dst store.Store, v *vault.Vault, picked []sampled) (int, []string) {
	var problems []string
	opened := 0
	err := dst.View(ctx, func(tx store.Tx) error {
		for _, p := range picked {
			raw, err := tx.Get(p.bucket, p.id)
			if errors.Is(err, store.ErrNotFound) {
				problems = append(problems, fmt.Sprintf("record %s/%s is missing in PostgreSQL", p.bucket, p.id))
				continue
			}
			if err != nil {
				return err
			}
			if sha256.Sum256(raw) != p.sum {
				problems = append(problems, fmt.Sprintf("record %s/%s differs in PostgreSQL", p.bucket, p.id))
				continue
			}
			ref, err := v.BoundRef(raw)
			switch {
			case err != nil:
				problems = append(problems, fmt.Sprintf("record %s/%s does not open in PostgreSQL: %v", p.bucket, p.id, err))
			case ref.Bucket != p.bucket || ref.ID != p.id:
				problems = append(problems, fmt.Sprintf("record %s/%s holds the sealed record of %s/%s", p.bucket, p.id, ref.Bucket, ref.ID))
			default:
				opened++
			}
		}
		return nil
	})
	if err != nil {
		problems = append(problems, fmt.Sprintf("reading the sample back: %v", err))
	}
	return opened, problems
}
