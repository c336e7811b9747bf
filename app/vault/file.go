package vault

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"filippo.io/age"
)

// writeFile writes name in dir atomically with mode 0600: a temp file in the
// same folder, fsync, rename (or, with noClobber, a hard link that fails if
// name exists, so keys are never overwritten), fsync of the folder.
func writeFile(dir, name string, data []byte, noClobber bool) (err error) {
	f, err := os.CreateTemp(dir, "."+name+".tmp-*") // mode 0600
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			if rerr := os.Remove(tmp); rerr != nil && !errors.Is(rerr, fs.ErrNotExist) {
				err = errors.Join(err, rerr)
			}
		}
	}()
	if _, err = f.Write(data); err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	final := filepath.Join(dir, name)
	if noClobber {
		err = os.Link(tmp, final)
		switch {
		case err == nil:
			// The key is in place; its temporary name must not linger
			// beside it.
			if err = os.Remove(tmp); err != nil {
				return err
			}
		case errors.Is(err, fs.ErrExist):
			return fmt.Errorf("%w (%s in %s)", ErrExists, name, dir)
		default:
			// A file system without hard links: check, then rename.
			if _, serr := os.Lstat(final); serr == nil {
				return fmt.Errorf("%w (%s in %s)", ErrExists, name, dir)
			}
			if err = os.Rename(tmp, final); err != nil {
				return err
			}
		}
	} else if err = os.Rename(tmp, final); err != nil {
		return err
	}
	return syncDir(dir)
}

// removeFile removes name from dir, if there, and makes that durable.
func removeFile(dir, name string) error {
	if err := os.Remove(filepath.Join(dir, name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return syncDir(dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// encryptAll seals a small plaintext to recipients.
func encryptAll(plain []byte, to ...age.Recipient) ([]byte, error) {
	var buf bytes.Buffer
	w, err := age.Encrypt(&buf, to...)
	if err != nil {
		return nil, err
	}
	if _, err := w.Write(plain); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// decryptAll opens an age file held in memory. It reads through
// DecryptReaderAt, which authenticates the final chunk (and so the length)
// before returning and sizes the plaintext exactly.
func decryptAll(sealed []byte, ids ...age.Identity) ([]byte, error) {
	ra, size, err := age.DecryptReaderAt(bytes.NewReader(sealed), int64(len(sealed)), ids...)
	if err != nil {
		return nil, err
	}
	plain := make([]byte, size)
	n, err := ra.ReadAt(plain, 0)
	if int64(n) != size {
		if err == nil {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	if err != nil && err != io.EOF {
		return nil, err
	}
	return plain, nil
}
