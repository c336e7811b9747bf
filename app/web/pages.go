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
	frags := &fragments{}
	funcs := template.FuncMap{
		"static": s.static.url,
		"icon":   icon,
		"frag":   frags.render,
	}
	names, err := fs.Glob(s.files, "templates/*.html")
	if err != nil {
		return nil, err
	}
	frags.set, err = template.New("_fragments").Funcs(funcs).ParseFS(s.files, "templates/_*.html")
	if err != nil {
		return nil, fmt.Errorf("web: template _layout.html: %w", err)
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

// fragments draws, once, the parts of the patient pages that are the same
// for every patient in one language of one clinic (the frame's header and
// footer, the emergency lines, a form field nobody has typed in, the
// acknowledgement box), and keeps them: each action of a template costs
// reflective calls, and these parts were most of a page's actions. A part
// is keyed by its template and its whole input, a comparable value, so a
// changed word or setting draws it anew; its input holds no patient's data
// (a field with a value is drawn each time). The parts are drawn by
// html/template like the rest of the page ({{frag "name" .Input}}).
type fragments struct {
	set *template.Template // the shared blocks (templates/_*.html)
	mu  sync.Mutex
	m   map[fragKey]template.HTML
}

type fragKey struct {
	name string
	data any // a comparable struct of strings
}

// maxFragments bounds the kept parts: a few per language and frame block
// and a few dozen empty form fields, more only while settings change; past
// it they are drawn anew.
const maxFragments = 512

func (f *fragments) render(name string, data any) (template.HTML, error) {
	k := fragKey{name, data}
	f.mu.Lock()
	h, ok := f.m[k]
	f.mu.Unlock()
	if ok {
		return h, nil
	}
	var b bytes.Buffer
	if err := f.set.ExecuteTemplate(&b, name, data); err != nil {
		return "", err
	}
	h = template.HTML(b.String())
	f.mu.Lock()
	if f.m == nil || len(f.m) >= maxFragments {
		f.m = map[fragKey]template.HTML{}
	}
	f.m[k] = h
	f.mu.Unlock()
	return h, nil
}

// icon is one of the patient pages' drawn icons, as a fixed piece of SVG
// (the "picon" template draws it): a lookup instead of a chain of
// comparisons in the template, which cost the page a call each.
func icon(name string) template.HTML {
	const start = `<svg class="i" viewBox="0 0 24 24" aria-hidden="true" focusable="false">`
	switch name {
	case "message":
		return start + `<path d="M4 5.5h16v10.5H10l-6 4z"/><path d="M8 9.5h8M8 12.5h5"/></svg>`
	case "refill":
		return start + `<path d="M10.4 20.1a4.9 4.9 0 0 1-6.9-6.9l6.2-6.2a4.9 4.9 0 0 1 6.9 6.9z"/><path d="m7.1 10.1 6.8 6.8"/></svg>`
	case "appointment":
		return start + `<rect x="3.5" y="5" width="17" height="15.5" rx="2"/><path d="M3.5 10h17M8 3v4M16 3v4M8 14h2M14 14h2"/></svg>`
	case "callback":
		return start + `<path d="M5.5 3.5h3.2l1.8 4.6-2.3 1.5a11.5 11.5 0 0 0 6.2 6.2l1.5-2.3 4.6 1.8v3.2a2 2 0 0 1-2.1 2A16.5 16.5 0 0 1 3.5 5.6a2 2 0 0 1 2-2.1z"/></svg>`
	case "check":
		return start + `<circle cx="12" cy="12" r="9"/><path d="m7.8 12.3 2.9 2.9 5.5-6"/></svg>`
	case "clock":
		return start + `<circle cx="12" cy="12" r="9"/><path d="M12 7v5.2l3.3 2"/></svg>`
	case "lock":
		return start + `<rect x="4.5" y="10.5" width="15" height="10" rx="2"/><path d="M8 10.5V7.5a4 4 0 0 1 8 0v3"/></svg>`
	}
	return start + `<path d="m9.5 5.5 6.5 6.5-6.5 6.5"/></svg>` // a chevron
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
