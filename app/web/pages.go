package web

import (
	"bytes"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"strings"
	"sync"
)

// page is what every template gets.
type page struct {
	Title  string
	Clinic string
	Lang   string
	Data   any
}

// loadTemplates parses each page template with the shared layout. A page
// that fails to parse stops the server from starting.
func (s *Server) loadTemplates() (map[string]*template.Template, error) {
	funcs := template.FuncMap{
		"static": s.static.url,
	}
	names, err := fs.Glob(s.files, "templates/*.html")
	if err != nil {
		return nil, err
	}
	out := map[string]*template.Template{}
	for _, n := range names {
		base := strings.TrimPrefix(n, "templates/")
		if strings.HasPrefix(base, "_") {
			continue
		}
		t, err := template.New(base).Funcs(funcs).ParseFS(s.files, "templates/_*.html", n)
		if err != nil {
			return nil, fmt.Errorf("web: template %s: %w", base, err)
		}
		out[base] = t
	}
	for _, need := range []string{"error.html", "setup.html", "kit.html"} {
		if out[need] == nil {
			return nil, fmt.Errorf("web: embedded template templates/%s is missing", need)
		}
	}
	return out, nil
}

// render executes a page into a buffer first, so a template error becomes
// a clean 500 rather than half a page.
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, name string, p page) error {
	t := s.tmpl[name]
	if t == nil {
		return fmt.Errorf("web: no template %s", name)
	}
	if p.Lang == "" {
		p.Lang = "en"
	}
	if p.Clinic == "" {
		if st, err := s.c.Settings(r.Context()); err == nil {
			p.Clinic = st.ClinicName
		}
	}
	buf := renderBufs.Get().(*bytes.Buffer)
	defer putRenderBuf(buf)
	buf.Reset()
	if err := t.ExecuteTemplate(buf, name, p); err != nil {
		return fmt.Errorf("web: render %s: %w", name, err)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, err := w.Write(buf.Bytes())
	s.lostResponse(r, err)
	return nil
}

// renderBufs keeps page buffers between requests: a page grew a fresh
// buffer through several sizes each time, garbage on every patient page.
var renderBufs = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// putRenderBuf returns a buffer to the pool unless one page made it large.
func putRenderBuf(b *bytes.Buffer) {
	if b.Cap() <= 256<<10 {
		renderBufs.Put(b)
	}
}

func (s *Server) writeErrorPage(w http.ResponseWriter, r *http.Request, err error) {
	ae := toAPIError(err)
	if ae == nil {
		id := requestID()
		s.log.Error("request failed", "route", routeOf(r), "request_id", id, "err", err)
		ae = errInternalPage(id)
	}
	if rerr := s.render(w, r, ae.Status, "error.html", page{Title: http.StatusText(ae.Status), Data: ae}); rerr != nil {
		http.Error(w, ae.Msg, ae.Status)
	}
}
