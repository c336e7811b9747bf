// Package clinic is Hearth's domain: the clinic's settings, staff, patients,
// items and their threads, and the rules that govern them. It stores
// everything through store.Store, sealing each record with the vault first,
// and writes an audit event in the same transaction as every read or change of
// PHI.
//
// It knows nothing of HTTP or of bbolt. It must never put PHI in a record id,
// an index key, an audit event, an error string meant for another user, or a
// log line: index keys are built from ids, enums, times and blind-index
// tokens only, and domain types that carry PHI implement slog.LogValuer so a
// mistaken log call prints an id.
package clinic

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"hearth/app/audit"
	"hearth/app/i18n"
	"hearth/app/store"
	"hearth/app/vault"
)

// SchemaVersion is the version of the record layout this code writes.
const SchemaVersion = 4

// Errors the web layer turns into safe messages.
var (
	ErrNotFound      = errors.New("clinic: not found")
	ErrForbidden     = errors.New("clinic: not allowed")
	ErrSetupDone     = errors.New("clinic: setup is already complete")
	ErrNotSetUp      = errors.New("clinic: setup has not been completed")
	ErrWrongKeys     = errors.New("clinic: the keys folder does not belong to this database; restore the right keys folder, or restore from a backup with the recovery key")
	ErrBadCredential = errors.New("clinic: wrong email or password")
	ErrLocked        = errors.New("clinic: Hearth is locked until an owner unlocks it")
	ErrConflict      = errors.New("clinic: already exists")
	ErrSchemaNewer   = errors.New("clinic: this database was written by a newer Hearth; upgrade Hearth")
	ErrSchemaDamaged = errors.New("clinic: the database's schema version is damaged (not a version number); restore from a backup")
)

// IsNotFound reports whether err means that what was asked for does not
// exist: ErrNotFound, or the store's not-found where it reaches a caller
// unmapped. The web layer asks this, so that it never needs the store.
func IsNotFound(err error) bool {
	return errors.Is(err, ErrNotFound) || errors.Is(err, store.ErrNotFound)
}

// InputError is a validation failure a person can fix: which field, and what
// to do, in plain words. It never repeats the value.
type InputError struct {
	Field string
	Msg   string
}

func (e *InputError) Error() string { return e.Msg }

func inputErr(field, msg string) error { return &InputError{Field: field, Msg: msg} }

// Publisher receives an event after the transaction that caused it has
// committed. The realtime hub implements it.
type Publisher interface {
	Publish(e Event)
}

// Event is what staff browsers are told: ids and routing facts, no PHI.
type Event struct {
	Seq      uint64    `json:"seq"`
	Type     string    `json:"type"`
	ItemID   string    `json:"item_id,omitempty"`
	Queue    string    `json:"queue,omitempty"`
	Priority string    `json:"priority,omitempty"`
	At       time.Time `json:"at"`
}

// Deps are what a Clinic is built from.
type Deps struct {
	Store  store.Store
	Vault  *vault.Vault
	Log    *slog.Logger
	Now    func() time.Time
	Events Publisher
	// Peers hears what this node changed that other nodes of a clinic
	// group remember (nil on a single node).
	Peers Peers
	// Files is the embed/ folder (urgent-word lists, the message catalogue).
	Files fs.FS
	// Argon2 lets tests use cheap password hashing; zero means production.
	Argon2 Argon2Params
	// ReadOnly opens the clinic for `hearth verify`: no migrations, no
	// startup checks that write. Anything that writes fails.
	ReadOnly bool
}

// Clinic is the domain service. It is safe for concurrent use.
type Clinic struct {
	st     store.Store
	v      *vault.Vault
	log    *slog.Logger
	now    func() time.Time
	events Publisher
	peers  Peers
	argon  Argon2Params

	dummyOnce sync.Once
	dummy     string

	sessions   sessionCache
	staffMu    sync.Mutex
	staffCache map[string]Staff
	settings   atomic.Pointer[Settings]
	items      *lru[Item]
	patients   *lru[Patient]
	devices    *lru[Device]
	triageMu   sync.Mutex
	triageFor  string
	triageVal  *Triage
	files      fs.FS
	words      *i18n.Catalog // what emails say, in each language (nil without Files)
	zonesOnce  sync.Once     // TimeZones reads its table once
	zones      []ZoneRegion

	noticeMu sync.Mutex // one notice runner at a time (notice.go)

	overdueMu sync.Mutex
	overdue   map[string]int
	overdueAt time.Time

	schemaVer int
	damage    atomic.Pointer[Damage] // set when the store's structure check fails (integrity.go)
	damaged   sync.Map               // bucket/id of records already audited as damaged (damage.go)
	storage   storageState           // the disk refusing writes (storage.go)
	texts     textLimiter            // inbound texts per number (text_in.go)
}

