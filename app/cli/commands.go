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
	"strconv"
	"strings"
	"time"

	"hearth/app/clinic"
	"hearth/app/config"
	"hearth/app/store"
	"hearth/app/vault"
	"hearth/app/web"
)

// setup: hearth setup --data DIR [--store URL] --clinic NAME --owner-name NAME --owner-email EMAIL
func setup(ctx context.Context, args []string, env Env) (err error) {
	var clinicName, ownerName, ownerEmail string
	c, err := parse("setup", args, config.Flags{Store: true, More: func(fs *flag.FlagSet, _ *config.Config) {
		fs.StringVar(&clinicName, "clinic", "", "the clinic's name, as patients know it")
		fs.StringVar(&ownerName, "owner-name", "", "the owner's full name")
		fs.StringVar(&ownerEmail, "owner-email", "", "the owner's email (their sign-in name)")
	}}, env)
	if err != nil {
		return err
	}
	if clinicName == "" || ownerName == "" || ownerEmail == "" {
		return errors.New("--clinic, --owner-name and --owner-email are all needed")
	}
	data := c.Data
	password, err := readPassword(env.Stdin)
	if err != nil {
		return err
	}
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
		defer closeAfter(&err, n)
		var done bool
		if done, err = n.clinic.IsSetUp(ctx); err != nil {
			return err
		}
		if done {
			if c.Store != "" {
				return fmt.Errorf("the clinic in the %s is already set up; sign in at the server instead", c.Where())
			}
			return fmt.Errorf("%s is already set up; sign in at the server instead", data)
		}
		if recovery, err = n.vault.RotateRecovery(); err != nil {
			return err
		}
	} else {
		if n, recovery, err = createNode(ctx, c, env, log, nil); err != nil {
			return err
		}
		defer closeAfter(&err, n)
	}
	if _, err := n.clinic.Setup(ctx, in, common, "cli"); err != nil {
		var ie *clinic.InputError
		if errors.As(err, &ie) {
			return fmt.Errorf("%s: %s", ie.Field, ie.Msg)
		}
		return err
	}
	if err := removeSetupLink(c); err != nil {
		// The link is spent (setup is done), so this is only untidy.
		_, _ = fmt.Fprintf(env.Stderr, "note: %v\n", err)
	}
	where := data
	if c.Store != "" {
		where = fmt.Sprintf("the %s (keys in %s)", c.Where(), c.KeysDir())
	}
	if _, err := fmt.Fprintf(env.Stdout, "Hearth is set up for %s in %s.\nThe owner signs in as %s.\n", clinicName, where, strings.ToLower(ownerEmail)); err != nil {
		return err
	}
	return printRecovery(env.Stdout, recovery)
}

// removeSetupLink removes the file holding the one-time setup link, if any.
func removeSetupLink(c config.Config) error {
	if err := os.Remove(c.SetupLinkPath()); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("could not remove the spent setup link file: %w", err)
	}
	return nil
}

// backup: hot backup. With the built-in database the server holds the
// file's lock, so when it is running the backup is streamed through its
// control socket. PostgreSQL lets this process read beside the serving
// nodes, so it reads a consistent snapshot itself.
func backup(ctx context.Context, args []string, env Env) (err error) {
	c, err := parse("backup", args, config.Flags{Store: true}, env)
	if err != nil {
		return err
	}
	if len(c.Args) != 1 {
		return errors.New("name the backup file: hearth backup --data DIR [--store URL] FILE")
	}
	out := c.Args[0]
	if st, err := os.Stat(out); err == nil && st.IsDir() {
		return fmt.Errorf("%s is a folder; name a file", out)
	}
	n, err := openNode(ctx, c, env, 300*time.Millisecond, logger(io.Discard), nil)
	var anchor clinic.Anchor
	switch {
	case errors.Is(err, store.ErrInUse) && c.Store == "":
		err = clinic.WriteFileAtomic(out, func(w io.Writer) error {
			var err error
			anchor, err = backupThroughServer(ctx, c, w)
			return err
		})
	case err != nil:
		return err
	default:
		defer closeAfter(&err, n)
		err = clinic.WriteFileAtomic(out, func(w io.Writer) error {
			var err error
			anchor, err = n.clinic.BackupAnchored(ctx, w, Version, env.Backend.Kind(c))
			return err
		})
	}
	if err != nil {
		return err
	}
	// The backup opens only with the recovery key; its audit head is
	// also written beside it in the clear, for `hearth verify --against`.
	if err := clinic.WriteAnchor(out, anchor); err != nil {
		return fmt.Errorf("the backup was written, but its anchor file was not: %w", err)
	}
	st, err := os.Stat(out)
	if err != nil {
		return err
	}
	if _, err := fmt.Fprintf(env.Stdout, "Backup written to %s (%d bytes), sealed to the clinic's recovery key.\n", out, st.Size()); err != nil {
		return err
	}
	_, err = fmt.Fprintf(env.Stdout, "Audit head at the backup: event %d, fingerprint %s (also in %s%s).\n", anchor.AuditSeq, anchor.AuditFingerprint, filepath.Base(out), clinic.AnchorSuffix)
	return err
}

