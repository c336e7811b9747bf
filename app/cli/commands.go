package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"hearth/app/clinic"
	"hearth/app/config"
	"hearth/app/store"
	"hearth/app/vault"
	"hearth/app/web"
)

// setup: hearth setup --data DIR --clinic NAME --owner-name NAME --owner-email EMAIL
func setup(ctx context.Context, args []string, env Env) error {
	fs := flag.NewFlagSet("hearth setup", flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	var clinicName, ownerName, ownerEmail string
	data := config.DefaultData
	if v := env.Getenv("HEARTH_DATA"); v != "" {
		data = v
	}
	fs.StringVar(&data, "data", data, "data folder")
	fs.StringVar(&clinicName, "clinic", "", "the clinic's name, as patients know it")
	fs.StringVar(&ownerName, "owner-name", "", "the owner's full name")
	fs.StringVar(&ownerEmail, "owner-email", "", "the owner's email (their sign-in name)")
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	if clinicName == "" || ownerName == "" || ownerEmail == "" {
		return errors.New("--clinic, --owner-name and --owner-email are all needed")
	}
	password, err := readPassword(env.Stdin)
	if err != nil {
		return err
	}
	c := config.Config{Data: data}
	log := logger(io.Discard)
	common := web.CommonPasswords(env.Files)
	in := clinic.SetupInput{ClinicName: clinicName, OwnerName: ownerName, OwnerEmail: ownerEmail, Password: password}

	var n *node
	var recovery string
	if env.Backend.Exists(c) {
		// A folder that `hearth serve` made but nobody set up yet.
		if n, err = openNode(ctx, c, env, time.Second, log, nil); err != nil {
			return err
		}
		defer n.Close()
		if n.clinic.IsSetUp(ctx) {
			return fmt.Errorf("%s is already set up; sign in at the server instead", data)
		}
		if recovery, err = n.vault.RotateRecovery(); err != nil {
			return err
		}
	} else {
		if n, recovery, err = createNode(ctx, c, env, log, nil); err != nil {
			return err
		}
		defer n.Close()
	}
	if _, err := n.clinic.Setup(ctx, in, common, "cli"); err != nil {
		var ie *clinic.InputError
		if errors.As(err, &ie) {
			return fmt.Errorf("%s: %s", ie.Field, ie.Msg)
		}
		return err
	}
	os.Remove(c.SetupLinkPath())
	fmt.Fprintf(env.Stdout, "Hearth is set up for %s in %s.\nThe owner signs in as %s.\n", clinicName, data, strings.ToLower(ownerEmail))
	printRecovery(env.Stdout, recovery)
	return nil
}

// backup: hot backup. The server holds the database's lock, so when it is
// running the backup is streamed through its control socket.
func backup(ctx context.Context, args []string, env Env) error {
	c, err := parse("backup", args, config.Flags{}, env)
	if err != nil {
		return err
	}
	if len(c.Args) != 1 {
		return errors.New("name the backup file: hearth backup --data DIR FILE")
	}
	out := c.Args[0]
	if st, err := os.Stat(out); err == nil && st.IsDir() {
		return fmt.Errorf("%s is a folder; name a file", out)
	}
	n, err := openNode(ctx, c, env, 300*time.Millisecond, logger(io.Discard), nil)
	switch {
	case errors.Is(err, store.ErrInUse):
		err = clinic.WriteFileAtomic(out, func(w io.Writer) error { return backupThroughServer(ctx, c, w) })
	case err != nil:
		return err
	default:
		defer n.Close()
		err = clinic.WriteFileAtomic(out, func(w io.Writer) error {
			return n.clinic.Backup(ctx, w, Version, env.Backend.Kind(c))
		})
	}
	if err != nil {
		return err
	}
	st, _ := os.Stat(out)
	fmt.Fprintf(env.Stdout, "Backup written to %s (%d bytes), sealed to the clinic's recovery key.\n", out, st.Size())
	return nil
}

// backupThroughServer asks the running server for a backup over the control
// socket in the data folder (a Unix socket only the service's user can open).
func backupThroughServer(ctx context.Context, c config.Config, w io.Writer) error {
	hc := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", c.ControlPath())
	}}}
	req, _ := http.NewRequestWithContext(ctx, "POST", "http://hearth-control/backup", nil)
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("the database is in use, but the running server did not answer on %s: %v", c.ControlPath(), err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
		return fmt.Errorf("the running server could not make a backup: %s", strings.TrimSpace(string(msg)))
	}
	if _, err := io.Copy(w, resp.Body); err != nil {
		return fmt.Errorf("backup interrupted: %w", err)
	}
	if resp.Trailer.Get("Hearth-Backup") != "complete" {
		return errors.New("backup interrupted: the server did not finish it")
	}
	return nil
}

