// Package cli implements Hearth's commands (serve, setup, backup, restore,
// verify, version): flags, prompts, exit codes and what a person reads in
// the terminal. The storage backend is handed in by package app.
//
// Nothing here prints PHI: command output names counts, ids and files only.
package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"strings"
	"time"

	"hearth/app/clinic"
	"hearth/app/config"
	"hearth/app/group"
	"hearth/app/store"
	"hearth/app/vault"
)

// Version is Hearth's release, set at build time with -ldflags "-X hearth/app/cli.Version=...".
var Version = "0.1.0"

// Backend opens and restores the configured store: the built-in database
// in the data folder, or PostgreSQL when c.Store is set. Its errors never
// carry a database password.
type Backend interface {
	// Kind is "bbolt" or "postgres"; backups record it.
	Kind(config.Config) string
	// Ping reports whether the store can be reached at all: nil for the
	// built-in database, an error a person understands when a database
	// server does not answer or refuses the sign-in.
	Ping(ctx context.Context, c config.Config) error
	// Exists reports whether the store already holds a clinic. A database
	// server that cannot be reached reads as false; Ping says why.
	Exists(config.Config) bool
	// Open opens the store; a bbolt file held by another process is an
	// error wrapping store.ErrInUse after timeout.
	Open(ctx context.Context, c config.Config, timeout time.Duration, log *slog.Logger) (store.Store, error)
	// OpenReadOnly opens the store for `hearth verify`: the built-in
	// database read-only (never written, not even when empty); PostgreSQL
	// as Open does.
	OpenReadOnly(ctx context.Context, c config.Config, timeout time.Duration, log *slog.Logger) (store.Store, error)
	// Restore writes a backup's store snapshot into an empty store.
	Restore(ctx context.Context, c config.Config, r io.Reader) error
	// Size is the bytes the store uses (for the benchmark's disk figure).
	Size(ctx context.Context, c config.Config) (int64, error)
}

// Env is everything a command touches outside itself.
type Env struct {
	Files   fs.FS
	Stdin   io.Reader
	Stdout  io.Writer
	Stderr  io.Writer
	Getenv  func(string) string
	Backend Backend
	// Argon2 and Now are for tests; zero values mean production.
	Argon2 clinic.Argon2Params
	Now    func() time.Time
}

const usage = `Hearth: patient messaging for small clinics.

Usage:
  hearth serve   [--data DIR] [--addr HOST:PORT] [--tls-cert F --tls-key F] [--store URL]
  hearth setup   --data DIR [--store URL] --clinic NAME --owner-name NAME --owner-email EMAIL   (password on standard input)
  hearth backup  [--data DIR] [--store URL] FILE
  hearth restore [--data DIR] [--store URL] [--recovery-key F] FILE
  hearth recover-passphrase [--data DIR] [--store URL] [--recovery-key F]   (lost passphrase; the new one on standard input, twice)
  hearth verify  [--data DIR] [--store URL] [--against BACKUP | --backups DIR | --head SEQ:FINGERPRINT] [--recovery-key F]
  hearth bench   [--data DIR] [--store URL] [--patients N] [--messages N] [--staff N] [--json]
  hearth migrate-store --from DIR --to URL   (copy a one-PC clinic into PostgreSQL)
  hearth version

--store URL is a postgres://USER:PASSWORD@HOST/DATABASE address: the database a
clinic group's nodes share. Without it Hearth keeps everything in DIR/hearth.db.
The keys always stay in DIR/keys, on every node.

Every command reads HEARTH_DATA (default ./hearth-data), HEARTH_ADDR and
HEARTH_STORE.
`