// backupThroughServer asks the running server for a backup over the control
// socket in the data folder (a Unix socket only the service's user can open).
func backupThroughServer(ctx context.Context, c config.Config, w io.Writer) (a clinic.Anchor, err error) {
	hc := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", c.ControlPath())
	}}}
	req, err := http.NewRequestWithContext(ctx, "POST", "http://hearth-control/backup", nil)
	if err != nil {
		return a, err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return a, fmt.Errorf("the database is in use, but the running server did not answer on %s: %v", c.ControlPath(), err)
	}
	defer closeAfter(&err, resp.Body)
	if resp.StatusCode != 200 {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
		return a, fmt.Errorf("the running server could not make a backup: %s", strings.TrimSpace(string(msg)))
	}
	if _, err := io.Copy(w, resp.Body); err != nil {
		return a, fmt.Errorf("backup interrupted: %w", err)
	}
	if resp.Trailer.Get("Hearth-Backup") != "complete" {
		return a, errors.New("backup interrupted: the server did not finish it")
	}
	a, err = clinic.ParseAnchorTrailer(resp.Trailer.Get(clinic.AnchorTrailer))
	if err != nil {
		return a, fmt.Errorf("the running server sent no audit head with the backup: %w", err)
	}
	return a, nil
}

// restore: hearth restore --data DIR [--store URL] [--recovery-key F] FILE
func restore(ctx context.Context, args []string, env Env) (err error) {
	var keyFile string
	c, err := parse("restore", args, config.Flags{Store: true, More: func(fs *flag.FlagSet, _ *config.Config) {
		fs.StringVar(&keyFile, "recovery-key", "", "file holding the recovery key (otherwise it is read from standard input)")
	}}, env)
	if err != nil {
		return err
	}
	if len(c.Args) != 1 {
		return errors.New("name the backup file: hearth restore --data DIR [--store URL] [--recovery-key F] FILE")
	}
	data := c.Data
	if ents, err := os.ReadDir(data); err == nil && len(ents) > 0 {
		return fmt.Errorf("%s is not empty; restore into a new, empty folder (nothing was changed)", data)
	}
	if c.Store != "" {
		if err := env.Backend.Ping(ctx, c); err != nil {
			return err
		}
		if env.Backend.Exists(c) {
			return fmt.Errorf("the %s already holds a clinic; restore into a new, empty database (nothing was changed)", c.Where())
		}
	}
	var secret []byte
	if keyFile != "" {
		secret, err = os.ReadFile(keyFile)
	} else {
		if _, err := fmt.Fprintln(env.Stderr, "Type or paste the recovery key (AGE-SECRET-KEY-1...) and press Enter:"); err != nil {
			return err
		}
		secret, err = io.ReadAll(io.LimitReader(env.Stdin, 4096))
	}
	if err != nil {
		return err
	}
	recovery := strings.TrimSpace(string(secret))
	if err := vault.ParseIdentity(recovery); err != nil {
		return fmt.Errorf("that is not a recovery key: %v", err)
	}
	f, err := os.Open(c.Args[0])
	if err != nil {
		return err
	}
	defer closeAfter(&err, f)
	hdr, snapshot, err := clinic.ReadBackup(recovery, f)
	if err != nil {
		return err
	}
	if err := sameKind(hdr.Store, env.Backend.Kind(c)); err != nil {
		return err
	}
	if err := os.MkdirAll(data, 0o700); err != nil {
		return err
	}
	// cleanup removes what a failed restore wrote, so the next attempt
	// starts clean.
	cleanup := func() error {
		err := os.RemoveAll(c.KeysDir())
		if c.Store == "" {
			if rerr := os.Remove(c.DBPath()); rerr != nil && !errors.Is(rerr, os.ErrNotExist) {
				err = errors.Join(err, rerr)
			}
		}
		if err != nil {
			return fmt.Errorf("and what it wrote could not all be removed: %w", err)
		}
		return nil
	}
	if err := env.Backend.Restore(ctx, c, snapshot); err != nil {
		if errors.Is(err, clinic.ErrBackupDamaged) || errors.Is(err, store.ErrDumpDamaged) {
			return errors.Join(clinic.ErrBackupDamaged, cleanup())
		}
		return errors.Join(fmt.Errorf("restore the database: %w", err), cleanup())
	}
	if _, err := vault.Install(c.KeysDir(), hdr.ClinicIdentity, hdr.RecoveryRecipient); err != nil {
		return errors.Join(fmt.Errorf("restore the keys: %w", err), cleanup())
	}
	n, err := openNode(ctx, c, env, time.Second, logger(io.Discard), nil)
	if err != nil {
		return errors.Join(err, cleanup())
	}
	defer closeAfter(&err, n)
	rep, err := n.clinic.Verify(ctx)
	if err != nil {
		return err
	}
	if !rep.OK() {
		return fmt.Errorf("restored, but verify found problems:\n  %s", strings.Join(rep.Problems, "\n  "))
	}
	abs, err := filepath.Abs(data)
	if err != nil {
		return err
	}
	if c.Store != "" {
		_, err = fmt.Fprintf(env.Stdout, "Restored the backup of %s into the %s, with its keys in %s: %d records, audit trail intact.\n"+
			"Copy %s to every node, and start each with: hearth serve --data DIR --store URL (this database's URL)\n",
			hdr.Created.Format(time.RFC1123), c.Where(), filepath.Join(abs, "keys"), rep.Records, filepath.Join(abs, "keys"))
		return err
	}
	_, err = fmt.Fprintf(env.Stdout, "Restored the backup of %s into %s: %d records, audit trail intact.\nStart it with: hearth serve --data %s\n",
		hdr.Created.Format(time.RFC1123), abs, rep.Records, data)
	return err
}

