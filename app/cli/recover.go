package cli

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"hearth/app/clinic"
	"hearth/app/config"
	"hearth/app/store"
	"hearth/app/vault"
)

// recoverPassphrase: hearth recover-passphrase --data DIR [--store URL] [--recovery-key F]
//
// For an owner who lost the sealed-mode passphrase: the recovery key opens
// the escrow copy of the clinic key in DIR/keys, and the new passphrase
// (standard input, twice) replaces the old one. Without --recovery-key the
// key is the first line of standard input, before the passphrase.
func recoverPassphrase(ctx context.Context, args []string, env Env) (err error) {
	var keyFile string
	c, err := parse("recover-passphrase", args, config.Flags{Store: true, More: func(fs *flag.FlagSet, _ *config.Config) {
		fs.StringVar(&keyFile, "recovery-key", "", "file holding the recovery key (otherwise the first line of standard input)")
	}}, env)
	if err != nil {
		return err
	}
	if len(c.Args) != 0 {
		return errors.New("usage: hearth recover-passphrase --data DIR [--store URL] [--recovery-key F]   (new passphrase on standard input, twice)")
	}
	in := bufio.NewScanner(io.LimitReader(env.Stdin, 1<<16))
	var secret string
	if keyFile != "" {
		b, err := os.ReadFile(keyFile)
		if err != nil {
			return err
		}
		secret = string(b)
	} else {
		if _, err := fmt.Fprintln(env.Stderr, "Type or paste the recovery key (AGE-SECRET-KEY-1...) and press Enter:"); err != nil {
			return err
		}
		if !in.Scan() {
			return errors.New("no recovery key on standard input")
		}
		secret = in.Text()
	}
	secret = strings.TrimSpace(secret)
	if err := vault.ParseIdentity(secret); err != nil {
		return fmt.Errorf("that is not a recovery key: %v", err)
	}
	if _, err := fmt.Fprintln(env.Stderr, "Type the new passphrase, press Enter, and type it again:"); err != nil {
		return err
	}
	if !in.Scan() {
		return errors.New("no new passphrase on standard input (give it on one line, twice to confirm)")
	}
	pass := strings.TrimRight(in.Text(), "\r")
	if !in.Scan() || strings.TrimRight(in.Text(), "\r") != pass {
		return errors.New("the new passphrase must be given twice, the same both times (nothing was changed)")
	}

	n, err := openNode(ctx, c, env, time.Second, logger(io.Discard), nil)
	if errors.Is(err, store.ErrInUse) {
		return errors.New("the server is running and holds the database; stop it first (sudo systemctl stop hearth), then run this again (nothing was changed)")
	}
	if err != nil {
		return err
	}
	defer closeAfter(&err, n)
	if err := n.clinic.RecoverPassphrase(ctx, "cli", secret, pass); err != nil {
		var ie *clinic.InputError
		switch {
		case errors.As(err, &ie):
			return fmt.Errorf("%s: %s (nothing was changed)", ie.Field, ie.Msg)
		case errors.Is(err, vault.ErrBadRecoveryKey):
			return fmt.Errorf("%w (nothing was changed)", err)
		}
		return err
	}
	_, err = fmt.Fprintf(env.Stdout, "The passphrase of the keys in %s is replaced: the old one no longer opens them.\n"+
		"Start Hearth and unlock it with the new passphrase. Keep the recovery key in the safe; it still works.\n", c.KeysDir())
	return err
}