// Run runs one command and returns the exit code.
func Run(ctx context.Context, args []string, env Env) int {
	if env.Now == nil {
		env.Now = time.Now
	}
	// Every command may hold a key or a record in memory: none may leave
	// it in a core file (checklist 64).
	if err := noCoreDumps(); err != nil {
		_, _ = fmt.Fprintf(env.Stderr, "hearth: warning: cannot turn core dumps off: %v\n", err)
	}
	cmd := "serve"
	if len(args) > 0 {
		cmd, args = args[0], args[1:]
	}
	var err error
	switch cmd {
	case "serve":
		err = serve(ctx, args, env)
	case "setup":
		err = setup(ctx, args, env)
	case "backup":
		err = backup(ctx, args, env)
	case "restore":
		err = restore(ctx, args, env)
	case "recover-passphrase":
		err = recoverPassphrase(ctx, args, env)
	case "verify":
		err = verify(ctx, args, env)
	case "bench":
		err = benchCmd(ctx, args, env)
	case "migrate-store":
		err = migrateStore(ctx, args, env)
	case "version", "--version", "-v":
		_, err = fmt.Fprintf(env.Stdout, "hearth %s\n", Version)
		if note := testBuild(); note != "" && err == nil {
			_, err = fmt.Fprintln(env.Stdout, note)
		}
	case "help", "--help", "-h":
		_, err = fmt.Fprint(env.Stdout, usage)
	default:
		// The exit code says it if standard error cannot.
		_, _ = fmt.Fprintf(env.Stderr, "hearth: unknown command %q\n\n%s", cmd, usage)
		return 2
	}
	if err != nil {
		if errors.Is(err, errUsage) {
			return 2
		}
		// The exit code says it if standard error cannot.
		_, _ = fmt.Fprintf(env.Stderr, "hearth %s: %v\n", cmd, err)
		return 1
	}
	return 0
}

// closeAfter closes c as a command ends; if the command had succeeded,
// the close's error becomes the command's (*err).
func closeAfter(err *error, c io.Closer) {
	if cerr := c.Close(); cerr != nil && *err == nil {
		*err = cerr
	}
}

var errUsage = errors.New("usage")

func parse(cmd string, args []string, which config.Flags, env Env) (config.Config, error) {
	c, err := config.Parse(cmd, args, which, env.Getenv, env.Stderr)
	if err != nil {
		if !strings.HasPrefix(err.Error(), "config:") {
			return c, errUsage
		}
		return c, errors.New(strings.TrimPrefix(err.Error(), "config: "))
	}
	return c, nil
}

func logger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

// node is an opened data folder: keys, store and clinic.
type node struct {
	cfg    config.Config
	vault  *vault.Vault
	store  store.Store
	clinic *clinic.Clinic
}

func (n *node) Close() error {
	if n.store != nil {
		return n.store.Close()
	}
	return nil
}

// errNoKeys explains a data folder whose keys are gone.
func errNoKeys(c config.Config) error {
	return fmt.Errorf("the keys folder %s is missing or incomplete, so the records in %s cannot be opened.\n"+
		"Hearth will not create new keys over existing data. To fix this, either:\n"+
		"  - put back the keys folder from your copy of this machine's data folder, or\n"+
		"  - restore the latest backup into a new data folder with your recovery key:\n"+
		"      hearth restore --data NEWFOLDER --recovery-key recovery.txt BACKUPFILE", c.KeysDir(), c.Data)
}

// openNode opens an existing clinic: the keys in the data folder and the
// configured store. It never creates keys.
func openNode(ctx context.Context, c config.Config, env Env, timeout time.Duration, log *slog.Logger, events clinic.Publisher) (*node, error) {
	return openNodeMode(ctx, c, env, timeout, log, events, false)
}

// openNodeMode is openNode, read-only when readOnly is set (verify).
func openNodeMode(ctx context.Context, c config.Config, env Env, timeout time.Duration, log *slog.Logger, events clinic.Publisher, readOnly bool) (*node, error) {
	if !env.Backend.Exists(c) {
		if err := env.Backend.Ping(ctx, c); err != nil {
			return nil, err
		}
		if c.Store != "" {
			return nil, fmt.Errorf("the %s holds no Hearth clinic yet (run `hearth serve` or `hearth setup` with this --store to make one, `hearth restore` to restore a backup, or `hearth migrate-store` to move a one-PC clinic into it)", c.Where())
		}
		return nil, fmt.Errorf("no Hearth database in %s (run `hearth serve` or `hearth setup` to make one, or `hearth restore` to restore a backup)", c.Data)
	}
	v, err := vault.Load(c.KeysDir())
	if errors.Is(err, vault.ErrNoKeys) {
		return nil, errNoKeys(c)
	}
	if err != nil {
		return nil, err
	}
	open := env.Backend.Open
	if readOnly {
		open = env.Backend.OpenReadOnly
	}
	st, err := open(ctx, c, timeout, log)
	if err != nil {
		return nil, err
	}
	cl, err := clinic.Open(ctx, clinic.Deps{Store: st, Vault: v, Log: log, Now: env.Now, Events: events, Peers: group.PeersOf(events), Argon2: env.Argon2, Files: env.Files, ReadOnly: readOnly})
	if err != nil {
		if errors.Is(err, clinic.ErrWrongKeys) {
			err = fmt.Errorf("%w\n(keys: %s)", err, c.KeysDir())
		}
		return nil, errors.Join(err, st.Close())
	}
	return &node{cfg: c, vault: v, store: st, clinic: cl}, nil
}

