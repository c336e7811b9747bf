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
	"hearth/app/store"
	"hearth/app/vault"
)

// Version is Hearth's release, set at build time with -ldflags "-X hearth/app/cli.Version=...".
var Version = "0.1.0"

// Backend opens and restores the configured store.
type Backend interface {
	Kind(config.Config) string
	Exists(config.Config) bool
	Open(ctx context.Context, c config.Config, timeout time.Duration) (store.Store, error)
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
  hearth serve   [--data DIR] [--addr HOST:PORT] [--tls-cert F --tls-key F]
  hearth setup   --data DIR --clinic NAME --owner-name NAME --owner-email EMAIL   (password on standard input)
  hearth backup  [--data DIR] FILE
  hearth restore [--data DIR] [--recovery-key F] FILE
  hearth verify  [--data DIR]
  hearth bench   [--data DIR] [--patients N] [--messages N] [--staff N] [--json]
  hearth version

Every command reads HEARTH_DATA (default ./hearth-data) and HEARTH_ADDR.
`

// Run runs one command and returns the exit code.
func Run(ctx context.Context, args []string, env Env) int {
	if env.Now == nil {
		env.Now = time.Now
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
	case "verify":
		err = verify(ctx, args, env)
	case "bench":
		err = benchCmd(ctx, args, env)
	case "version", "--version", "-v":
		fmt.Fprintf(env.Stdout, "hearth %s\n", Version)
	case "help", "--help", "-h":
		fmt.Fprint(env.Stdout, usage)
	default:
		fmt.Fprintf(env.Stderr, "hearth: unknown command %q\n\n%s", cmd, usage)
		return 2
	}
	if err != nil {
		if errors.Is(err, errUsage) {
			return 2
		}
		fmt.Fprintf(env.Stderr, "hearth %s: %v\n", cmd, err)
		return 1
	}
	return 0
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

// openNode opens an existing data folder. It never creates keys.
func openNode(ctx context.Context, c config.Config, env Env, timeout time.Duration, log *slog.Logger, events clinic.Publisher) (*node, error) {
	if !env.Backend.Exists(c) {
		return nil, fmt.Errorf("no Hearth database in %s (run `hearth serve` or `hearth setup` to make one, or `hearth restore` to restore a backup)", c.Data)
	}
	v, err := vault.Load(c.KeysDir())
	if errors.Is(err, vault.ErrNoKeys) {
		return nil, errNoKeys(c)
	}
	if err != nil {
		return nil, err
	}
	st, err := env.Backend.Open(ctx, c, timeout)
	if err != nil {
		return nil, err
	}
	cl, err := clinic.Open(ctx, clinic.Deps{Store: st, Vault: v, Log: log, Now: env.Now, Events: events, Argon2: env.Argon2, Files: env.Files})
	if err != nil {
		st.Close()
		if errors.Is(err, clinic.ErrWrongKeys) {
			return nil, fmt.Errorf("%w\n(keys: %s)", err, c.KeysDir())
		}
		return nil, err
	}
	return &node{cfg: c, vault: v, store: st, clinic: cl}, nil
}

// createNode makes a new data folder: keys first, then the database.
// It returns the recovery secret, shown once and never stored.
func createNode(ctx context.Context, c config.Config, env Env, log *slog.Logger, events clinic.Publisher) (*node, string, error) {
	if env.Backend.Exists(c) {
		return nil, "", fmt.Errorf("%s already holds a database", c.Data)
	}
	if err := os.MkdirAll(c.Data, 0o700); err != nil {
		return nil, "", err
	}
	v, recovery, err := vault.Create(c.KeysDir())
	if errors.Is(err, vault.ErrExists) {
		return nil, "", fmt.Errorf("%s has a keys folder but no database. Restore the database that belongs to these keys, or move the keys folder away to start a new clinic", c.Data)
	}
	if err != nil {
		return nil, "", err
	}
	st, err := env.Backend.Open(ctx, c, time.Second)
	if err != nil {
		return nil, "", err
	}
	if err := clinic.Init(ctx, st, v, env.Now()); err != nil {
		st.Close()
		return nil, "", err
	}
	cl, err := clinic.Open(ctx, clinic.Deps{Store: st, Vault: v, Log: log, Now: env.Now, Events: events, Argon2: env.Argon2, Files: env.Files})
	if err != nil {
		st.Close()
		return nil, "", err
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

// printRecovery shows the recovery key with what to do with it.
func printRecovery(w io.Writer, secret string) {
	fmt.Fprintf(w, `
RECOVERY KEY — print this or write it down, and keep it away from this computer
(a safe, a locked drawer at home). With it and a backup file you can restore
every record if this computer dies or is stolen. Hearth does not keep it and
cannot show it again.

    %s

`, secret)
}
