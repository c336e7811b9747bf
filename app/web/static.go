package web

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strings"
)

// staticFiles serves embed/web/ under one build-wide content hash
// (/s/HASH/path). A browser may cache every file for a year, and files may
// refer to each other by relative URL (the console's ES modules import
// './api.js'): a new build has a new hash, so no page ever mixes files of
// two builds.
type staticFiles struct {
	hash  string                // over every file's name and bytes
	files map[string]staticFile // by path under web/, e.g. "console/app.js"
}

type staticFile struct {
	body  []byte
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
		name := strings.TrimPrefix(p, "web/")
		ct := mime.TypeByExtension(path.Ext(name))
		if strings.HasSuffix(name, ".js") {
			ct = "text/javascript; charset=utf-8"
		}
		if ct == "" {
			ct = "application/octet-stream"
		}
		sf.files[name] = staticFile{body: b, ctype: ct}
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
	sf.hash = buildHash(sf.files)
	return sf, nil
}

// buildHash hashes every file in name order, each name and body prefixed by
// its length, so no two different sets of files share a hash by
// concatenation.
func buildHash(files map[string]staticFile) string {
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	slices.Sort(names)
	h := sha256.New()
	var n [8]byte
	for _, name := range names {
		for _, part := range [][]byte{[]byte(name), files[name].body} {
			binary.BigEndian.PutUint64(n[:], uint64(len(part)))
			h.Write(n[:])
			h.Write(part)
		}
	}
	return hex.EncodeToString(h.Sum(nil)[:6])
}

// url returns the URL of a static file under the build's hash. Templates
// call it as {{static "name"}}; a missing name fails the template, which
// New's test of every template catches.
func (sf *staticFiles) url(name string) (string, error) {
	if _, ok := sf.files[name]; !ok {
		return "", fmt.Errorf("web: no static file %q", name)
	}
	return "/s/" + sf.hash + "/" + (&url.URL{Path: name}).EscapedPath(), nil
}

// handleStatic answers only the current build's hash: an older hash is a
// page of an earlier build, and answering it with today's files would mix
// builds under a year-long cache.
func (s *Server) handleStatic(w http.ResponseWriter, r *http.Request, _ *reqCtx) error {
	if r.PathValue("hash") != s.static.hash {
		return errNotFound
	}
	f, ok := s.static.files[r.PathValue("file")]
	if !ok {
		return errNotFound
	}
	w.Header().Set("Content-Type", f.ctype)
	w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	_, _ = w.Write(f.body) // a failed write means the client has gone: there is no one left to tell
	return nil
}

// handleFavicon answers the /favicon.ico browsers ask for on every site
// with Hearth's icon (an SVG, which browsers take there too; pages link
// it under the build's hash).
// (The page templates link it with {{static}}, so a build without it fails
// at New.)
func (s *Server) handleFavicon(w http.ResponseWriter, r *http.Request, _ *reqCtx) error {
	f, ok := s.static.files["favicon.svg"]
	if !ok {
		return errNotFound
	}
	// It keeps the server-wide no-store like every route outside /s/:
	// pages link the icon under the build's hash, which is cached.
	w.Header().Set("Content-Type", f.ctype)
	_, _ = w.Write(f.body) // a failed write means the client has gone: there is no one left to tell
	return nil
}

func parseURL(s string) (*url.URL, error) { return url.Parse(s) }
