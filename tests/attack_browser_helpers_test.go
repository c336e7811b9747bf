package tests

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"html"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"hearth/app/testpdf"
)

// Helpers shared by the XSS and CSRF browser tests: a guard that watches a
// tab for JavaScript dialogs, CSP violations and every HTTP answer, and a
// plain-HTTP patient that fills Hearth's forms the way a browser does.

// guardScript runs in every document of a guarded tab before the page's own
// scripts: it counts the CSP violations the page reports. DevTools injects
// it, so the page's CSP does not apply to it.
const guardScript = `(() => {
  window.__hearthCSP = [];
  const note = (e) => window.__hearthCSP.push(e.violatedDirective + ' ' + (e.blockedURI || 'inline') + ' ' + (e.sample || ''));
  document.addEventListener('securitypolicyviolation', note, true);
})();`

// answer is one HTTP response the tab received.
type answer struct {
	Method, URL string
	Status      int
}

// guard watches one tab.
type guard struct {
	t   *testing.T
	ctx context.Context

	mu       sync.Mutex
	dialogs  []string
	requests map[network.RequestID]string // id → method
	answers  []answer
}

// guardTab installs the CSP counter and starts recording dialogs (each is
// dismissed, so an injected alert cannot hang the tab) and HTTP answers.
func guardTab(t *testing.T, ctx context.Context) *guard {
	t.Helper()
	g := &guard{t: t, ctx: ctx, requests: map[network.RequestID]string{}}
	dismiss := make(chan struct{}, 16)
	err := chromedp.Listen(ctx, func(ev any) {
		g.mu.Lock()
		defer g.mu.Unlock()
		switch ev := ev.(type) {
		case *page.EventJavascriptDialogOpening:
			g.dialogs = append(g.dialogs, fmt.Sprintf("%s %q on %s", ev.Type, ev.Message, ev.URL))
			select {
			case dismiss <- struct{}{}:
			default:
			}
		case *network.EventRequestWillBeSent:
			// A redirect answers the request before it, under the same id.
			if r := ev.RedirectResponse; r != nil {
				g.answers = append(g.answers, answer{Method: g.requests[ev.RequestID], URL: r.URL, Status: int(r.Status)})
			}
			g.requests[ev.RequestID] = ev.Request.Method
		case *network.EventResponseReceived:
			g.answers = append(g.answers, answer{Method: g.requests[ev.RequestID], URL: ev.Response.URL, Status: int(ev.Response.Status)})
		}
	})
	if err != nil {
		t.Fatalf("listen to the tab: %v", err)
	}
	done := make(chan struct{})
	t.Cleanup(func() { close(done) })
	go func() {
		for {
			select {
			case <-done:
				return
			case <-dismiss:
				// The listener may not run commands; this goroutine may.
				if _, err := chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: false}); err != nil && ctx.Err() == nil {
					g.mu.Lock()
					g.dialogs = append(g.dialogs, "(the dialog could not be dismissed: "+err.Error()+")")
					g.mu.Unlock()
				}
			}
		}
	}()
	if _, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: guardScript}); err != nil {
		t.Fatalf("install the CSP counter: %v", err)
	}
	return g
}

// answersSince returns the answers recorded after the n-th.
func (g *guard) answersSince(n int) []answer {
	g.mu.Lock()
	defer g.mu.Unlock()
	if n > len(g.answers) {
		n = len(g.answers)
	}
	return append([]answer(nil), g.answers[n:]...)
}

func (g *guard) answerCount() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.answers)
}

// sweepJS inspects the whole document and answers a JSON list of what
// should not be there: an element the corpus would inject, any inline event
// handler attribute, a javascript: URL, an inline script, and the CSP
// violations counted since the last sweep (they are taken).
const sweepJS = `(() => {
  const bad = [];
  const roots = [document];
  for (const el of document.querySelectorAll('*')) if (el.shadowRoot) roots.push(el.shadowRoot);
  for (const r of roots) {
    const hit = r.querySelector('#pwned, b#pwned, img[src="x"], svg[onload], script[src="x"]');
    if (hit) bad.push('injected element: ' + hit.outerHTML.slice(0, 120));
    for (const el of r.querySelectorAll('*')) {
      for (const a of el.attributes) {
        if (/^on/i.test(a.name)) bad.push('event handler attribute ' + a.name + ' on <' + el.tagName.toLowerCase() + '>');
        if (/^(href|src|action|formaction|xlink:href|data)$/i.test(a.name) && /^\s*javascript:/i.test(a.value)) bad.push('javascript: URL in ' + a.name + ' of <' + el.tagName.toLowerCase() + '>');
      }
      if (el.tagName === 'SCRIPT' && !el.hasAttribute('src')) bad.push('inline script: ' + el.textContent.slice(0, 80));
    }
  }
  if (!Array.isArray(window.__hearthCSP)) bad.push('the CSP counter is missing: the guard script did not run');
  else for (const v of window.__hearthCSP.splice(0)) bad.push('CSP violation: ' + v);
  return JSON.stringify(bad);
})()`

// sweep evaluates sweepJS in the tab and fails the test with what it found.
func (g *guard) sweep(where string) {
	g.t.Helper()
	ctx, cancel := context.WithTimeout(g.ctx, 15*time.Second)
	defer cancel()
	out, err := chromedp.Run(ctx, chromedp.Evaluate[string](sweepJS))
	if err != nil {
		g.t.Fatalf("%s: sweep the DOM: %v", where, err)
	}
	var bad []string
	if err := json.Unmarshal([]byte(out), &bad); err != nil {
		g.t.Fatalf("%s: sweep answer %q: %v", where, out, err)
	}
	for _, b := range bad {
		g.t.Errorf("%s: %s", where, b)
	}
	g.mu.Lock()
	dialogs := g.dialogs
	g.dialogs = nil
	g.mu.Unlock()
	for _, d := range dialogs {
		g.t.Errorf("%s: a JavaScript dialog opened: %s", where, d)
	}
}

