package web

import (
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"net/url"
	"path"
	"regexp"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
)

func staticFS(files map[string]string) fstest.MapFS {
	m := fstest.MapFS{}
	for name, body := range files {
		m["web/"+name] = &fstest.MapFile{Data: []byte(body)}
	}
	return m
}

// TestStaticBuildHash: one hash for the whole build, the same every time the
// same files load, and different when any file's bytes or name change.
func TestStaticBuildHash(t *testing.T) {
	base := map[string]string{"hearth.css": "body{}", "console/app.js": "import './api.js';", "console/api.js": "export const x = 1;"}
	load := func(files map[string]string) *staticFiles {
		t.Helper()
		sf, err := loadStatic(staticFS(files))
		if err != nil {
			t.Fatal(err)
		}
		return sf
	}
	a := load(base)
	for i := 0; i < 5; i++ {
		if b := load(base); b.hash != a.hash {
			t.Fatalf("same files, different hash: %s then %s", a.hash, b.hash)
		}
	}
	for _, u := range []string{"hearth.css", "console/app.js", "console/api.js"} {
		got, err := a.url(u)
		if err != nil || got != "/s/"+a.hash+"/"+u {
			t.Errorf("url(%q) = %q, %v", u, got, err)
		}
	}
	if _, err := a.url("console/missing.js"); err == nil {
		t.Error("url of a missing file did not fail")
	}
	changed := map[string]map[string]string{
		"a body":        {"hearth.css": "body{}", "console/app.js": "import './api.js';", "console/api.js": "export const x = 2;"},
		"a name":        {"hearth.css": "body{}", "console/app.js": "import './api.js';", "console/api2.js": "export const x = 1;"},
		"a new file":    {"hearth.css": "body{}", "console/app.js": "import './api.js';", "console/api.js": "export const x = 1;", "x.txt": ""},
		"bytes shifted": {"hearth.css": "body{}i", "console/app.js": "mport './api.js';", "console/api.js": "export const x = 1;"},
	}
	for what, files := range changed {
		if b := load(files); b.hash == a.hash {
			t.Errorf("changing %s kept the hash %s", what, a.hash)
		}
	}
}

// TestStaticServing: files answer under the build's hash with a year-long
// immutable cache; another hash (a per-file hash of the old scheme, or any
// other) and an unknown file are 404s.
func TestStaticServing(t *testing.T) {
	e := newEnv(t)
	u := e.anon()
	css, err := e.web.static.url("hearth.css")
	if err != nil {
		t.Fatal(err)
	}
	r := u.req("GET", css, nil)
	if r.code != 200 || r.h.Get("Cache-Control") != "public, max-age=31536000, immutable" || !strings.HasPrefix(r.h.Get("Content-Type"), "text/css") {
		t.Fatalf("GET %s: %d %q %q", css, r.code, r.h.Get("Cache-Control"), r.h.Get("Content-Type"))
	}
	body, err := fs.ReadFile(e.files, "web/hearth.css")
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(body)
	oldHash := hex.EncodeToString(sum[:6])
	for _, p := range []string{
		"/s/" + oldHash + "/hearth.css",                 // the file's own hash, as URLs were made before
		"/s/000000000000/hearth.css",                    // any other hash
		"/s/" + e.web.static.hash + "/no-such-file.css", // the right hash, a wrong file
		"/s/" + e.web.static.hash + "/console/nope.js",  //
	} {
		if r := u.req("GET", p, nil); r.code != 404 {
			t.Errorf("GET %s: %d, want 404", p, r.code)
		}
	}
}

// importRE finds the module specifiers of static import and export-from
// statements (which may span lines).
var importRE = regexp.MustCompile(`(?m)^\s*(?:import\s+(?:[^;'"]*?\bfrom\s*)?|export\s+[^;'"]*?\bfrom\s*)['"]([^'"]+)['"]`)

// TestConsoleModulesResolve loads the console page, follows every relative
// import from its entry module the way a browser does, and checks that each
// one is served as JavaScript under the same build hash, that every module
// of the console is reached (none is left behind unused), and that none
// builds HTML from strings.
func TestConsoleModulesResolve(t *testing.T) {
	e := newEnv(t)
	u := e.anon()
	page := u.req("GET", "/staff/", nil)
	if page.code != 200 {
		t.Fatalf("GET /staff/: %d", page.code)
	}
	m := regexp.MustCompile(`<script type="module" src="([^"]+)"></script>`).FindStringSubmatch(page.body)
	if m == nil {
		t.Fatalf("the console page loads no module script:\n%s", page.body)
	}
	base, _ := url.Parse(e.srv.URL + "/staff/")
	entry, err := base.Parse(m[1])
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	queue := []*url.URL{entry}
	for len(queue) > 0 {
		cur := queue[0]
		queue = queue[1:]
		if seen[cur.Path] {
			continue
		}
		seen[cur.Path] = true
		r := u.req("GET", cur.Path, nil)
		if r.code != 200 || !strings.HasPrefix(r.h.Get("Content-Type"), "text/javascript") {
			t.Errorf("GET %s: %d %q", cur.Path, r.code, r.h.Get("Content-Type"))
			continue
		}
		// The console's XSS discipline: text goes in as text, never parsed
		// as HTML. And no module grows back into a monolith.
		for _, bad := range []string{"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("} {
			if strings.Contains(r.body, bad) {
				t.Errorf("%s uses %s", cur.Path, bad)
			}
		}
		if n := strings.Count(r.body, "\n"); n > 800 {
			t.Errorf("%s has %d lines; split it (about 800 at most)", cur.Path, n)
		}
		for _, im := range importRE.FindAllStringSubmatch(r.body, -1) {
			spec := im[1]
			if !strings.HasPrefix(spec, "./") && !strings.HasPrefix(spec, "../") {
				t.Errorf("%s imports %q: only relative module paths work without a bundler", cur.Path, spec)
				continue
			}
			next, err := cur.Parse(spec)
			if err != nil {
				t.Errorf("%s imports %q: %v", cur.Path, spec, err)
				continue
			}
			if !strings.HasPrefix(next.Path, "/s/"+e.web.static.hash+"/") {
				t.Errorf("%s imports %q, which leaves the build's hash: %s", cur.Path, spec, next.Path)
			}
			queue = append(queue, next)
		}
	}
	var want, got []string
	for name := range e.web.static.files {
		if path.Dir(name) == "console" && strings.HasSuffix(name, ".js") {
			want = append(want, "/s/"+e.web.static.hash+"/"+name)
		}
	}
	for p := range seen {
		got = append(got, p)
	}
	slices.Sort(want)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("modules reached from the entry:\n%v\nconsole modules embedded:\n%v", got, want)
	}
	if len(want) < 2 {
		t.Errorf("the console is %d module(s); it should be split into several", len(want))
	}
}