// createNode makes a new clinic: keys first, then the database.
// It returns the recovery secret, shown once and never stored.
func createNode(ctx context.Context, c config.Config, env Env, log *slog.Logger, events clinic.Publisher) (*node, string, error) {
	// A database server that does not answer must say so before anything
	// is written: it is not an empty database.
	if err := env.Backend.Ping(ctx, c); err != nil {
		return nil, "", err
	}
	if env.Backend.Exists(c) {
		return nil, "", fmt.Errorf("%s already holds a clinic", c.Where())
	}
	if err := os.MkdirAll(c.Data, 0o700); err != nil {
		return nil, "", err
	}
	v, recovery, err := vault.Create(c.KeysDir())
	if errors.Is(err, vault.ErrExists) {
		if c.Store != "" {
			return nil, "", fmt.Errorf("%s has a keys folder, but the %s holds no clinic. Give the --store of the clinic these keys belong to, or move the keys folder away to start a new clinic", c.Data, c.Where())
		}
		return nil, "", fmt.Errorf("%s has a keys folder but no database. Restore the database that belongs to these keys, or move the keys folder away to start a new clinic", c.Data)
	}
	if err != nil {
		return nil, "", err
	}
	// Keys made here belong to no database until Init records them; if that
	// fails they go, so the next attempt starts clean.
	dropKeys := func() error { return os.RemoveAll(c.KeysDir()) }
	st, err := env.Backend.Open(ctx, c, time.Second, log)
	if err != nil {
		return nil, "", errors.Join(err, dropKeys())
	}
	if err := clinic.Init(ctx, st, v, env.Now()); err != nil {
		if errors.Is(err, clinic.ErrConflict) {
			err = fmt.Errorf("%s was given a clinic by another node just now; copy that node's keys folder into %s and start again", c.Where(), c.Data)
		}
		return nil, "", errors.Join(err, st.Close(), dropKeys())
	}
	cl, err := clinic.Open(ctx, clinic.Deps{Store: st, Vault: v, Log: log, Now: env.Now, Events: events, Peers: group.PeersOf(events), Argon2: env.Argon2, Files: env.Files})
	if err != nil {
		return nil, "", errors.Join(err, st.Close())
	}
	return &node{cfg: c, vault: v, store: st, clinic: cl}, recovery, nil
}

func readPassword(r io.Reader) (string, error) {
	sc := bufio.NewScanner(r)
	if !sc.Scan() {
		return "", errors.New("no owner password on standard input (give it on one line, twice to confirm)")
	}
	p := strings.TrimRight(sc.Text(), "\r")
	if sc.Scan() {
		if again := strings.TrimRight(sc.Text(), "\r"); again != "" && again != p {
			return "", errors.New("the two passwords on standard input do not match")
		}
	}
	return p, nil
}

// printRecovery shows the recovery key with what to do with it. It is shown
// only this once, so a failed write is the command's failure.
func printRecovery(w io.Writer, secret string) error {
	_, err := fmt.Fprintf(w, `
RECOVERY KEY — print this or write it down, and keep it away from this computer
(a safe, a locked drawer at home). With it and a backup file you can restore
every record if this computer dies or is stolen. Hearth does not keep it and
cannot show it again.

    %s

`, secret)
	return err
}

// testBuild says so when this binary was linked with the whole-program
// tests' cheap crypto costs (tests/harness_test.go passes -X for
// vault.testScryptLogN and clinic.testArgon2), and is "" for every real
// build. `hearth version` prints it and serve logs it as a warning, so such a
// binary cannot pass for a clinic's.
func testBuild() string {
	logN, errS := vault.LinkedScryptWorkFactor()
	p, errA := clinic.LinkedArgon2()
	if logN == 0 && p == (clinic.Argon2Params{}) && errS == nil && errA == nil {
		return ""
	}
	return fmt.Sprintf("built for tests with cheap crypto (passphrase scrypt 2^%d, password argon2id m=%d,t=%d,p=%d): not for clinic use", logN, p.MemKiB, p.Time, p.Threads)
}