// Init records a new database's identity: the schema version and the clinic
// recipient its records are sealed to. It refuses a database that already
// has one.
func Init(ctx context.Context, st store.Store, v *vault.Vault, now time.Time) error {
	return st.Update(ctx, func(tx store.Tx) error {
		if _, err := tx.Get(MetaBucket, "recipient"); err == nil {
			return ErrConflict
		}
		if err := tx.Put(MetaBucket, "recipient", []byte(v.Recipient())); err != nil {
			return err
		}
		if err := tx.Put(MetaBucket, "schema", []byte(fmt.Sprint(SchemaVersion))); err != nil {
			return err
		}
		return tx.Put(MetaBucket, "created", []byte(now.UTC().Format(time.RFC3339)))
	})
}

// Open checks that the vault's keys belong to the database, applies
// migrations, and returns the service.
func Open(ctx context.Context, d Deps) (*Clinic, error) {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	if d.Argon2 == (Argon2Params{}) {
		p, err := defaultArgon2()
		if err != nil {
			return nil, err
		}
		d.Argon2 = p
	}
	c := &Clinic{st: d.Store, v: d.Vault, log: d.Log, now: d.Now, events: d.Events, peers: d.Peers, argon: d.Argon2,
		sessions: sessionCache{m: map[string]*Session{}}, staffCache: map[string]Staff{},
		items: newLRU[Item](5_000), patients: newLRU[Patient](10_000), devices: newLRU[Device](50_000), files: d.Files}
	c.st = watchedStore{Store: d.Store, c: c} // every write's outcome is noted (storage.go)
	if d.Files != nil {
		w, err := i18n.Load(d.Files)
		if err != nil {
			return nil, fmt.Errorf("clinic: %w", err)
		}
		c.words = w
	}
	var rec, schema []byte
	err := d.Store.View(ctx, func(tx store.Tx) error {
		var err error
		if rec, err = tx.Get(MetaBucket, "recipient"); err != nil {
			return err
		}
		schema, err = tx.Get(MetaBucket, "schema")
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("clinic: the database has no clinic identity; it was not made by `hearth setup` or `hearth serve`")
	}
	if err != nil {
		return nil, fmt.Errorf("clinic: open: %w", err)
	}
	if string(rec) != d.Vault.Recipient() {
		return nil, ErrWrongKeys
	}
	ver, err := strconv.Atoi(string(schema))
	if err != nil || ver < 1 {
		return nil, ErrSchemaDamaged
	}
	if ver > SchemaVersion {
		return nil, ErrSchemaNewer
	}
	c.schemaVer = ver
	if d.ReadOnly {
		return c, nil
	}
	if err := c.migrate(ctx, ver); err != nil {
		return nil, err
	}
	c.schemaVer = SchemaVersion
	c.checkAuditAtStart(ctx)
	return c, nil
}

// migrations[i] upgrades schema i+1 to i+2. Each runs in one transaction
// with the version bump, so a crash leaves either the old or the new schema.
var migrations = []func(tx store.Tx) error{
	// 1 -> 2: queue counts kept beside the items.
	func(tx store.Tx) error {
		return tx.Each(bucketItemMeta, "", func(_ string, v []byte) error {
			var m ItemMeta
			if err := json.Unmarshal(v, &m); err != nil {
				return err
			}
			return tally(tx, m, +1)
		})
	},
	// 2 -> 3: the open-by-due index carries the queue.
	func(tx store.Tx) error {
		var old [][]byte
		if err := tx.Scan(ixOpenDue, store.Range{}, func(k []byte, _ string) error { old = append(old, k); return nil }); err != nil {
			return err
		}
		for _, k := range old {
			if err := tx.DeleteIndex(ixOpenDue, k); err != nil {
				return err
			}
		}
		return tx.Each(bucketItemMeta, "", func(id string, v []byte) error {
			var m ItemMeta
			if err := json.Unmarshal(v, &m); err != nil {
				return err
			}
			if k, ok := m.indexKeys()[ixOpenDue]; ok {
				return tx.SetIndex(ixOpenDue, k, id)
			}
			return nil
		})
	},
	// 3 -> 4: the audit head carries its own MAC. This runs without the
	// key (Hearth may be locked): it marks the old head, and the key
	// authenticates it when next available (integrity.go, checkAuditHeadTx).
	audit.MarkLegacyHead,
}

func (c *Clinic) migrate(ctx context.Context, from int) error {
	if from < 1 || from > len(migrations)+1 {
		return ErrSchemaDamaged
	}
	for v := from; v < SchemaVersion; v++ {
		m := migrations[v-1]
		err := c.st.Update(ctx, func(tx store.Tx) error {
			if err := m(tx); err != nil {
				return err
			}
			return tx.Put(MetaBucket, "schema", []byte(fmt.Sprint(v+1)))
		})
		if err != nil {
			return fmt.Errorf("clinic: migrate schema %d to %d: %w", v, v+1, err)
		}
		c.log.Info("migrated database", "from", v, "to", v+1)
	}
	return nil
}

// Now is the clinic's clock.
func (c *Clinic) Now() time.Time { return c.now() }

// Vault is the clinic's key holder (for lock state and unlock).
func (c *Clinic) Vault() *vault.Vault { return c.v }

func newID() string { return uuid.NewString() }

// seal encodes v as JSON and seals it as the record ref (vault.NewRef for a
// patient's record, vault.RefNoPatient for one that is no patient's).
func (c *Clinic) seal(ref vault.Ref, v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("clinic: encode %s: %w", ref.Bucket, err)
	}
	return c.v.Seal(ref, b)
}