// sameKind refuses a backup of one kind of store restored into the other:
// each backend reads only its own snapshot format.
func sameKind(backupKind, target string) error {
	if backupKind == "" {
		backupKind = "bbolt" // backups from before clinic groups
	}
	switch {
	case backupKind == target:
		return nil
	case backupKind == "bbolt" && target == "postgres":
		return errors.New("this backup is of a one-PC clinic (the built-in database), and restores only into a data folder.\n" +
			"To move it into PostgreSQL: restore it without --store into an empty folder, then run\n" +
			"  hearth migrate-store --from THAT_FOLDER --to postgres://...\n(nothing was changed)")
	case backupKind == "postgres" && target == "bbolt":
		return nil // a clinic group going back to one PC: the dump loads into a new file
	default:
		return fmt.Errorf("this backup is of a %q store, which this Hearth cannot restore (nothing was changed)", backupKind)
	}
}

// verify: every record opens, every index entry resolves, the audit chain
// holds, and (given a backup, the nightly folder or a head written down)
// the live chain still holds the head that anchor saw. It opens the
// database read-only and never writes to it; a damaged file is reported
// with the restore command, never with a Go panic.
func verify(ctx context.Context, args []string, env Env) (err error) {
	var against, backupsDir, headArg, keyFile string
	c, err := parse("verify", args, config.Flags{Store: true, More: func(fs *flag.FlagSet, _ *config.Config) {
		fs.StringVar(&against, "against", "", "a backup file (or its .anchor file): check that the audit trail still holds the head it saw")
		fs.StringVar(&backupsDir, "backups", "", "the nightly backup folder: check against its newest backup")
		fs.StringVar(&headArg, "head", "", "an audit head written down from the console, as SEQ:FINGERPRINT")
		fs.StringVar(&keyFile, "recovery-key", "", "file holding the recovery key, to read a backup that has no .anchor file beside it")
	}}, env)
	if err != nil {
		return err
	}
	defer func() {
		// The store turns bbolt's panics into errors; this is the last
		// line, so a damaged file never ends in a Go trace.
		if r := recover(); r != nil {
			err = damagedDB(env, c, backupsDir, fmt.Errorf("%w (%v)", store.ErrCorrupt, r))
		}
	}()
	anchors, err := verifyAnchors(against, backupsDir, headArg, keyFile)
	if err != nil {
		return err
	}
	// PostgreSQL lets verify read one consistent snapshot beside the
	// serving nodes; the built-in database is held by its one server.
	n, err := openNodeMode(ctx, c, env, time.Second, logger(io.Discard), nil, true)
	if errors.Is(err, store.ErrInUse) {
		return errors.New("the server is running and holds the database; stop it first (verify reads every record)")
	}
	if errors.Is(err, store.ErrCorrupt) {
		return damagedDB(env, c, backupsDir, err)
	}
	if err != nil {
		return err
	}
	defer closeAfter(&err, n)
	if n.vault.Locked() {
		return errors.New("the keys are sealed with a passphrase; unlock them in the browser first, or verify a restored copy")
	}
	rep, err := n.clinic.Verify(ctx)
	if err != nil {
		if errors.Is(err, store.ErrCorrupt) {
			return damagedDB(env, c, backupsDir, err)
		}
		return err
	}
	if !rep.Damaged {
		for _, a := range anchors {
			p, err := n.clinic.CheckAnchor(ctx, a.Anchor)
			if err != nil {
				return err
			}
			if p != "" {
				rep.Problems = append(rep.Problems, fmt.Sprintf("%s: %s", a.from, p))
			} else {
				rep.Notes = append(rep.Notes, fmt.Sprintf("the audit trail still holds event %d as %s saw it", a.AuditSeq, a.from))
			}
		}
	}
	var out strings.Builder
	fmt.Fprintf(&out, "checked %d records, %d index entries, %d audit events (audit head: event %d)\n", rep.Records, rep.IndexKeys, rep.AuditEvents, rep.AuditHead)
	for _, note := range rep.Notes {
		fmt.Fprintf(&out, "note: %s\n", note)
	}
	if rep.OK() {
		out.WriteString("all good\n")
	} else {
		fmt.Fprintf(&out, "PROBLEMS (%d):\n", len(rep.Problems))
		for _, p := range rep.Problems {
			fmt.Fprintf(&out, "  - %s\n", strings.ReplaceAll(p, "\n", "\n    "))
		}
		if rep.Damaged {
			printRestore(&out, c, backupsDir, n.clinic.PlainBackupDir(ctx))
		}
	}
	if _, err := io.WriteString(env.Stdout, out.String()); err != nil {
		return err
	}
	if rep.Damaged {
		return errors.New("verify failed: the database file is damaged; restore from the latest good backup (above)")
	}
	if !rep.OK() {
		return errors.New("verify failed: restore from the latest good backup, or call for help with this report")
	}
	return nil
}