// restore: hearth restore --data DIR [--recovery-key F] FILE
func restore(ctx context.Context, args []string, env Env) error {
	fs := flag.NewFlagSet("hearth restore", flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	data := config.DefaultData
	if v := env.Getenv("HEARTH_DATA"); v != "" {
		data = v
	}
	var keyFile string
	fs.StringVar(&data, "data", data, "the empty data folder to restore into")
	fs.StringVar(&keyFile, "recovery-key", "", "file holding the recovery key (otherwise it is read from standard input)")
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	if fs.NArg() != 1 {
		return errors.New("name the backup file: hearth restore --data DIR [--recovery-key F] FILE")
	}
	c := config.Config{Data: data}
	if ents, err := os.ReadDir(data); err == nil && len(ents) > 0 {
		return fmt.Errorf("%s is not empty; restore into a new, empty folder (nothing was changed)", data)
	}
	var secret []byte
	var err error
	if keyFile != "" {
		secret, err = os.ReadFile(keyFile)
	} else {
		fmt.Fprintln(env.Stderr, "Type or paste the recovery key (AGE-SECRET-KEY-1...) and press Enter:")
		secret, err = io.ReadAll(io.LimitReader(env.Stdin, 4096))
	}
	if err != nil {
		return err
	}
	recovery := strings.TrimSpace(string(secret))
	if err := vault.ParseIdentity(recovery); err != nil {
		return fmt.Errorf("that is not a recovery key: %v", err)
	}
	f, err := os.Open(fs.Arg(0))
	if err != nil {
		return err
	}
	defer f.Close()
	hdr, snapshot, err := clinic.ReadBackup(recovery, f)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(data, 0o700); err != nil {
		return err
	}
	cleanup := func() { os.RemoveAll(c.KeysDir()); os.Remove(c.DBPath()) }
	if err := env.Backend.Restore(ctx, c, snapshot); err != nil {
		cleanup()
		if errors.Is(err, clinic.ErrBackupDamaged) {
			return clinic.ErrBackupDamaged
		}
		return fmt.Errorf("restore the database: %w", err)
	}
	if _, err := vault.Install(c.KeysDir(), hdr.ClinicIdentity, hdr.RecoveryRecipient); err != nil {
		cleanup()
		return fmt.Errorf("restore the keys: %w", err)
	}
	n, err := openNode(ctx, c, env, time.Second, logger(io.Discard), nil)
	if err != nil {
		cleanup()
		return err
	}
	defer n.Close()
	rep, err := n.clinic.Verify(ctx)
	if err != nil {
		return err
	}
	if !rep.OK() {
		return fmt.Errorf("restored, but verify found problems:\n  %s", strings.Join(rep.Problems, "\n  "))
	}
	abs, _ := filepath.Abs(data)
	fmt.Fprintf(env.Stdout, "Restored the backup of %s into %s: %d records, audit trail intact.\nStart it with: hearth serve --data %s\n",
		hdr.Created.Format(time.RFC1123), abs, rep.Records, data)
	return nil
}

// verify: every record opens, every index entry resolves, the audit chain holds.
func verify(ctx context.Context, args []string, env Env) error {
	c, err := parse("verify", args, config.Flags{Store: true}, env)
	if err != nil {
		return err
	}
	n, err := openNode(ctx, c, env, time.Second, logger(io.Discard), nil)
	if errors.Is(err, store.ErrInUse) {
		return errors.New("the server is running and holds the database; stop it first (verify reads every record)")
	}
	if err != nil {
		return err
	}
	defer n.Close()
	if n.vault.Locked() {
		return errors.New("the keys are sealed with a passphrase; unlock them in the browser first, or verify a restored copy")
	}
	rep, err := n.clinic.Verify(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "checked %d records, %d index entries, %d audit events\n", rep.Records, rep.IndexKeys, rep.AuditEvents)
	if !rep.OK() {
		fmt.Fprintf(env.Stdout, "PROBLEMS (%d):\n", len(rep.Problems))
		for _, p := range rep.Problems {
			fmt.Fprintf(env.Stdout, "  - %s\n", p)
		}
		return errors.New("verify failed: restore from the latest good backup, or call for help with this report")
	}
	fmt.Fprintln(env.Stdout, "all good")
	return nil
}
