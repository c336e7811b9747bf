package tests

import (
	"context"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"hearth/app/store/pgstore/pgtest"
)

// The clinic-group commands against a real PostgreSQL: moving a one-PC
// clinic into it, backing it up and restoring it while nodes serve, and
// verify finding damage. pgtest gives each test a fresh, empty database (and
// skips without PostgreSQL unless HEARTH_REQUIRE_PG is set).

// newPGClinic sets up a clinic whose records live in PostgreSQL and whose
// keys live in its data folder; start() serves it with --store.
func newPGClinic(t *testing.T, dsn string) *instance {
	t.Helper()
	data := filepath.Join(t.TempDir(), "data")
	out, err := hearth(t, ownerPassword+"\n"+ownerPassword+"\n", "setup", "--data", data, "--store", dsn,
		"--clinic", "Maple Street Family Clinic", "--owner-name", "Olive Owner", "--owner-email", "owner@maple.test")
	if err != nil {
		t.Fatalf("hearth setup --store: %v\n%s", err, out)
	}
	rk := recoveryRe.FindString(out)
	if rk == "" {
		t.Fatalf("setup printed no recovery key:\n%s", out)
	}
	if _, err := os.Stat(filepath.Join(data, "hearth.db")); err == nil {
		t.Fatal("setup --store made a built-in database file too")
	}
	return &instance{t: t, data: data, recovery: rk, extra: []string{"--store", dsn}}
}

// seedPatient creates a patient with a message item and a staff reply, and
// returns their ids.
func seedPatient(t *testing.T, c *client, name string) (patient, item string) {
	t.Helper()
	var p, it struct{ ID string }
	if code := c.json("POST", "/api/v1/patients", map[string]string{"name": name, "dob": "1975-03-14", "phone": "555-0142", "lang": "en"}, &p); code != 201 {
		t.Fatalf("create patient: %d", code)
	}
	if code := c.json("POST", "/api/v1/items", map[string]any{"patient_id": p.ID, "type": "message", "body": "Question about my lab results"}, &it); code != 201 {
		t.Fatalf("create item: %d", code)
	}
	if code := c.json("POST", "/api/v1/items/"+it.ID+"/messages", map[string]any{"body": "We will call you this afternoon"}, nil); code != 201 {
		t.Fatalf("reply: %d", code)
	}
	return p.ID, it.ID
}

// checkPatient confirms the patient and the item's thread through the API.
func checkPatient(t *testing.T, c *client, name, patient, item string) {
	t.Helper()
	var p struct{ Name string }
	if code := c.json("GET", "/api/v1/patients/"+patient, nil, &p); code != 200 || p.Name != name {
		t.Fatalf("patient %s: status %d, name matches: %v", patient, code, p.Name == name)
	}
	var it struct {
		Messages []struct{ Body string }
	}
	if code := c.json("GET", "/api/v1/items/"+item, nil, &it); code != 200 {
		t.Fatalf("item %s: status %d", item, code)
	}
	var bodies []string
	for _, m := range it.Messages {
		bodies = append(bodies, m.Body)
	}
	all := strings.Join(bodies, "\n")
	if !strings.Contains(all, "Question about my lab results") || !strings.Contains(all, "We will call you this afternoon") {
		t.Fatalf("item %s lost messages: %d left", item, len(it.Messages))
	}
}