// anchorFrom is an anchor and where it came from, for the report.
type anchorFrom struct {
	clinic.Anchor
	from string
}

// verifyAnchors reads the anchors verify was given: a backup's .anchor
// file (or, with the recovery key, the backup's own header), the newest
// backup in a folder, a head written down.
func verifyAnchors(against, backupsDir, headArg, keyFile string) ([]anchorFrom, error) {
	var out []anchorFrom
	if backupsDir != "" {
		newest, err := clinic.NewestBackup(backupsDir)
		if err != nil {
			return nil, err
		}
		if newest == "" {
			return nil, fmt.Errorf("there are no Hearth backups (%s*.backup) in %s", clinic.BackupPrefix, backupsDir)
		}
		a, err := backupAnchor(newest, keyFile)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	if against != "" {
		a, err := backupAnchor(against, keyFile)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	if headArg != "" {
		seqText, fp, ok := strings.Cut(strings.TrimSpace(headArg), ":")
		seq, err := strconv.ParseUint(strings.TrimSpace(seqText), 10, 64)
		if !ok || err != nil || seq == 0 || len(strings.NewReplacer("-", "", " ", "").Replace(fp)) < 8 {
			return nil, errors.New("--head takes the audit head as the console shows it: SEQ:FINGERPRINT, like 1234:1a2b-3c4d-5e6f-7a8b")
		}
		out = append(out, anchorFrom{Anchor: clinic.Anchor{AuditSeq: seq, AuditFingerprint: fp}, from: "the head written down"})
	}
	return out, nil
}

func backupAnchor(path, keyFile string) (_ anchorFrom, err error) {
	name := filepath.Base(path)
	if strings.HasSuffix(path, clinic.AnchorSuffix) {
		a, err := clinic.ReadAnchor(path)
		return anchorFrom{a, "the backup anchor " + name}, err
	}
	if a, err := clinic.ReadAnchor(path + clinic.AnchorSuffix); err == nil {
		return anchorFrom{a, "the backup " + name}, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return anchorFrom{}, err
	}
	if keyFile == "" {
		return anchorFrom{}, fmt.Errorf("%s has no %s file beside it; give --recovery-key FILE to read the anchor from the backup itself", path, clinic.AnchorSuffix)
	}
	secret, err := os.ReadFile(keyFile)
	if err != nil {
		return anchorFrom{}, err
	}
	f, err := os.Open(path)
	if err != nil {
		return anchorFrom{}, err
	}
	defer closeAfter(&err, f)
	hdr, _, err := clinic.ReadBackup(string(secret), f)
	if err != nil {
		return anchorFrom{}, err
	}
	if hdr.AuditMAC == "" && hdr.AuditSeq == 0 {
		return anchorFrom{}, fmt.Errorf("%s was made by a Hearth that did not record the audit head in backups", path)
	}
	return anchorFrom{hdr.Anchor(), "the backup " + name}, nil
}

// damagedDB reports a database whose structure is broken, with the way
// back, and returns verify's error.
func damagedDB(env Env, c config.Config, backupsDir string, cause error) error {
	var out strings.Builder
	fmt.Fprintf(&out, "THE DATABASE IS DAMAGED:\n  %s\n", strings.ReplaceAll(cause.Error(), "\n", "\n  "))
	printRestore(&out, c, backupsDir, "")
	failed := errors.New("verify failed: the database file is damaged; restore from the latest good backup (above)")
	if _, err := io.WriteString(env.Stdout, out.String()); err != nil {
		// The damage is still the news; the report that was lost is the aside.
		return fmt.Errorf("%w (the report could not be written: %v)", failed, err)
	}
	return failed
}

// printRestore says how to get back to a good database. It writes into a
// strings.Builder, which cannot fail; the caller writes the whole report.
func printRestore(w *strings.Builder, c config.Config, backupsDir, settingsDir string) {
	file, where := "BACKUP-FILE", ""
	if backupsDir == "" {
		backupsDir = settingsDir
	}
	if backupsDir != "" {
		if newest, err := clinic.NewestBackup(backupsDir); err == nil && newest != "" {
			file = newest
			where = "That is the newest backup in " + backupsDir + "; if it is damaged too, take the one before.\n"
		} else {
			where = "The nightly backups are set to go to " + backupsDir + ".\n"
		}
	}
	data := strings.TrimRight(c.Data, "/")
	fmt.Fprintf(w, "\nTo restore: stop Hearth, then restore the newest good backup into a new, empty folder with the recovery key:\n"+
		"    hearth restore --data %s-restored --recovery-key recovery.txt %s\n%s"+
		"Then start Hearth on that folder (hearth serve --data %s-restored). Keep the damaged folder %s for inspection.\n",
		data, file, where, data, c.Data)
}