// open reads the sealed record ref into out (vault.RefAnyPatient when the
// caller does not know whose it is).
func (c *Clinic) open(tx store.Tx, ref vault.Ref, out any) error {
	raw, err := tx.Get(ref.Bucket, ref.ID)
	if errors.Is(err, store.ErrNotFound) {
		return ErrNotFound
	}
	if err != nil {
		return err
	}
	return c.openRaw(ref, raw, out)
}

func (c *Clinic) openRaw(ref vault.Ref, raw []byte, out any) error {
	b, err := c.v.Open(ref, raw)
	if errors.Is(err, vault.ErrLocked) {
		return ErrLocked
	}
	if err != nil {
		c.reportDamaged(ref, err)
		return fmt.Errorf("clinic: open %s record: %w", ref.Bucket, err)
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("clinic: decode %s record: %w", ref.Bucket, err)
	}
	return nil
}

// getMeta reads a plain fact ("" when unset); a store that cannot answer
// is an error, never "unset".
func getMeta(tx store.Tx, key string) (string, error) {
	b, err := tx.Get(MetaBucket, key)
	if errors.Is(err, store.ErrNotFound) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// Meta reads a plain fact about the database ("" when unset). A failed read
// is an error, so it never looks like a fact that was never set.
func (c *Clinic) Meta(ctx context.Context, key string) (string, error) {
	var s string
	err := c.st.View(ctx, func(tx store.Tx) error {
		var err error
		s, err = getMeta(tx, key)
		return err
	})
	return s, err
}

// SetMeta records a plain, non-PHI fact (backup status and the like).
func (c *Clinic) SetMeta(ctx context.Context, key, value string) error {
	return c.st.Update(ctx, func(tx store.Tx) error { return tx.Put(MetaBucket, key, []byte(value)) })
}

// IsSetUp reports whether the owner account exists. A failed read is an
// error: it must not offer the setup page of a clinic that is set up.
func (c *Clinic) IsSetUp(ctx context.Context) (bool, error) {
	v, err := c.Meta(ctx, "setup")
	return v == "done", err
}

// Actor identifies who is acting, for authorization and the audit trail.
type Actor struct {
	Kind    ActorKind
	ID      string
	Role    string // staff role
	Client  string // client address
	Patient string // for a patient or caregiver: the patient whose data they may see
}

func (a Actor) String() string {
	if a.Kind == ActorSystem || a.Kind == "" {
		return string(ActorSystem)
	}
	return string(a.Kind) + ":" + a.ID
}

// ActorKind says who is acting. It is the first part of an audit event's
// actor ("staff:<id>").
type ActorKind string

// The kinds of actor.
const (
	ActorStaff     ActorKind = "staff"     // a signed-in staff member
	ActorPatient   ActorKind = "patient"   // a patient on their own registered device
	ActorCaregiver ActorKind = "caregiver" // a caregiver's device, acting for one patient
	ActorContact   ActorKind = "contact"   // an unverified contact on their private link
	ActorSystem    ActorKind = "system"    // Hearth itself, or a request from no one signed in
	ActorAnonymous ActorKind = "anonymous" // a patient page before anyone has signed in
)

// System is the actor for work Hearth does on its own.
var System = Actor{Kind: ActorSystem}

// audit appends an event inside tx. A locked vault parks it as pending.
func (c *Clinic) audit(tx store.Tx, a Actor, action, object, patient string) error {
	key, err := c.v.AuditKey()
	if errors.Is(err, vault.ErrLocked) {
		key = nil
	} else if err != nil {
		return err
	}
	_, err = audit.Append(tx, key, audit.Event{
		At: c.now(), Actor: a.String(), Action: action, Object: object, Patient: patient, Client: a.Client,
	})
	return err
}

// auditListed records that a list view showed these patients (a page of
// the inbox, the board, search results): ONE event for the page, naming
// every patient on it in Patients, so each patient's trail still finds it
// while a refresh writes one row, not one per name. Empty ids and repeats
// are dropped; a page that showed no patient writes nothing.
func (c *Clinic) auditListed(ctx context.Context, a Actor, action, object string, patients []string) error {
	var ids []string
	seen := map[string]bool{}
	for _, p := range patients {
		if p != "" && !seen[p] {
			seen[p] = true
			ids = append(ids, p)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	return c.st.Update(ctx, func(tx store.Tx) error {
		return c.auditEvent(tx, audit.Event{Actor: a.String(), Action: action, Object: object, Patients: ids, Client: a.Client})
	})
}

func auditHigh(a Actor, action, object, patient string) audit.Event {
	return audit.Event{Actor: a.String(), Action: action, Object: object, Patient: patient, Client: a.Client, Severity: audit.High}
}

// auditEvent appends a fully described event inside tx.
func (c *Clinic) auditEvent(tx store.Tx, e audit.Event) error {
	key, err := c.v.AuditKey()
	if errors.Is(err, vault.ErrLocked) {
		key = nil
	} else if err != nil {
		return err
	}
	e.At = c.now()
	_, err = audit.Append(tx, key, e)
	return err
}

// AuditEvent is what Audit records: what was done (Action, such as
// "staff.signin"), to what (Object, such as "item:<id>" or "settings"),
// whose data it touched (Patient, a patient id, or ""), and how it ended
// (Outcome: "" when it was done; "failed", "denied", "throttled"... when
// not, which makes the event high severity). None of it may be PHI.
type AuditEvent struct {
	Action, Object, Patient, Outcome string
}

// Audit records an event on its own (sign-in failures, exports, lock).
func (c *Clinic) Audit(ctx context.Context, a Actor, e AuditEvent) error {
	sev := audit.Info
	if e.Outcome != "" {
		sev = audit.High
	}
	return c.st.Update(ctx, func(tx store.Tx) error {
		return c.auditEvent(tx, audit.Event{Actor: a.String(), Action: e.Action, Object: e.Object, Patient: e.Patient, Client: a.Client, Severity: sev, Outcome: e.Outcome})
	})
}

// auditFailure records a failed attempt (a wrong password, birth date,
// passphrase or code). The attempt is answered as failed whatever happens
// here, so a store that cannot take the event does not turn a refusal into
// a different answer; the lost event is logged at error level instead, by
// ids only (never the client's input).
func (c *Clinic) auditFailure(ctx context.Context, a Actor, e AuditEvent) {
	if err := c.Audit(ctx, a, e); err != nil {
		c.log.Error("the audit event of a failed attempt was not written", "action", e.Action, "object", e.Object,
			"patient", e.Patient, "actor", a.String(), "err", err)
	}
}