// tableCounts counts the rows of every table in the database.
func tableCounts(t *testing.T, dsn string) map[string]int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn := pgtest.Conn(t, dsn)
	rows, err := conn.Query(ctx, "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1")
	if err != nil {
		t.Fatal(err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int64{}
	for _, n := range names {
		var c int64
		if err := conn.QueryRow(ctx, "SELECT count(*) FROM "+pgx.Identifier{n}.Sanitize()).Scan(&c); err != nil {
			t.Fatal(err)
		}
		out[n] = c
	}
	return out
}

// TestMigrateStoreToPostgres: a one-PC clinic moves into PostgreSQL with
// migrate-store; a node with the same keys serves the same patient and
// thread from there; running it again changes nothing; it refuses a running
// server and a database that holds another clinic; the data folder is
// never changed.
func TestMigrateStoreToPostgres(t *testing.T) {
	dsn := pgtest.DSN(t)
	in := newClinic(t)
	in.start()
	c := in.owner()
	const name = "Wilhelmina Applethorpe"
	patient, item := seedPatient(t, c, name)
	if out, err := hearth(t, "", "migrate-store", "--from", in.data, "--to", dsn); err == nil || !strings.Contains(out, "stop hearth serve first") {
		t.Fatalf("migrate-store while serving: %v\n%s", err, out)
	}
	in.stop()

	db := filepath.Join(in.data, "hearth.db")
	sum := fileHash(t, db)
	out, err := hearth(t, "", "migrate-store", "--from", in.data, "--to", dsn)
	if err != nil {
		t.Fatalf("migrate-store: %v\n%s", err, out)
	}
	for _, want := range []string{"copied", "Done", "sampled records open", "Next steps", "--store"} {
		if !strings.Contains(out, want) {
			t.Errorf("migrate-store output lacks %q:\n%s", want, out)
		}
	}
	for _, phi := range []string{"Wilhelmina", "Applethorpe", "555-0142", "lab results"} {
		if strings.Contains(out, phi) {
			t.Errorf("migrate-store printed PHI %q", phi)
		}
	}
	if fileHash(t, db) != sum {
		t.Error("migrate-store changed the data folder's database")
	}
	counts := tableCounts(t, dsn)

	// Again: safe, and nothing moves.
	out, err = hearth(t, "", "migrate-store", "--from", in.data, "--to", dsn)
	if err != nil {
		t.Fatalf("migrate-store a second time: %v\n%s", err, out)
	}
	if again := tableCounts(t, dsn); !maps.Equal(counts, again) {
		t.Errorf("the second migrate-store changed row counts: %v, then %v", counts, again)
	}

	// Another clinic's data folder cannot be poured into this one.
	other := newClinic(t)
	if out, err := hearth(t, "", "migrate-store", "--from", other.data, "--to", dsn); err == nil || !strings.Contains(out, "different clinic") {
		t.Fatalf("migrate-store of another clinic into this database: %v\n%s", err, out)
	}
	if again := tableCounts(t, dsn); !maps.Equal(counts, again) {
		t.Errorf("the refused migrate-store changed row counts")
	}

	// A node: its own data folder holding a copy of the keys, and --store.
	nodeData := filepath.Join(t.TempDir(), "node")
	copyDir(t, filepath.Join(in.data, "keys"), filepath.Join(nodeData, "keys"))
	node := &instance{t: t, data: nodeData, extra: []string{"--store", dsn}}
	node.start()
	checkPatient(t, node.owner(), name, patient, item)
	if strings.Contains(node.log.String(), "/setup/") {
		t.Error("the node offered first-time setup on a migrated clinic")
	}
	node.stop()

	// Now that the group has written, copying the old folder again would
	// put older records back: refused.
	if out, err := hearth(t, "", "migrate-store", "--from", in.data, "--to", dsn); err == nil || !strings.Contains(out, "changes made after") {
		t.Fatalf("migrate-store over a database the group has used: %v\n%s", err, out)
	}
	if fileHash(t, db) != sum {
		t.Error("migrate-store changed the data folder's database")
	}
}

// TestPostgresBackupRestoreVerify: backup and verify run beside a serving
// node; the backup restores with the recovery key into a new database and a
// new data folder, and into a one-PC data folder; a one-PC backup is refused
// by PostgreSQL with the way to move it (migrate-store).
func TestPostgresBackupRestoreVerify(t *testing.T) {
	dsn := pgtest.DSN(t)
	in := newPGClinic(t, dsn)
	in.start()
	c := in.owner()
	const name = "Bartholomew Quince"
	patient, item := seedPatient(t, c, name)

	backup := filepath.Join(t.TempDir(), "group.backup")
	if out, err := hearth(t, "", "backup", "--data", in.data, "--store", dsn, backup); err != nil {
		t.Fatalf("backup while serving: %v\n%s", err, out)
	}
	if out, err := hearth(t, "", "verify", "--data", in.data, "--store", dsn); err != nil || !strings.Contains(out, "all good") {
		t.Fatalf("verify while serving: %v\n%s", err, out)
	}
	// The node goes on serving.
	checkPatient(t, c, name, patient, item)
	in.stop()

	keyFile := filepath.Join(t.TempDir(), "recovery.txt")
	writeTestFile(t, keyFile, []byte(in.recovery+"\n"))

	// A clinic group going back to one PC: the PostgreSQL backup restores
	// into a data folder's built-in database, verifies, and serves.
	dst := filepath.Join(t.TempDir(), "as-bbolt")
	if out, err := hearth(t, "", "restore", "--data", dst, "--recovery-key", keyFile, backup); err != nil || !strings.Contains(out, "audit trail intact") {
		t.Fatalf("restore of a PostgreSQL backup into a data folder: %v\n%s", err, out)
	}
	if _, err := os.Stat(filepath.Join(dst, "hearth.db")); err != nil {
		t.Fatalf("the restore made no built-in database: %v", err)
	}
	one := &instance{t: t, data: dst}
	one.start()
	checkPatient(t, one.owner(), name, patient, item)
	one.stop()

	fresh := pgtest.DSN(t)
	restored := filepath.Join(t.TempDir(), "restored")
	out, err := hearth(t, "", "restore", "--data", restored, "--store", fresh, "--recovery-key", keyFile, backup)
	if err != nil {
		t.Fatalf("restore into a new PostgreSQL database: %v\n%s", err, out)
	}
	if strings.Contains(out, "hearth.db") {
		t.Errorf("restore --store mentions a built-in database:\n%s", out)
	}
	if _, err := os.Stat(filepath.Join(restored, "keys")); err != nil {
		t.Fatalf("restore --store wrote no keys folder: %v", err)
	}
	if out, err := hearth(t, "", "verify", "--data", restored, "--store", fresh); err != nil || !strings.Contains(out, "all good") {
		t.Fatalf("verify the restored clinic: %v\n%s", err, out)
	}
	// Restoring again into the now-used database is refused.
	if out, err := hearth(t, "", "restore", "--data", filepath.Join(t.TempDir(), "again"), "--store", fresh, "--recovery-key", keyFile, backup); err == nil || !strings.Contains(out, "already holds a clinic") {
		t.Fatalf("restore into a database that holds a clinic: %v\n%s", err, out)
	}
	r := &instance{t: t, data: restored, extra: []string{"--store", fresh}}
	r.start()
	checkPatient(t, r.owner(), name, patient, item)
	r.stop()

	// A one-PC backup does not restore into PostgreSQL; the message names the way.
	one = newClinic(t)
	oneBackup := filepath.Join(t.TempDir(), "one.backup")
	if out, err := hearth(t, "", "backup", "--data", one.data, oneBackup); err != nil {
		t.Fatalf("backup: %v\n%s", err, out)
	}
	oneKey := filepath.Join(t.TempDir(), "one.txt")
	writeTestFile(t, oneKey, []byte(one.recovery))
	out, err = hearth(t, "", "restore", "--data", filepath.Join(t.TempDir(), "x"), "--store", pgtest.DSN(t), "--recovery-key", oneKey, oneBackup)
	if err == nil || !strings.Contains(out, "migrate-store") {
		t.Fatalf("restore of a one-PC backup into PostgreSQL: %v\n%s", err, out)
	}
}

// TestPostgresVerifyFindsDamage: a record whose stored bytes were changed
// in the database is reported, by bucket and id, and verify fails.
func TestPostgresVerifyFindsDamage(t *testing.T) {
	dsn := pgtest.DSN(t)
	in := newPGClinic(t, dsn)
	if out, err := hearth(t, "", "verify", "--data", in.data, "--store", dsn); err != nil || !strings.Contains(out, "all good") {
		t.Fatalf("verify a fresh clinic: %v\n%s", err, out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn := pgtest.Conn(t, dsn)
	// Flip one byte in the middle of the owner's sealed staff record.
	var id string
	err := conn.QueryRow(ctx, `UPDATE hearth_records SET value = set_byte(value, length(value)/2, get_byte(value, length(value)/2) # 1)
		WHERE ctid = (SELECT ctid FROM hearth_records WHERE bucket = 'staff' LIMIT 1) RETURNING id`).Scan(&id)
	if err != nil {
		t.Fatalf("damage a record: %v", err)
	}
	out, err := hearth(t, "", "verify", "--data", in.data, "--store", dsn)
	if err == nil {
		t.Fatalf("verify passed a damaged record:\n%s", out)
	}
	if !regexp.MustCompile(`record staff/` + regexp.QuoteMeta(id) + ` does not open`).MatchString(out) {
		t.Fatalf("verify did not name the damaged record:\n%s", out)
	}
}

// TestPostgresFirstRunAndUnreachable: serve on an empty database runs
// first-time setup with the keys in the data folder; a database server that
// does not answer is named as the problem, with no keys made and no
// password shown.
func TestPostgresFirstRunAndUnreachable(t *testing.T) {
	dsn := pgtest.DSN(t)
	in := &instance{t: t, data: filepath.Join(t.TempDir(), "data"), extra: []string{"--store", dsn}}
	in.start()
	if !regexp.MustCompile(`http://\S+/setup/[a-z0-9]+`).MatchString(in.log.String()) {
		t.Fatalf("serve on an empty database printed no setup link:\n%s", in.log.String())
	}
	in.stop()
	if _, err := os.Stat(filepath.Join(in.data, "keys")); err != nil {
		t.Fatalf("first run made no keys folder: %v", err)
	}
	if _, err := os.Stat(filepath.Join(in.data, "hearth.db")); err == nil {
		t.Fatal("first run with --store made a built-in database file too")
	}

	const secret = "Sup3r-Secret-Pw"
	down := "postgres://hearth:" + secret + "@127.0.0.1:1/clinic?sslmode=disable"
	empty := filepath.Join(t.TempDir(), "empty")
	one := newClinic(t)
	for _, args := range [][]string{
		{"serve", "--data", empty, "--addr", freeAddr(t), "--store", down},
		{"verify", "--data", empty, "--store", down},
		{"migrate-store", "--from", one.data, "--to", down},
	} {
		out, err := hearth(t, "", args...)
		if err == nil {
			t.Fatalf("hearth %s with the database server down succeeded:\n%s", args[0], out)
		}
		if !strings.Contains(out, "cannot use the PostgreSQL database clinic on 127.0.0.1:1") {
			t.Errorf("hearth %s does not name the unreachable database:\n%s", args[0], out)
		}
		if strings.Contains(out, secret) {
			t.Errorf("hearth %s printed the database password:\n%s", args[0], out)
		}
	}
	if _, err := os.Stat(filepath.Join(empty, "keys")); err == nil {
		t.Error("serve made keys although the database server did not answer")
	}
}

// TestStorePasswordNeverInHelp: HEARTH_STORE may hold the database
// password; a command's help (asked for, or shown after a wrong flag) must
// not print it as a flag's default.
func TestStorePasswordNeverInHelp(t *testing.T) {
	for _, args := range [][]string{{"verify", "--bogus"}, {"serve", "-h"}, {"bench", "-h"}, {"migrate-store", "-h"}, {"backup", "-h"}} {
		cmd := exec.Command(binPath, args...)
		cmd.Env = append(os.Environ(), "HEARTH_STORE=postgres://hearth:Sup3r-Secret-PW@db.invalid/hearth")
		out, _ := cmd.CombinedOutput()
		if !strings.Contains(string(out), "-store") && !strings.Contains(string(out), "-to") {
			t.Fatalf("hearth %v printed no help:\n%s", args, out)
		}
		if strings.Contains(string(out), "Sup3r-Secret-PW") {
			t.Fatalf("hearth %v printed the database password:\n%s", args, out)
		}
	}
}
