// Package app is the one place that wires Hearth's concrete parts together:
// it picks the storage backend and hands everything to the commands in
// app/cli. Nothing else imports a concrete store backend.
package app

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"time"

	"hearth/app/cli"
	"hearth/app/clinic"
	"hearth/app/config"
	"hearth/app/store"
	"hearth/app/store/boltstore"
	"hearth/app/store/pgstore"
)

// Main runs one hearth command and returns the process exit code.
func Main(ctx context.Context, args []string, files fs.FS, stdin io.Reader, stdout, stderr io.Writer) int {
	return cli.Run(ctx, args, cli.Env{
		Files:   files,
		Stdin:   stdin,
		Stdout:  stdout,
		Stderr:  stderr,
		Getenv:  os.Getenv,
		Backend: backend{files: files},
	})
}

// backend chooses bbolt (the default: DATA/hearth.db) or, for clinic groups,
// PostgreSQL (c.Store, a postgres:// URL). The keys stay in DATA/keys
// either way.
//
// The URL may carry a password: no error leaves here with it (scrub), and
// nothing here logs the URL.
type backend struct {
	files fs.FS // the embed/ folder; PostgreSQL's migrations are in migrations/
}

var _ cli.Backend = backend{}

// pgProbeTimeout bounds a look at the database server (Ping, Exists): a
// server that is down or firewalled answers with an error, not a hang.
const pgProbeTimeout = 15 * time.Second

func (backend) Kind(c config.Config) string {
	if c.Store != "" {
		return "postgres"
	}
	return "bbolt"
}

func (b backend) Ping(ctx context.Context, c config.Config) error {
	if c.Store == "" {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, pgProbeTimeout)
	defer cancel()
	st, err := b.openPG(ctx, c, nil)
	if err != nil {
		return fmt.Errorf("cannot use the %s: %w\n"+
			"Check that the database server is running and reachable from this computer, and that the --store URL names the right host, database, user and password", c.Where(), err)
	}
	return st.Close()
}

// Exists: for bbolt, the database file is there; for PostgreSQL, the
// database can be reached and holds a clinic (clinic.Init's record
// meta/recipient). A fresh, empty database is "not yet", so `hearth serve
// --store URL` on it runs first-time setup.
func (b backend) Exists(c config.Config) bool {
	if c.Store == "" {
		_, err := os.Stat(c.DBPath())
		return err == nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), pgProbeTimeout)
	defer cancel()
	st, err := b.openPG(ctx, c, nil)
	if err != nil {
		return false
	}
	err = st.View(ctx, func(tx store.Tx) error {
		_, err := tx.Get(clinic.MetaBucket, "recipient")
		return err
	})
	// The probe's pool has done its work: a failure to close it (a
	// connection already broken) changes nothing about what it found.
	_ = st.Close()
	return err == nil
}

func (b backend) Open(ctx context.Context, c config.Config, timeout time.Duration, log *slog.Logger) (store.Store, error) {
	if c.Store != "" {
		return b.openPG(ctx, c, log)
	}
	return boltstore.Open(c.DBPath(), boltstore.Options{Timeout: timeout})
}

func (b backend) OpenReadOnly(ctx context.Context, c config.Config, timeout time.Duration, log *slog.Logger) (store.Store, error) {
	if c.Store != "" {
		return b.openPG(ctx, c, log)
	}
	return boltstore.Open(c.DBPath(), boltstore.Options{Timeout: timeout, ReadOnly: true})
}

func (b backend) openPG(ctx context.Context, c config.Config, log *slog.Logger) (*pgstore.Store, error) {
	opts, err := b.pgOptions(log)
	if err != nil {
		return nil, err
	}
	st, err := pgstore.Open(ctx, c.Store, opts)
	if err != nil {
		return nil, scrub(c.Store, err)
	}
	return st, nil
}

func (b backend) pgOptions(log *slog.Logger) (pgstore.Options, error) {
	mig, err := fs.Sub(b.files, "migrations")
	if err != nil {
		return pgstore.Options{}, fmt.Errorf("the PostgreSQL migrations are missing from this build: %w", err)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return pgstore.Options{Migrations: mig, Log: log}, nil
}

func (b backend) Restore(ctx context.Context, c config.Config, r io.Reader) error {
	if c.Store == "" {
		return boltstore.Restore(c.DBPath(), r)
	}
	opts, err := b.pgOptions(nil)
	if err != nil {
		return err
	}
	return scrub(c.Store, pgstore.Restore(ctx, c.Store, opts, r))
}

func (backend) Size(ctx context.Context, c config.Config) (int64, error) {
	if c.Store == "" {
		return boltstore.UsedBytes(c.DBPath())
	}
	n, err := pgstore.UsedBytes(ctx, c.Store)
	return n, scrub(c.Store, err)
}

// scrub keeps the URL and its password out of an error (pgstore.Scrub).
func scrub(dsn string, err error) error { return pgstore.Scrub(err, dsn) }
