package web

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"net/url"
	"path"
	"strings"
)

// staticFiles serves embed/web/ under content-hash URLs (/s/HASH/name), so a
// browser may cache each file for a year and still never run a stale one.
type staticFiles struct {
	files map[string]staticFile // by name, e.g. "patient.css"
}

type staticFile struct {
	body  []byte
	hash  string
	ctype string
}

func loadStatic(files fs.FS) (*staticFiles, error) {
	sf := &staticFiles{files: map[string]staticFile{}}
	err := fs.WalkDir(files, "web", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(files, p)
		if err != nil {
			return err
		}
		h := sha256.Sum256(b)
		name := strings.TrimPrefix(p, "web/")
		ct := mime.TypeByExtension(path.Ext(name))
		if strings.HasSuffix(name, ".js") {
			ct = "text/javascript; charset=utf-8"
		}
		if ct == "" {
			ct = "application/octet-stream"
		}
		sf.files[name] = staticFile{body: b, hash: hex.EncodeToString(h[:6]), ctype: ct}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("web: static files: %w", err)
	}
	for _, need := range []string{"hearth.css"} {
		if _, ok := sf.files[need]; !ok {
			return nil, fmt.Errorf("web: embedded file web/%s is missing", need)
		}
	}
	return sf, nil
}

// url returns the hashed URL of a static file; a missing name panics at
// template execution, which New's test of every template catches.
func (sf *staticFiles) url(name string) (string, error) {
	f, ok := sf.files[name]
	if !ok {
		return "", fmt.Errorf("web: no static file %q", name)
	}
	return "/s/" + f.hash + "/" + (&url.URL{Path: name}).EscapedPath(), nil
}

func (s *Server) handleStatic(w http.ResponseWriter, r *http.Request, _ *reqCtx) error {
	f, ok := s.static.files[r.PathValue("file")]
	if !ok || f.hash != r.PathValue("hash") {
		return errNotFound
	}
	w.Header().Set("Content-Type", f.ctype)
	w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	w.Write(f.body)
	return nil
}

func parseURL(s string) (*url.URL, error) { return url.Parse(s) }