// formPatient is a patient's (or a visitor's) browser without JavaScript:
// a cookie jar, the form token read from each page, and no redirects
// followed, so the test sees where each form sends it.
type formPatient struct {
	t    *testing.T
	base string
	hc   *http.Client
}

func newFormPatient(t *testing.T, in *instance) *formPatient {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &formPatient{t: t, base: in.base(), hc: &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

var csrfInputRe = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// token opens a page and returns its form token.
func (p *formPatient) token(path string) string {
	p.t.Helper()
	resp, err := p.hc.Get(p.base + path)
	if err != nil {
		p.t.Fatalf("GET %s: %v", path, err)
	}
	body := readBody(p.t, resp)
	m := csrfInputRe.FindStringSubmatch(body)
	if resp.StatusCode != 200 || m == nil {
		p.t.Fatalf("GET %s: %d, no form token:\n%s", path, resp.StatusCode, body)
	}
	return html.UnescapeString(m[1])
}

// post sends a form (with the token of the page it is on) and returns the
// status and the redirect target.
func (p *formPatient) post(page, action string, v url.Values) (int, string) {
	p.t.Helper()
	v.Set("csrf", p.token(page))
	resp, err := p.hc.PostForm(p.base+action, v)
	if err != nil {
		p.t.Fatalf("POST %s: %v", action, err)
	}
	body := readBody(p.t, resp)
	if resp.StatusCode >= 400 {
		p.t.Fatalf("POST %s: %d\n%s", action, resp.StatusCode, body)
	}
	return resp.StatusCode, resp.Header.Get("Location")
}

// postFiles sends a multipart form with one file.
func (p *formPatient) postFiles(page, action string, v url.Values, fileName string, data []byte) (int, string) {
	p.t.Helper()
	v.Set("csrf", p.token(page))
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for k, vs := range v {
		for _, x := range vs {
			if err := mw.WriteField(k, x); err != nil {
				p.t.Fatal(err)
			}
		}
	}
	fw, err := mw.CreateFormFile("files", fileName)
	if err != nil {
		p.t.Fatal(err)
	}
	if _, err := fw.Write(data); err != nil {
		p.t.Fatal(err)
	}
	if err := mw.Close(); err != nil {
		p.t.Fatal(err)
	}
	req, err := http.NewRequest("POST", p.base+action, &buf)
	if err != nil {
		p.t.Fatal(err)
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	resp, err := p.hc.Do(req)
	if err != nil {
		p.t.Fatalf("POST %s: %v", action, err)
	}
	body := readBody(p.t, resp)
	if resp.StatusCode >= 400 {
		p.t.Fatalf("POST %s: %d\n%s", action, resp.StatusCode, body)
	}
	return resp.StatusCode, resp.Header.Get("Location")
}

// signIn redeems an invite code with the birth date (month, day, year).
func (p *formPatient) signIn(code, month, day, year string) {
	p.t.Helper()
	_, loc := p.post("/i/"+code, "/i/"+code, url.Values{"dob_month": {month}, "dob_day": {day}, "dob_year": {year}})
	if loc != "/me" {
		p.t.Fatalf("invite %s: sent to %q, not /me", code, loc)
	}
}

// jsString quotes s as a JavaScript string literal.
func jsString(s string) string {
	b, err := json.Marshal(s)
	if err != nil {
		panic(err)
	}
	return strings.ReplaceAll(strings.ReplaceAll(string(b), "\u2028", `\u2028`), "\u2029", `\u2029`)
}

// selfCheck proves the guard sees what it looks for, on the page the tab
// shows (a Hearth page, under Hearth's CSP): an inline script the page
// adds is a CSP violation the counter gets, and an alert is a dialog the
// listener gets (and dismisses). Both are then forgotten.
func (g *guard) selfCheck() {
	g.t.Helper()
	ctx, cancel := context.WithTimeout(g.ctx, 15*time.Second)
	defer cancel()
	n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`new Promise((done) => {
	  const s = document.createElement('script');
	  s.textContent = 'window.__ran = 1';
	  document.body.append(s);
	  s.remove();
	  setTimeout(() => done(window.__ran ? -1 : window.__hearthCSP.splice(0).length), 100);
	})`, chromedp.EvalAwaitPromise))
	if err != nil || n < 1 {
		g.t.Fatalf("guard self-check: an inline script was not reported as a CSP violation (%d, %v)", n, err)
	}
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`setTimeout(() => alert('guard self-check'), 0), true`)); err != nil {
		g.t.Fatalf("guard self-check: %v", err)
	}
	for {
		g.mu.Lock()
		seen := len(g.dialogs)
		g.dialogs = nil
		g.mu.Unlock()
		if seen > 0 {
			break
		}
		if ctx.Err() != nil {
			g.t.Fatal("guard self-check: an alert() was not seen as a dialog")
		}
		time.Sleep(50 * time.Millisecond)
	}
	// The dismissed dialog lets the page answer again.
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`true`)); err != nil {
		g.t.Fatalf("guard self-check: the page does not answer after the dialog: %v", err)
	}
}

// plainPDF is a one-page PDF with nothing active in it, well formed enough
// for the attachment check (pdfcpu) to accept.
func plainPDF() []byte { return testpdf.Plain() }
