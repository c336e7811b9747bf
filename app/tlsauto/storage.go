package tlsauto

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/caddyserver/certmagic"
)

// File is one stored file of the ACME state: a certificate, a private
// key, metadata, the account.
type File struct {
	Key      string
	Value    []byte
	Modified time.Time
}

// Files is where a clinic group keeps the ACME state: sealed in the shared
// store (the clinic implements it). Get returns an error wrapping
// fs.ErrNotExist for a missing file. TryLock takes a lock that every node
// sees, or extends it for the same holder; it reports false while another
// holder has it and its ttl has not run out.
type Files interface {
	Get(ctx context.Context, key string) (File, error)
	Put(ctx context.Context, key string, value []byte) error
	List(ctx context.Context, prefix string) ([]File, error)
	Delete(ctx context.Context, key string) error
	TryLock(ctx context.Context, name, holder string, ttl time.Duration) (bool, error)
	Unlock(ctx context.Context, name, holder string) error
}

// Lock timing: a held lock is renewed every lockRefresh and lapses
// lockTTL after its holder stops renewing it (a node that died).
const (
	lockTTL     = 2 * time.Minute
	lockRefresh = 30 * time.Second
	lockPoll    = time.Second
)

// storeStorage is certmagic's storage over Files.
type storeStorage struct {
	f      Files
	holder string

	mu   sync.Mutex
	held map[string]context.CancelFunc // the keep-alive of each lock held
}

var _ certmagic.Storage = (*storeStorage)(nil)

func newStoreStorage(f Files) *storeStorage {
	b := make([]byte, 12)
	rand.Read(b)
	return &storeStorage{f: f, holder: hex.EncodeToString(b), held: map[string]context.CancelFunc{}}
}

func (s *storeStorage) Store(ctx context.Context, key string, value []byte) error {
	return s.f.Put(ctx, key, value)
}

func (s *storeStorage) Load(ctx context.Context, key string) ([]byte, error) {
	f, err := s.f.Get(ctx, key)
	if err != nil {
		return nil, err
	}
	return f.Value, nil
}

func (s *storeStorage) Delete(ctx context.Context, key string) error { return s.f.Delete(ctx, key) }

func (s *storeStorage) Exists(ctx context.Context, key string) bool {
	if _, err := s.f.Get(ctx, key); err == nil {
		return true
	}
	files, err := s.f.List(ctx, strings.TrimSuffix(key, "/")+"/")
	return err == nil && len(files) > 0
}

// List names the keys right under dir (or every key under it when
// recursive), as file storage would: a deeper key shows as its directory.
func (s *storeStorage) List(ctx context.Context, dir string, recursive bool) ([]string, error) {
	prefix := strings.TrimSuffix(dir, "/") + "/"
	files, err := s.f.List(ctx, prefix)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var out []string
	for _, f := range files {
		k := f.Key
		if !recursive {
			rest := strings.TrimPrefix(k, prefix)
			if i := strings.Index(rest, "/"); i >= 0 {
				k = prefix + rest[:i]
			}
		}
		if !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("tlsauto: list %s: %w", dir, fs.ErrNotExist)
	}
	return out, nil
}

func (s *storeStorage) Stat(ctx context.Context, key string) (certmagic.KeyInfo, error) {
	f, err := s.f.Get(ctx, key)
	if err == nil {
		return certmagic.KeyInfo{Key: key, Modified: f.Modified, Size: int64(len(f.Value)), IsTerminal: true}, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return certmagic.KeyInfo{}, err
	}
	files, lerr := s.f.List(ctx, strings.TrimSuffix(key, "/")+"/")
	if lerr != nil || len(files) == 0 {
		return certmagic.KeyInfo{}, err
	}
	var newest time.Time
	for _, f := range files {
		if f.Modified.After(newest) {
			newest = f.Modified
		}
	}
	return certmagic.KeyInfo{Key: key, Modified: newest, IsTerminal: false}, nil
}

// Lock waits until this node holds name, then keeps the lock fresh until
// Unlock; a lock whose node died lapses after lockTTL.
func (s *storeStorage) Lock(ctx context.Context, name string) error {
	for {
		ok, err := s.f.TryLock(ctx, name, s.holder, lockTTL)
		if err != nil {
			return fmt.Errorf("tlsauto: lock %s: %w", path.Base(name), err)
		}
		if ok {
			break
		}
		if !sleep(ctx, lockPoll) {
			return ctx.Err()
		}
	}
	kctx, cancel := context.WithCancel(context.Background())
	s.mu.Lock()
	if old := s.held[name]; old != nil {
		old()
	}
	s.held[name] = cancel
	s.mu.Unlock()
	go func() {
		for sleep(kctx, lockRefresh) {
			// A failed refresh is tried again at the next; the ttl leaves room.
			_, _ = s.f.TryLock(kctx, name, s.holder, lockTTL)
		}
	}()
	return nil
}

func (s *storeStorage) Unlock(ctx context.Context, name string) error {
	s.mu.Lock()
	if cancel := s.held[name]; cancel != nil {
		cancel()
		delete(s.held, name)
	}
	s.mu.Unlock()
	return s.f.Unlock(ctx, name, s.holder)
}

func (s *storeStorage) String() string { return "hearth store" }
