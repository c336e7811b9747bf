// Package app is the one place that wires Hearth's concrete parts together:
// it picks the storage backend and hands everything to the commands in
// app/cli. Nothing else imports a concrete store backend.
package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"time"

	"hearth/app/cli"
	"hearth/app/config"
	"hearth/app/store"
	"hearth/app/store/boltstore"
)

// Main runs one hearth command and returns the process exit code.
func Main(ctx context.Context, args []string, files fs.FS, stdin io.Reader, stdout, stderr io.Writer) int {
	return cli.Run(ctx, args, cli.Env{
		Files:   files,
		Stdin:   stdin,
		Stdout:  stdout,
		Stderr:  stderr,
		Getenv:  os.Getenv,
		Backend: backend{},
	})
}

// backend chooses bbolt (the default) or, for clinic groups, PostgreSQL.
type backend struct{}

func (backend) Kind(c config.Config) string {
	if c.Store != "" {
		return "postgres"
	}
	return "bbolt"
}

func (backend) Exists(c config.Config) bool {
	if c.Store != "" {
		return true
	}
	_, err := os.Stat(c.DBPath())
	return err == nil
}

func (b backend) Open(ctx context.Context, c config.Config, timeout time.Duration) (store.Store, error) {
	if c.Store != "" {
		return nil, errors.New("the PostgreSQL store is not available in this build of Hearth; run without --store to use the built-in database")
	}
	return boltstore.Open(c.DBPath(), boltstore.Options{Timeout: timeout})
}

func (b backend) Restore(ctx context.Context, c config.Config, r io.Reader) error {
	if c.Store != "" {
		return fmt.Errorf("restore into PostgreSQL is not available in this build")
	}
	return boltstore.Restore(c.DBPath(), r)
}

func (backend) Size(ctx context.Context, c config.Config) (int64, error) {
	if c.Store != "" {
		return 0, errors.New("size of a PostgreSQL store is not available in this build")
	}
	return boltstore.UsedBytes(c.DBPath())
}
