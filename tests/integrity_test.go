package tests

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.etcd.io/bbolt"

	"hearth/app/vault"
)

// The attacks of issue 13, items 2 and 3, against the real binary and its
// real data folder: the newest audit events cut off (with and without the
// audit key), and a database file with flipped bytes.

// addPatients has the owner create n patients (each an audit event).
func addPatients(t *testing.T, c *client, n int, prefix string) {
	t.Helper()
	for i := 0; i < n; i++ {
		code, b, err := c.do("POST", "/api/v1/patients", map[string]string{"name": fmt.Sprintf("%s Patient%03d", prefix, i), "dob": "1980-01-02", "phone": "555-0100", "lang": "en"})
		if err != nil || code != 201 {
			t.Fatalf("create patient: %d %v %s", code, err, b)
		}
	}
}

type auditEvent struct {
	Seq uint64 `json:"seq"`
	MAC []byte `json:"mac"`
}

// cutAuditTail edits the stopped server's bbolt file directly, the way an
// attacker with the disk would: the audit events from seq `from` on are
// deleted with their index entries, the sequence is rewound, and the head
// is set to the event before. With key, the head gets the MAC the key
// makes (plain key mode: the key is on the same disk); without, the old
// head's MAC is left in place, since no other can be made.
func cutAuditTail(t *testing.T, dbPath string, from uint64, key []byte) uint64 {
	t.Helper()
	db, err := bbolt.Open(dbPath, 0o600, &bbolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	var last uint64
	err = db.Update(func(tx *bbolt.Tx) error {
		ev := tx.Bucket([]byte("rec:audit"))
		var gone [][]byte
		c := ev.Cursor()
		for k, _ := c.Seek([]byte(fmt.Sprintf("%016x", from))); k != nil; k, _ = c.Next() {
			gone = append(gone, append([]byte(nil), k...))
		}
		if len(gone) == 0 {
			return fmt.Errorf("no events from %d on", from)
		}
		for _, k := range gone {
			if err := ev.Delete(k); err != nil {
				return err
			}
		}
		if ix := tx.Bucket([]byte("idx:audit.by_patient")); ix != nil {
			var stale [][]byte
			err := ix.ForEach(func(k, v []byte) error {
				if ev.Get(v) == nil {
					stale = append(stale, append([]byte(nil), k...))
				}
				return nil
			})
			if err != nil {
				return err
			}
			for _, k := range stale {
				if err := ix.Delete(k); err != nil {
					return err
				}
			}
		}
		last = from - 1
		var e auditEvent
		if err := json.Unmarshal(ev.Get([]byte(fmt.Sprintf("%016x", last))), &e); err != nil {
			return err
		}
		seq := make([]byte, 8)
		binary.BigEndian.PutUint64(seq, last)
		if err := tx.Bucket([]byte("seq")).Put([]byte("audit"), seq); err != nil {
			return err
		}
		hb := tx.Bucket([]byte("rec:audit_head"))
		head := map[string]any{}
		if err := json.Unmarshal(hb.Get([]byte("head")), &head); err != nil {
			return err
		}
		head["seq"], head["mac"] = e.Seq, e.MAC
		if key != nil {
			m := hmac.New(sha256.New, key)
			m.Write([]byte("hearth audit head v1\x00"))
			m.Write(seq)
			m.Write(e.MAC)
			head["auth"] = m.Sum(nil)
		}
		b, err := json.Marshal(head)
		if err != nil {
			return err
		}
		return hb.Put([]byte("head"), b)
	})
	// The server opens the file next: it is closed here, not deferred.
	if cerr := db.Close(); cerr != nil {
		t.Errorf("closing %s: %v", dbPath, cerr)
	}
	if err != nil {
		t.Fatal(err)
	}
	return last
}

func auditHeadSeq(t *testing.T, dbPath string) uint64 {
	t.Helper()
	db, err := bbolt.Open(dbPath, 0o600, &bbolt.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	var e auditEvent
	err = db.View(func(tx *bbolt.Tx) error {
		return json.Unmarshal(tx.Bucket([]byte("rec:audit_head")).Get([]byte("head")), &e)
	})
	if cerr := db.Close(); cerr != nil {
		t.Errorf("closing %s: %v", dbPath, cerr)
	}
	if err != nil {
		t.Fatal(err)
	}
	return e.Seq
}

type ownerStatus struct {
	AuditHead struct {
		Seq         uint64 `json:"seq"`
		Fingerprint string `json:"fingerprint"`
		LastFinding string `json:"last_finding"`
	} `json:"audit_head"`
	Health struct {
		Status          string `json:"status"`
		Reason          string `json:"reason"`
		RecoveredPanics int64  `json:"recovered_panics"`
	} `json:"health"`
}

// TestVerifyFindsACutAuditTail: the newest events deleted and the head and
// sequence rewound by someone without the audit key. verify fails, and the
// next start records a high-severity finding the owner sees in the console's
// audit log and backup status; verify keeps reporting it.
func TestVerifyFindsACutAuditTail(t *testing.T) {
	in := newClinic(t)
	in.start()
	addPatients(t, in.owner(), 12, "Cut")
	in.stop()
	db := filepath.Join(in.data, "hearth.db")
	if out, err := hearth(t, "", "verify", "--data", in.data); err != nil {
		t.Fatalf("verify before the cut: %v\n%s", err, out)
	}
	head := auditHeadSeq(t, db)
	last := cutAuditTail(t, db, head-4, nil)

	before := fileHash(t, db)
	out, err := hearth(t, "", "verify", "--data", in.data)
	if err == nil || !strings.Contains(out, "cut off") {
		t.Fatalf("verify after cutting the newest 5 events: %v\n%s", err, out)
	}
	t.Logf("verify after the cut:\n%s", out)
	if fileHash(t, db) != before {
		t.Fatal("verify changed the database file")
	}

	in.start()
	if !strings.Contains(in.log.String(), "AUDIT TRAIL") {
		t.Errorf("the start did not log the finding:\n%s", in.log.String())
	}
	owner := in.owner()
	var list struct {
		Events []struct {
			Seq      uint64 `json:"seq"`
			Action   string `json:"action"`
			Severity string `json:"severity"`
			Outcome  string `json:"outcome"`
		} `json:"events"`
	}
	if code := owner.json("GET", "/api/v1/audit?action=audit.integrity&order=desc", nil, &list); code != 200 ||
		len(list.Events) != 1 || list.Events[0].Severity != "high" || list.Events[0].Outcome != "failed" || list.Events[0].Seq != last+1 {
		t.Fatalf("the owner's audit log after the start: %d %+v", code, list)
	}
	var st ownerStatus
	if code := owner.json("GET", "/api/v1/backup/status", nil, &st); code != 200 || st.AuditHead.LastFinding == "" ||
		st.AuditHead.Seq <= last || len(st.AuditHead.Fingerprint) != 19 || st.Health.Status != "ok" {
		t.Fatalf("backup status after the finding: %d %+v", code, st)
	}
	in.stop()
	out, err = hearth(t, "", "verify", "--data", in.data)
	if err == nil || !strings.Contains(out, "found at start") {
		t.Fatalf("verify after the finding was recorded: %v\n%s", err, out)
	}
	t.Logf("verify after the start:\n%s", out)
}

// TestVerifyAgainstBackupCatchesAForgedHead: with the audit key (plain key
// mode: it is on the same disk) the chain can be cut and its head forged so
// that verify alone says all good. The anchor a backup left beside it, the
// newest backup in the nightly folder, and the head the owner wrote down
// from the console all catch it.
func TestVerifyAgainstBackupCatchesAForgedHead(t *testing.T) {
	in := newClinic(t)
	in.start()
	owner := in.owner()
	addPatients(t, owner, 6, "Anchor")
	var st ownerStatus
	if code := owner.json("GET", "/api/v1/backup/status", nil, &st); code != 200 || st.AuditHead.Seq == 0 {
		t.Fatalf("backup status: %d %+v", code, st)
	}
	written := fmt.Sprintf("%d:%s", st.AuditHead.Seq, st.AuditHead.Fingerprint)
	nightly := t.TempDir()
	backup := filepath.Join(nightly, "hearth-20261201-020000.backup")
	out, err := hearth(t, "", "backup", "--data", in.data, backup) // through the running server
	if err != nil || !strings.Contains(out, "Audit head at the backup") {
		t.Fatalf("backup: %v\n%s", err, out)
	}
	var anchor struct {
		AuditSeq uint64 `json:"audit_seq"`
		AuditMAC string `json:"audit_mac"`
	}
	if b, err := os.ReadFile(backup + ".anchor"); err != nil || json.Unmarshal(b, &anchor) != nil || anchor.AuditSeq < st.AuditHead.Seq || anchor.AuditMAC == "" {
		t.Fatalf("anchor file: %s %v", b, err)
	}
	addPatients(t, owner, 4, "After")
	in.stop()
	for _, args := range [][]string{{"--against", backup}, {"--backups", nightly}, {"--head", written}} {
		if out, err := hearth(t, "", append([]string{"verify", "--data", in.data}, args...)...); err != nil || !strings.Contains(out, "all good") {
			t.Fatalf("verify %v before the attack: %v\n%s", args, err, out)
		}
	}

	v, err := vault.Load(filepath.Join(in.data, "keys"))
	if err != nil {
		t.Fatal(err)
	}
	key, err := v.AuditKey()
	if err != nil {
		t.Fatal(err)
	}
	cutAuditTail(t, filepath.Join(in.data, "hearth.db"), st.AuditHead.Seq-1, key)
	if out, err := hearth(t, "", "verify", "--data", in.data); err != nil || !strings.Contains(out, "all good") {
		t.Fatalf("verify without an anchor should not see a rewrite made with the key (what SECURITY.md says): %v\n%s", err, out)
	}
	for _, args := range [][]string{{"--against", backup}, {"--backups", nightly}, {"--head", written}} {
		out, err := hearth(t, "", append([]string{"verify", "--data", in.data}, args...)...)
		if err == nil || !strings.Contains(out, "no longer holds") {
			t.Errorf("verify %v after a forged cut: %v\n%s", args, err, out)
		}
		t.Logf("verify %v after a forged cut:\n%s", args, out)
	}
	// Without the anchor file, the recovery key reads it from the backup.
	if err := os.Rename(backup+".anchor", backup+".moved"); err != nil {
		t.Fatal(err)
	}
	if out, err := hearth(t, "", "verify", "--data", in.data, "--against", backup); err == nil || !strings.Contains(out, "--recovery-key") {
		t.Errorf("verify against a backup without its anchor and without the key: %v\n%s", err, out)
	}
	keyFile := filepath.Join(t.TempDir(), "recovery.txt")
	if err := os.WriteFile(keyFile, []byte(in.recovery+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := hearth(t, "", "verify", "--data", in.data, "--against", backup, "--recovery-key", keyFile); err == nil || !strings.Contains(out, "no longer holds") {
		t.Errorf("verify against the backup's own header: %v\n%s", err, out)
	}
}

// damageAuditPages flips the page headers of the audit bucket's root and
// of one of the patients bucket's pages in a stopped server's file.
func damageAuditPages(t *testing.T, dbPath string) {
	t.Helper()
	db, err := bbolt.Open(dbPath, 0o600, &bbolt.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	var pages []uint64
	pageSize := db.Info().PageSize
	err = db.View(func(tx *bbolt.Tx) error {
		for _, name := range []string{"rec:audit", "rec:patients"} {
			if b := tx.Bucket([]byte(name)); b != nil && b.Root() != 0 {
				pages = append(pages, uint64(b.Root()))
			}
		}
		return nil
	})
	if cerr := db.Close(); cerr != nil {
		t.Fatalf("closing %s: %v", dbPath, cerr)
	}
	if err != nil {
		t.Fatal(err)
	}
	if len(pages) < 2 {
		t.Fatalf("the audit and patients buckets have no pages of their own: %v", pages)
	}
	data, err := os.ReadFile(dbPath)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pages {
		for i := 8; i < 16; i++ { // flags, count, overflow
			data[int(p)*pageSize+i] ^= 0xa5
		}
	}
	if err := os.WriteFile(dbPath, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestVerifyDamagedDatabase: verify on a byte-flipped file reports the
// damage and the restore command and exits non-zero, with no Go panic
// trace and without changing a byte; a 0-byte file stays 0 bytes.
func TestVerifyDamagedDatabase(t *testing.T) {
	in := newClinic(t)
	in.start()
	addPatients(t, in.owner(), 40, "Damage")
	in.stop()
	db := filepath.Join(in.data, "hearth.db")
	damageAuditPages(t, db)
	before := fileHash(t, db)
	out, err := hearth(t, "", "verify", "--data", in.data)
	if err == nil {
		t.Fatalf("verify passed a damaged file:\n%s", out)
	}
	for _, want := range []string{"damaged", "hearth restore --data", "rec:audit"} {
		if !strings.Contains(out, want) {
			t.Errorf("verify's report lacks %q:\n%s", want, out)
		}
	}
	for _, bad := range []string{"goroutine ", "panic:", ".go:"} {
		if strings.Contains(out, bad) {
			t.Errorf("verify printed a Go trace (%q):\n%s", bad, out)
		}
	}
	if fileHash(t, db) != before {
		t.Fatal("verify changed the damaged file")
	}
	t.Logf("verify of the damaged file:\n%s", out)

	// The same data folder (its keys) with its database emptied.
	empty := in.data
	if err := os.WriteFile(filepath.Join(empty, "hearth.db"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err = hearth(t, "", "verify", "--data", empty)
	if err == nil || !strings.Contains(out, "empty") || !strings.Contains(out, "hearth restore") {
		t.Errorf("verify of a 0-byte database: %v\n%s", err, out)
	}
	if fi, err := os.Stat(filepath.Join(empty, "hearth.db")); err != nil || fi.Size() != 0 {
		t.Fatalf("verify wrote into the 0-byte database: %v %v", fi.Size(), err)
	}
}

// TestServeDamagedDatabaseDegrades: serve on a byte-flipped file finds the
// damage right after start: /healthz says degraded with a reason, staff
// screens are a plain page saying how to restore (and the API refuses with
// code "degraded"), and patient pages say the system is down and give the
// clinic's phone number.
func TestServeDamagedDatabaseDegrades(t *testing.T) {
	in := newClinic(t)
	in.start()
	owner := in.owner()
	if code := owner.json("PUT", "/api/v1/settings", map[string]any{"phone": "555-201-0000"}, nil); code != 200 {
		t.Fatalf("settings: %d", code)
	}
	addPatients(t, owner, 40, "Degraded")
	in.stop()
	damageAuditPages(t, filepath.Join(in.data, "hearth.db"))
	in.start()

	var h struct {
		Status          string `json:"status"`
		Reason          string `json:"reason"`
		RecoveredPanics int64  `json:"recovered_panics"`
	}
	deadline := time.Now().Add(20 * time.Second)
	var pollErr error // the last poll's failure, while the server starts
	for h.Status != "degraded" && time.Now().Before(deadline) {
		resp, err := http.Get(in.base() + "/healthz")
		if err == nil {
			err = json.NewDecoder(resp.Body).Decode(&h)
			if cerr := resp.Body.Close(); err == nil {
				err = cerr
			}
		}
		pollErr = err
		time.Sleep(100 * time.Millisecond)
	}
	if h.Status != "degraded" || !strings.Contains(h.Reason, "damaged") {
		t.Fatalf("/healthz on a damaged file: %+v (last poll error: %v)\n%s", h, pollErr, in.log.String())
	}
	// The start's audit check read the damaged audit page: bbolt's panic
	// was recovered, and counted where the owner sees it.
	if h.RecoveredPanics < 1 {
		t.Errorf("/healthz does not count the recovered panic: %+v", h)
	}
	get := func(path string) (int, string) {
		t.Helper()
		req, err := http.NewRequest("GET", in.base()+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Accept-Language", "es")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		_, err = b.ReadFrom(resp.Body)
		if cerr := resp.Body.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			t.Fatalf("reading %s: %v", path, err)
		}
		return resp.StatusCode, b.String()
	}
	if code, body := get("/staff/"); code != 503 || !strings.Contains(body, "hearth restore --data") || !strings.Contains(body, "damaged") || !strings.Contains(body, "hit damaged pages") {
		t.Errorf("staff console on a damaged file: %d\n%s", code, body)
	}
	if code, body := get("/api/v1/items"); code != 503 || !strings.Contains(body, `"degraded"`) {
		t.Errorf("staff API on a damaged file: %d %s", code, body)
	}
	for _, p := range []string{"/", "/me", "/contact"} {
		if code, body := get(p); code != 503 || !strings.Contains(body, "555-201-0000") || !strings.Contains(body, "llame a la clínica") {
			t.Errorf("patient page %s on a damaged file: %d\n%s", p, code, body)
		}
	}
	if !strings.Contains(in.log.String(), "THE DATABASE IS DAMAGED") {
		t.Errorf("the log does not say the database is damaged:\n%s", in.log.String())
	}
}
