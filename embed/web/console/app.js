// Hearth staff console.
//
// One ES module, no build step, no framework: `go build` is the whole build.
// It talks only to the staff JSON API (app/web/routes.go).
//
// Safety rules this file keeps everywhere:
//   * Every node is made with createElement and every text goes in through
//     textContent or setAttribute (see h()). Nothing is ever parsed as HTML,
//     so a patient's name or a message cannot become markup or script.
//   * No inline styles or scripts (the CSP forbids them): classes only.
//   * Every state change sends the session's CSRF token.
//   * Locking or switching user removes the app from the DOM, not just
//     covers it; switching or signing out forgets everything in memory.
//   * Only a person's keyboard, pointer or touch counts as activity for the
//     idle lock. Never call activity() from network, websocket or timer code.
//
// Sections:
//   1. DOM helpers     h(), field(), makeForm()
//   2. API             api(), ApiError, and what a locked/ended session does
//   3. Formatting      dates, roles, languages
//   4. Screens         sign-in, Hearth unlock (sealed mode), account setup
//                      gate, lock screen, shell, routing
//   5. Idle lock
//   5b. Real time      one websocket, reconnect with catch-up, alerts
//                      (sound, title count, desktop notifications), banners
//   6. Views           the `views` table (the nav is built from it) and each view
//   7. Start
//
// A view may set hooks on state.hooks while it is on screen: event(e) for
// live item events, presence(p) for colleagues' presence frames, reopen()
// after the websocket reconnects, key(e) for its keyboard shortcuts and
// leave() when it goes away. route() clears them.

// ---------------------------------------------------------------------------
// 1. DOM helpers

const doc = document;

// h builds an element. props: class, text, on<event> handlers, DOM
// properties (value, checked, disabled, hidden) and plain attributes.
// Children may be nodes, strings (added as text, never as HTML) or arrays.
function h(tag, props, ...kids) {
  const el = doc.createElement(tag);
  if (props) {
    for (const [k, v] of Object.entries(props)) {
      if (v === undefined || v === null || v === false) continue;
      if (k === 'class') el.className = v;
      else if (k === 'text') el.textContent = v;
      else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
      else if (k === 'value' || k === 'checked' || k === 'disabled' || k === 'hidden' || k === 'selected') el[k] = v;
      else el.setAttribute(k, v === true ? '' : String(v));
    }
  }
  add(el, kids);
  return el;
}

// add appends children to el; put replaces them. Use these, not the
// native append/replaceChildren, which would print a missing child (null)
// as the text "null".
function add(el, ...kids) {
  for (const k of kids.flat(Infinity)) {
    if (k === undefined || k === null || k === false) continue;
    el.append(typeof k === 'object' ? k : String(k));
  }
  return el;
}

function put(el, ...kids) {
  el.replaceChildren();
  return add(el, ...kids);
}

function debounce(fn, ms) {
  let t = 0;
  return (...args) => {
    clearTimeout(t);
    t = setTimeout(() => fn(...args), ms);
  };
}

// fieldError is a client-side error shaped like an API error.
function fieldError(field, message) {
  return { field, message, code: 'invalid' };
}

// field builds a labelled control with its hint and its error slot.
// spec: {name, label, type, hint, value, options (for select), attrs}.
// ids are prefix-name, so tests and labels can find them.
function field(prefix, spec) {
  const id = `${prefix}-${spec.name}`;
  const type = spec.type || 'text';
  const wrap = h('div', { class: type === 'checkbox' ? 'field check' : 'field' });
  const label = h('label', { for: id, id: id + '-label' }, spec.label);
  const hint = spec.hint ? h('p', { class: 'hint', id: id + '-hint' }, spec.hint) : null;
  let input;
  if (type === 'select') {
    input = h('select', { id, name: spec.name });
    for (const [v, t] of spec.options || []) add(input, h('option', { value: v }, t));
    if (spec.value !== undefined) input.value = spec.value;
  } else if (type === 'textarea') {
    input = h('textarea', { id, name: spec.name, rows: spec.rows || 3 });
    input.value = spec.value ?? '';
  } else {
    input = h('input', { id, name: spec.name, type, autocomplete: spec.autocomplete || 'off' });
    if (type === 'checkbox') input.checked = !!spec.value;
    else input.value = spec.value ?? '';
  }
  for (const [k, v] of Object.entries(spec.attrs || {})) {
    if (v !== undefined && v !== null && v !== false) input.setAttribute(k, v === true ? '' : String(v));
  }
  if (type === 'checkbox') add(wrap, [input, label, hint]);
  else add(wrap, [label, hint, input]);

  let errEl = null;
  const describe = () => {
    const ids = [hint && hint.id, errEl && errEl.id].filter(Boolean).join(' ');
    if (ids) input.setAttribute('aria-describedby', ids);
    else input.removeAttribute('aria-describedby');
  };
  describe();
  const f = {
    wrap, input, name: spec.name,
    get value() {
      if (type === 'checkbox') return input.checked;
      return input.value;
    },
    setError(message) {
      f.clear();
      errEl = h('p', { class: 'err', id: id + '-err', role: 'alert' }, message);
      add(wrap, errEl);
      wrap.classList.add('invalid');
      input.setAttribute('aria-invalid', 'true');
      describe();
    },
    clear() {
      if (errEl) errEl.remove();
      errEl = null;
      wrap.classList.remove('invalid');
      input.removeAttribute('aria-invalid');
      describe();
    },
  };
  return f;
}

// makeForm builds a form from field specs. A spec may also be
// {group: 'Legend', items: [...specs]} (a fieldset) or {node: Element}.
// onSubmit(values, form) may throw an ApiError or fieldError(): it is shown
// next to its field, or above the buttons when it names no field.
function makeForm(prefix, specs, opts) {
  const fields = {};
  const el = h('form', { id: prefix, novalidate: true, class: opts.class, 'aria-label': opts.label });
  const build = (parent, list) => {
    for (const s of list) {
      if (!s) continue;
      if (s.node) { add(parent, s.node); continue; }
      if (s.group) {
        const fs = h('fieldset', null, h('legend', null, s.group));
        if (s.intro) add(fs, h('p', { class: 'hint' }, s.intro));
        build(fs, s.items);
        add(parent, fs);
        continue;
      }
      const f = field(prefix, s);
      fields[s.name] = f;
      add(parent, f.wrap);
    }
  };
  build(el, specs);
  const msg = h('div', { class: 'form-msg', id: prefix + '-msg' });
  const btn = h('button', { type: 'submit', class: opts.submitClass || 'primary', id: prefix + '-submit' }, opts.submit);
  el.append(msg, h('div', { class: 'actions' }, btn, opts.secondary));
  let busy = false;

  const form = {
    el, fields, btn,
    values() {
      const o = {};
      for (const [k, f] of Object.entries(fields)) o[k] = f.value;
      return o;
    },
    clearErrors() {
      for (const f of Object.values(fields)) f.clear();
      put(msg);
    },
    error(err) {
      if (!err || err.handled) return;
      if (opts.onError && opts.onError(err)) return;
      const f = err.field && fields[err.field];
      if (f) {
        f.setError(err.message);
        f.input.focus();
      } else {
        put(msg, h('p', { class: 'err', role: 'alert' }, err.message));
      }
    },
    // run does fn(values) with the form marked busy and its errors shown.
    // The submit button is never disabled (that would drop keyboard focus);
    // a second press while busy is ignored instead.
    async run(fn) {
      if (busy) return;
      busy = true;
      form.clearErrors();
      el.setAttribute('aria-busy', 'true');
      btn.setAttribute('aria-disabled', 'true');
      try {
        await fn(form.values(), form);
      } catch (err) {
        if (!(err instanceof ApiError) && !(err && err.field !== undefined)) {
          console.error(err);
          err = { message: 'Something went wrong in the console. Reload the page and try again.' };
        }
        form.error(err);
      } finally {
        busy = false;
        el.removeAttribute('aria-busy');
        btn.removeAttribute('aria-disabled');
      }
    },
  };
  el.addEventListener('submit', (e) => {
    e.preventDefault();
    form.run(opts.onSubmit);
  });
  return form;
}

// okMessage is a success message that screen readers hear: it is focused.
function okMessage(text) {
  return h('p', { class: 'ok-msg', role: 'status', tabindex: '-1' }, text);
}

function errorBox(text) {
  return h('div', { class: 'alert-box', role: 'alert' }, text);
}

function viewHead(title, ...actions) {
  return h('div', { class: 'view-head' },
    h('h1', { tabindex: '-1' }, title),
    actions.length ? h('div', { class: 'actions' }, actions) : null);
}

// lockIcon draws a padlock (SVG nodes, so it needs no icon font).
function lockIcon() {
  const ns = 'http://www.w3.org/2000/svg';
  const el = (tag, attrs) => {
    const n = doc.createElementNS(ns, tag);
    for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, v);
    return n;
  };
  const svg = el('svg', { viewBox: '0 0 24 24', width: '26', height: '26', 'aria-hidden': 'true', focusable: 'false' });
  svg.append(
    el('path', { d: 'M8 11V8a4 4 0 0 1 8 0v3', fill: 'none', stroke: 'currentColor', 'stroke-width': '2.2', 'stroke-linecap': 'round' }),
    el('rect', { x: '5', y: '11', width: '14', height: '10', rx: '2.5', fill: 'currentColor' }));
  return svg;
}

function backLink(href, text) {
  return h('a', { class: 'back', href }, h('span', { 'aria-hidden': 'true' }, '←'), text);
}

// ---------------------------------------------------------------------------
// 2. API

class ApiError extends Error {
  constructor(status, body) {
    super((body && body.error) || `Hearth answered with an error (${status}). Please try again.`);
    this.status = status;
    this.code = (body && body.code) || `http_${status}`;
    this.field = (body && body.field) || '';
    // body: the whole answer (an import refused with 422 lists its rows).
    this.body = body || null;
    // handled: the console already acted on it (lock screen, sign-in).
    this.handled = false;
  }
}

// api calls the staff API. opt.quiet skips the global handling of locked,
// ended and not-yet-set-up sessions (the caller deals with them).
async function api(method, path, body, opt = {}) {
  const headers = { Accept: 'application/json' };
  const init = { method, credentials: 'same-origin', headers, cache: 'no-store' };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  if (method !== 'GET' && method !== 'HEAD') headers['X-CSRF-Token'] = state.csrf;
  // A refresh the page makes by itself (a live event) is not the person
  // being active: the server's idle lock must still run.
  if (opt.background) headers['X-Hearth-Background'] = '1';
  let res;
  try {
    res = await fetch(path, init);
  } catch {
    throw new ApiError(0, { code: 'network', error: 'Hearth could not be reached. Check the network connection and try again.' });
  }
  idle.contact = Date.now();
  let data = null;
  if (res.status !== 204) {
    try { data = await res.json(); } catch { data = null; }
  }
  if (res.ok) return data;
  const err = new ApiError(res.status, data);
  if (!opt.quiet) sessionProblem(err);
  throw err;
}

// sessionProblem moves the whole console when the session itself says so.
function sessionProblem(err) {
  if (err.code === 'session_locked') {
    err.handled = true;
    if (state.mode !== 'locked') showLock();
  } else if (err.code === 'unauthorized') {
    err.handled = true;
    if (state.mode !== 'signin') showSignIn({ notice: 'Your session has ended. Please sign in again.' });
  } else if (err.code === 'setup_required') {
    err.handled = true;
    enter();
  } else if (err.code === 'locked') {
    err.handled = true;
    if (state.mode !== 'vault') showVaultUnlock();
  }
}

// ---------------------------------------------------------------------------
// 3. Formatting

const roleNames = { owner: 'Owner', clinician: 'Clinician', frontdesk: 'Front desk' };
const roleName = (r) => roleNames[r] || r || '';
const roleOptions = [['frontdesk', 'Front desk'], ['clinician', 'Clinician'], ['owner', 'Owner']];
const langNames = { en: 'English', es: 'Spanish (Español)' };

const dobFormat = new Intl.DateTimeFormat('en-US', { year: 'numeric', month: 'short', day: 'numeric', timeZone: 'UTC' });
const timeFormat = new Intl.DateTimeFormat('en-US', { dateStyle: 'medium', timeStyle: 'medium' });

// formatDOB shows 1961-03-14 as "Mar 14, 1961": no month/day ambiguity.
function formatDOB(s) {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(s || '');
  if (!m) return s || '';
  const d = new Date(0);
  d.setUTCFullYear(+m[1], +m[2] - 1, +m[3]);
  return dobFormat.format(d);
}

// formatTime shows an RFC 3339 time in this computer's local time.
function formatTime(s) {
  const d = new Date(s);
  return Number.isNaN(d.getTime()) ? (s || '') : timeFormat.format(d);
}

// formatWhen is a short local time for threads and lists: "Today, 4:46 PM",
// "Yesterday, 9:02 AM", "Nov 3, 4:46 PM" (the full time is its tooltip).
const longDate = new Intl.DateTimeFormat('en-US', { dateStyle: 'long' });
const clockFormat = new Intl.DateTimeFormat('en-US', { hour: 'numeric', minute: '2-digit' });
const dayFormat = new Intl.DateTimeFormat('en-US', { month: 'short', day: 'numeric' });
const dayYearFormat = new Intl.DateTimeFormat('en-US', { month: 'short', day: 'numeric', year: 'numeric' });
function formatWhen(s) {
  const d = new Date(s);
  if (Number.isNaN(d.getTime())) return s || '';
  const now = new Date();
  const start = new Date(now.getFullYear(), now.getMonth(), now.getDate()).getTime();
  const t = d.getTime();
  let day;
  if (t >= start && t < start + 86_400_000) day = 'Today';
  else if (t >= start - 86_400_000 && t < start) day = 'Yesterday';
  else day = (d.getFullYear() === now.getFullYear() ? dayFormat : dayYearFormat).format(d);
  return `${day}, ${clockFormat.format(d)}`;
}

function hourLabel(hr) {
  return `${hr % 12 || 12}:00 ${hr < 12 ? 'AM' : 'PM'}`;
}

function plural(n, one, many) {
  return `${n} ${n === 1 ? one : many}`;
}

// ---------------------------------------------------------------------------
// 4. Screens

const root = doc.getElementById('app');

const state = {
  clinic: (root && root.dataset.clinic) || 'Hearth',
  mode: 'boot',     // boot | signin | setup | shell | locked | problem
  csrf: '',
  me: null,         // the GET /api/v1/session answer
  pendingPassword: '', // a temporary password just typed at sign-in, for the change-password gate
  pinBlocked: false,
  lockPending: null,
  shell: null,
  viewEpoch: 0,
  hooks: {},        // the view on screen: event, presence, reopen, key, leave
  titleBase: '',    // the page title without the alert count
  unseen: 0,        // new-item alerts since the person last looked at the inbox
};

// memory is what views keep between visits (a search, a one-time message).
// It is thrown away whenever the person at the screen may change.
let memory = {};

function forget(keepAddress) {
  state.csrf = '';
  state.me = null;
  state.pendingPassword = '';
  state.pinBlocked = false;
  state.shell = null;
  state.unseen = 0;
  live.reset();
  memory = {};
  if (location.hash && !keepAddress) history.replaceState(null, '', location.pathname + location.search);
}

// setScreen replaces everything in the page: what was there is gone from
// the DOM and the accessibility tree.
function setScreen(mode, ...nodes) {
  leaveView();
  if (mode !== 'shell') live.stop();
  state.mode = mode;
  state.viewEpoch++;
  root.replaceChildren(...nodes.filter(Boolean));
}

function skipLink(target) {
  return h('a', {
    class: 'skip', href: '#main',
    onclick: (e) => { e.preventDefault(); target.focus(); },
  }, 'Skip to content');
}

function topBar(kind) {
  const bar = h('header', { class: 'top' },
    h('div', { class: 'brand' },
      h('span', { class: 'logo', 'aria-hidden': 'true' }, 'H'),
      h('span', { class: 'clinic' }, state.clinic),
      h('span', { class: 'product' }, 'Staff console')));
  if (kind === 'shell') {
    const me = state.me.staff;
    add(bar, h('div', { class: 'who' },
      h('p', { class: 'live', id: 'live', role: 'status' }),
      h('p', { class: 'me', id: 'me' },
        h('span', { class: 'vh' }, 'Signed in: '),
        h('span', { class: 'me-name' }, me.name),
        h('span', { class: 'me-role' }, roleName(me.role))),
      h('button', { type: 'button', id: 'btn-lock', onclick: () => lockNow() }, 'Lock'),
      h('button', { type: 'button', id: 'btn-switch', onclick: () => switchUser() }, 'Switch user'),
      h('button', { type: 'button', id: 'btn-signout', onclick: () => signOut() }, 'Sign out')));
  } else if (kind === 'setup') {
    add(bar, h('div', { class: 'who' },
      h('button', { type: 'button', id: 'btn-signout', onclick: () => signOut() }, 'Sign out')));
  }
  return bar;
}

function centered(...kids) {
  return h('main', { id: 'main', class: 'center', tabindex: '-1' }, kids);
}

// enter asks the server where this browser stands and shows that.
async function enter() {
  let s;
  try {
    s = await api('GET', '/api/v1/session', undefined, { quiet: true });
  } catch (err) {
    if (err.code === 'unauthorized') showSignIn({ boot: state.mode === 'boot' });
    else if (err.code === 'locked') showVaultUnlock();
    else showProblem(err);
    return;
  }
  applySession(s);
  if (s.locked) showLock();
  else if (s.must_change_password) showPasswordGate();
  else if (s.must_enroll_totp) showTotpGate();
  else {
    state.pendingPassword = '';
    showShell();
  }
}

function applySession(s) {
  state.me = s;
  state.csrf = s.csrf;
  if (s.clinic) state.clinic = s.clinic;
  idle.minutes = s.idle_lock_minutes > 0 ? s.idle_lock_minutes : 15;
}

async function refreshMe() {
  const s = await api('GET', '/api/v1/session');
  applySession(s);
  return s;
}

function showProblem(err) {
  const title = h('h1', { tabindex: '-1' }, 'Hearth cannot be reached');
  setScreen('problem', topBar(), centered(h('section', { class: 'card narrow' },
    title,
    h('p', null, err.message),
    h('div', { class: 'actions' }, h('button', { type: 'button', class: 'primary', onclick: () => enter() }, 'Try again')))));
  title.focus();
}

// --- Sign-in

// showSignIn shows an empty sign-in form. Only on first load (boot) is the
// address kept, so a bookmarked view opens after sign-in; otherwise nothing
// of the previous person stays, their last view included.
function showSignIn({ notice = '', switching = false, boot = false } = {}) {
  forget(boot);
  const card = h('section', { class: 'card narrow', 'aria-labelledby': 'signin-title' });
  const main = centered(card);
  setScreen('signin', skipLink(main), topBar(), main);
  doc.title = `Sign in · ${state.clinic}`;
  const noticeEl = notice ? h('p', { class: 'notice', role: 'status' }, notice) : null;
  credentials('');

  function credentials(email) {
    const f = makeForm('signin', [
      { name: 'email', label: 'Email', type: 'email', autocomplete: 'username', value: email, attrs: { spellcheck: 'false', autocapitalize: 'none' } },
      { name: 'password', label: 'Password', type: 'password', autocomplete: 'current-password' },
    ], {
      submit: 'Sign in', label: 'Sign in',
      async onSubmit(v) {
        if (!v.email.trim()) throw fieldError('email', 'Enter the email address of your staff account.');
        if (!v.password) throw fieldError('password', 'Enter your password.');
        let r;
        try {
          r = await api('POST', '/api/v1/login', { email: v.email, password: v.password }, { quiet: true });
        } catch (err) {
          if (err.code === 'totp_required') { secondStep(v.email, v.password); return; }
          if (err.code === 'locked') { showVaultUnlock(); return; }
          throw err;
        }
        signedIn(r, v.password);
      },
    });
    put(card,
      h('h1', { id: 'signin-title', tabindex: '-1' }, switching ? 'Switch user' : 'Sign in'),
      h('p', { class: 'lead' }, switching
        ? 'The screen is locked for the previous person. Sign in as yourself: their session ends when you do.'
        : `Staff console of ${state.clinic}.`),
      noticeEl, f.el);
    (email ? f.fields.password : f.fields.email).input.focus();
  }

  function secondStep(email, password) {
    const f = makeForm('signin-totp', [
      { name: 'totp', label: 'Code', type: 'text', autocomplete: 'one-time-code',
        hint: 'The 6-digit code your authenticator app shows now, or one of your recovery codes.',
        attrs: { spellcheck: 'false', autocapitalize: 'none', maxlength: 20 } },
    ], {
      submit: 'Sign in', label: 'Two-step sign-in',
      secondary: h('button', { type: 'button', onclick: () => credentials(email) }, 'Back'),
      async onSubmit(v) {
        if (!v.totp.trim()) throw fieldError('totp', 'Enter the code from your authenticator app.');
        const r = await api('POST', '/api/v1/login', { email, password, totp: v.totp.trim() }, { quiet: true });
        signedIn(r, password);
      },
    });
    put(card,
      h('h1', { id: 'signin-title', tabindex: '-1' }, 'Two-step sign-in'),
      h('p', { class: 'lead' }, 'Open the authenticator app on your phone and type the code it shows for Hearth.'),
      f.el);
    f.fields.totp.input.focus();
  }
}

function signedIn(r, password) {
  state.csrf = r.csrf;
  state.pendingPassword = r.must_change_password ? password : '';
  idle.last = Date.now();
  enter();
}

async function signOut() {
  const call = api('POST', '/api/v1/logout', undefined, { quiet: true });
  setScreen('signin'); // blank at once, before the answer
  try {
    await call;
    showSignIn({ notice: 'You have signed out.' });
  } catch (err) {
    if (err.code === 'unauthorized') showSignIn({ notice: 'You have signed out.' });
    else showSignIn({ notice: `Signing out did not reach Hearth (${err.message}) The screen is cleared; your session locks itself when idle.` });
  }
}

// switchUser locks this session on the server (the next person's sign-in
// ends it) and shows an empty sign-in form. Nothing of the previous person
// stays on screen or in memory.
function switchUser() {
  if (state.mode === 'shell' || state.mode === 'setup') {
    api('POST', '/api/v1/session/lock', undefined, { quiet: true }).catch(() => {});
  }
  showSignIn({ switching: true });
}

// --- Hearth unlock (sealed mode)
//
// With a passphrase on the clinic key, Hearth restarts locked: patients can
// still send, but nothing can be read until someone types the passphrase.
// Sign-in answers 503 {code: "locked"} until then.

function showVaultUnlock() {
  forget(true);
  const f = makeForm('vault', [
    { name: 'passphrase', label: 'Clinic passphrase', type: 'password', autocomplete: 'current-password',
      hint: 'The passphrase the owner chose under Settings. It is not anyone\u2019s own password.' },
  ], {
    submit: 'Unlock Hearth', label: 'Unlock Hearth',
    async onSubmit(v) {
      if (!v.passphrase) throw fieldError('passphrase', 'Type the clinic passphrase.');
      try {
        await api('POST', '/api/v1/unlock', { passphrase: v.passphrase }, { quiet: true });
      } catch (err) {
        if (err.code === 'too_many') throw { message: 'Too many wrong tries. Wait a few minutes, then try again.' };
        throw err;
      }
      showSignIn({ notice: 'Hearth is unlocked. Sign in to continue.' });
    },
  });
  const title = h('h1', { id: 'vault-title', tabindex: '-1' }, 'Hearth is locked');
  const main = centered(h('section', { class: 'card narrow', 'aria-labelledby': 'vault-title' },
    h('div', { class: 'lock-mark', 'aria-hidden': 'true' }, lockIcon()),
    title,
    h('p', { class: 'lead' }, 'Hearth restarted and is waiting for the clinic passphrase. Until someone types it, staff cannot sign in. Patients can still send messages meanwhile.'),
    f.el));
  setScreen('vault', skipLink(main), topBar(), main);
  doc.title = `Locked · ${state.clinic}`;
  f.fields.passphrase.input.focus();
}

// --- Account setup gate

function showPasswordGate() {
  const known = state.pendingPassword;
  const name = state.me.staff.name;
  const f = makeForm('newpw', [
    known ? null : { name: 'current', label: 'Temporary password', type: 'password', autocomplete: 'current-password',
      hint: 'The password the clinic owner gave you.' },
    { name: 'new', label: 'New password', type: 'password', autocomplete: 'new-password',
      hint: 'At least 10 characters. A few unrelated words make a strong password that is easy to remember.' },
    { name: 'new_again', label: 'New password again', type: 'password', autocomplete: 'new-password' },
  ], {
    submit: 'Save and continue', label: 'Choose a new password',
    async onSubmit(v) {
      if (!v.new) throw fieldError('new', 'Choose a new password.');
      if (v.new !== v.new_again) throw fieldError('new_again', 'The two passwords are not the same. Type the new password again.');
      await api('POST', '/api/v1/me/password', { current: known || v.current, new: v.new });
      state.pendingPassword = '';
      await enter();
    },
  });
  const title = h('h1', { id: 'gate-title', tabindex: '-1' }, 'Choose your own password');
  const main = centered(h('section', { class: 'card narrow', 'aria-labelledby': 'gate-title' },
    title,
    h('p', { class: 'lead' }, `${name}, your password was set by the clinic owner. Choose one only you know before you continue.`),
    f.el));
  setScreen('setup', skipLink(main), topBar('setup'), main);
  doc.title = `New password · ${state.clinic}`;
  (f.fields.current || f.fields.new).input.focus();
}

function showTotpGate() {
  const title = h('h1', { id: 'gate-title', tabindex: '-1' }, 'Turn on two-step sign-in');
  const main = centered(h('section', { class: 'card narrow wide', 'aria-labelledby': 'gate-title' },
    title,
    h('p', { class: 'lead' }, 'The clinic asks everyone to sign in with a password and a code from their phone. It takes a minute.'),
    totpEnrolment(() => enter())));
  setScreen('setup', skipLink(main), topBar('setup'), main);
  doc.title = `Two-step sign-in · ${state.clinic}`;
  title.focus();
}

// totpEnrolment shows the QR code and secret, checks a first code, then
// shows the ten recovery codes once. onDone runs after "I saved them".
function totpEnrolment(onDone, onCancel) {
  const box = h('div', { class: 'enrol' }, h('p', { class: 'muted', role: 'status' }, 'Preparing…'));
  const cancel = onCancel ? h('button', { type: 'button', onclick: onCancel }, 'Cancel') : null;
  api('POST', '/api/v1/me/totp').then((e) => {
    const qr = typeof e.qr === 'string' && e.qr.startsWith('data:image/png;base64,') ? e.qr : '';
    const f = makeForm('totp', [
      { name: 'code', label: 'Code from the app', autocomplete: 'one-time-code', hint: '6 digits.',
        attrs: { inputmode: 'numeric', maxlength: 8, spellcheck: 'false' } },
    ], {
      submit: 'Turn on', label: 'Confirm two-step sign-in', secondary: cancel,
      async onSubmit(v) {
        if (!v.code.trim()) throw fieldError('code', 'Type the 6 digits the app shows now.');
        const r = await api('POST', '/api/v1/me/totp/confirm', { code: v.code.trim() });
        showCodes(r.recovery_codes || []);
      },
    });
    put(box, h('ol', null,
      h('li', null, 'Install an authenticator app on your phone if you have none (for example Google Authenticator, Microsoft Authenticator or 2FAS).'),
      h('li', null, 'In the app, add an account and scan this code:',
        qr ? h('img', { class: 'qr', src: qr, alt: 'QR code for adding Hearth to an authenticator app', width: 200, height: 200 }) : null,
        h('span', { class: 'hint' }, 'Cannot scan it? Type this key instead: '),
        h('span', { class: 'secret', id: 'totp-secret' }, (e.secret || '').replace(/(.{4})/g, '$1 ').trim())),
      h('li', null, 'Type the code the app now shows for Hearth.', f.el)));
  }).catch((err) => {
    if (err.handled) return;
    put(box, errorBox(err.message), cancel);
  });

  function showCodes(codes) {
    const title = h('h2', { tabindex: '-1', id: 'codes-title' }, 'Save your recovery codes');
    put(box,
      title,
      h('p', null, 'Two-step sign-in is now on. If you lose your phone, each of these codes signs you in once. Print them or write them down and keep them somewhere safe: they will not be shown again.'),
      h('ol', { class: 'codes', 'aria-labelledby': 'codes-title' }, codes.map((c) => h('li', null, c))),
      h('div', { class: 'actions' },
        h('button', { type: 'button', class: 'noprint', onclick: () => window.print() }, 'Print'),
        h('button', { type: 'button', class: 'primary', id: 'codes-saved', onclick: onDone }, 'I saved them')));
    title.focus();
  }
  return box;
}

// --- Lock screen

function showLock() {
  if (!state.me) { showSignIn(); return; }
  const me = state.me;
  me.locked = true;
  const card = h('section', { class: 'card narrow', 'aria-labelledby': 'lock-title' });
  const main = centered(card);
  setScreen('locked', skipLink(main), topBar(), main);
  doc.title = `Locked · ${state.clinic}`;
  render(me.has_pin && !state.pinBlocked, '');

  function render(usePin, carriedError) {
    const spec = usePin
      ? { name: 'pin', label: 'PIN', type: 'password', autocomplete: 'off', attrs: { inputmode: 'numeric', maxlength: 8 } }
      : { name: 'password', label: 'Password', type: 'password', autocomplete: 'current-password' };
    const f = makeForm('lock', [spec], {
      submit: 'Unlock', label: 'Unlock',
      async onSubmit(v) {
        const secret = usePin ? v.pin : v.password;
        if (!secret) throw fieldError(spec.name, usePin ? 'Enter your PIN.' : 'Enter your password.');
        await state.lockPending;
        await api('POST', '/api/v1/session/unlock', usePin ? { pin: secret } : { password: secret });
        state.pinBlocked = false;
        idle.last = Date.now();
        await enter();
      },
      onError(err) {
        if (err.code === 'pin_blocked') {
          state.pinBlocked = true;
          render(false, err.message);
          return true;
        }
        return false;
      },
    });
    const other = me.has_pin && !(usePin === false && state.pinBlocked)
      ? h('button', { type: 'button', class: 'link', onclick: () => render(!usePin, '') }, usePin ? 'Use my password instead' : 'Use my PIN instead')
      : null;
    put(card,
      h('div', { class: 'lock-mark', 'aria-hidden': 'true' }, lockIcon()),
      h('h1', { id: 'lock-title', tabindex: '-1' }, 'Screen locked'),
      h('p', { id: 'lock-who' }, 'Signed in: ', h('strong', null, me.staff.name), ` · ${roleName(me.staff.role)}`),
      f.el,
      h('div', { class: 'lock-alt' }, other,
        h('button', { type: 'button', class: 'link', id: 'lock-switch', onclick: () => switchUser() }, 'Not you? Switch user')));
    if (carriedError) f.fields[spec.name].setError(carriedError);
    f.fields[spec.name].input.focus();
  }
}

function lockNow() {
  if (state.mode !== 'shell' && state.mode !== 'setup') return;
  // The request leaves before the screen blanks (it needs the CSRF token);
  // the screen blanks without waiting for the answer.
  state.lockPending = api('POST', '/api/v1/session/lock', undefined, { quiet: true }).catch(() => {});
  showLock();
}

// --- Shell and routing

function showShell() {
  const role = state.me.staff.role;
  const allowed = Object.keys(views).filter((k) => !views[k].roles || views[k].roles.includes(role));
  const links = {};
  const nav = h('nav', { class: 'side', 'aria-label': 'Console' },
    h('ul', null, allowed.map((k) => h('li', null,
      links[k] = h('a', { href: `#/${k}`, id: `nav-${k}` }, views[k].icon ? icon(views[k].icon, 20) : null,
        h('span', null, views[k].label), k === 'inbox' ? h('span', { class: 'nav-count', id: 'nav-unseen', hidden: true }) : null)))));
  const main = h('main', { id: 'main', class: 'view', tabindex: '-1' });
  const alerts = h('div', { id: 'alerts', class: 'alerts', role: 'region', 'aria-label': 'Alerts', hidden: true });
  setScreen('shell', h('div', { id: 'shell', class: 'shell' }, skipLink(main), topBar('shell'),
    h('div', { class: 'frame' }, nav, h('div', { class: 'main-col' }, alerts, main))));
  state.shell = { main, links, allowed, alerts };
  idle.last = Date.now();
  live.start();
  route();
}

// leaveView runs the on-screen view's leave hook once and drops its hooks.
function leaveView() {
  const hk = state.hooks;
  state.hooks = {};
  if (hk.leave) {
    try { hk.leave(); } catch (err) { console.error(err); }
  }
}

// setTitle sets the page title; a count of new requests leads it while
// there are some the person has not looked at.
function setTitle(base) {
  state.titleBase = base;
  doc.title = (state.unseen > 0 ? `(${state.unseen}) ` : '') + base;
  const badge = doc.getElementById('nav-unseen');
  if (badge) {
    badge.hidden = !(state.unseen > 0);
    put(badge, String(state.unseen), h('span', { class: 'vh' }, ' new'));
  }
}

// route shows the view the URL names (#/view/arg). Unknown or forbidden
// views fall back to the first view in the table.
function route() {
  if (state.mode !== 'shell' || !state.shell) return;
  const { main, links, allowed } = state.shell;
  let parts;
  try {
    parts = location.hash.replace(/^#\/?/, '').split('/').map(decodeURIComponent);
  } catch {
    parts = [''];
  }
  let key = parts[0];
  if (!allowed.includes(key)) {
    key = allowed[0];
    parts = [key];
    history.replaceState(null, '', `#/${key}`);
  }
  for (const [k, a] of Object.entries(links)) {
    if (k === key) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  leaveView();
  const body = h('div', { class: 'view-body', id: `view-${key}` });
  put(main, body);
  const epoch = ++state.viewEpoch;
  const ctx = {
    arg: parts.slice(1).join('/'),
    // alive: this view is still the one on screen (answers that arrive
    // after the person moved on, locked or switched are dropped).
    alive: () => state.viewEpoch === epoch && state.mode === 'shell',
  };
  setTitle(`${views[key].label} · ${state.clinic}`);
  const focus = views[key].render(body, ctx);
  (focus || body.querySelector('h1') || main).focus();
}

// ---------------------------------------------------------------------------
// 5. Idle lock
//
// The console locks itself after idle_lock_minutes without keyboard,
// pointer or touch input. While the person is active, a light GET of the
// session tells the server too (it locks idle sessions on its own), so
// someone typing a long note is never locked out by the server mid-way.

const idle = { minutes: 15, last: Date.now(), contact: 0 };

function activity(e) {
  idle.last = Date.now();
  if (e && (e.type === 'keydown' || e.type === 'pointerdown' || e.type === 'touchstart')) sound.unlock();
  if (state.unseen && state.mode === 'shell' && location.hash.replace(/^#\/?/, '').split('/')[0] === 'inbox') clearUnseen();
  if (state.mode !== 'shell' && state.mode !== 'setup') return;
  const keepAlive = Math.min(60_000, (idle.minutes * 60_000) / 3);
  if (Date.now() - idle.contact < keepAlive) return;
  idle.contact = Date.now();
  api('GET', '/api/v1/session').then((s) => {
    if (state.mode !== 'shell' && state.mode !== 'setup') return;
    if (!state.me || s.staff.id !== state.me.staff.id) return;
    applySession(s);
    if (s.locked) showLock();
  }).catch(() => {});
}

function idleCheck() {
  if ((state.mode === 'shell' || state.mode === 'setup') && Date.now() - idle.last >= idle.minutes * 60_000) lockNow();
}

for (const t of ['keydown', 'pointerdown', 'pointermove', 'wheel', 'touchstart']) {
  window.addEventListener(t, activity, { capture: true, passive: true });
}
setInterval(idleCheck, 5_000);
doc.addEventListener('visibilitychange', idleCheck);

// ---------------------------------------------------------------------------
// 5b. Real time
//
// One websocket per signed-in console. Events carry ids, type, queue and
// priority only (no PHI); views fetch what they show over the API. The
// socket reconnects with backoff (1 s doubling to 30 s, with jitter) and
// asks for what it missed with ?since=LAST_SEQ; a sequence number already
// seen is ignored. Nothing here calls activity(): a socket, its events and
// the refreshes they cause never keep the idle lock away.

const live = {
  ws: null,
  on: false,
  lastSeq: 0,
  tries: 0,
  timer: 0,
  reset() {
    this.stop();
    this.lastSeq = 0;
  },
  start() {
    if (this.on) return;
    this.on = true;
    this.tries = 0;
    liveStatus(null);
    this.connect();
  },
  stop() {
    this.on = false;
    clearTimeout(this.timer);
    const ws = this.ws;
    this.ws = null;
    if (ws) {
      ws.onclose = null;
      try { ws.close(); } catch { /* already closed */ }
    }
    liveStatus(false);
  },
  connect() {
    const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const since = this.lastSeq ? `?since=${this.lastSeq}` : '';
    let ws;
    try {
      ws = new WebSocket(`${proto}//${location.host}/api/v1/ws${since}`);
    } catch {
      this.retry();
      return;
    }
    this.ws = ws;
    ws.onopen = () => {
      if (this.ws !== ws) return;
      this.tries = 0;
      liveStatus(true);
      if (state.hooks.reopen) state.hooks.reopen();
    };
    ws.onmessage = (e) => {
      if (this.ws !== ws) return;
      let m;
      try { m = JSON.parse(e.data); } catch { return; }
      if (m && typeof m === 'object') onLive(m);
    };
    ws.onclose = () => {
      if (this.ws !== ws) return;
      this.ws = null;
      liveStatus(false);
      if (this.on) this.retry();
    };
  },
  retry() {
    const base = Math.min(30_000, 1000 * 2 ** Math.min(this.tries, 5));
    this.tries++;
    const wait = Math.min(30_000, Math.round(base * (0.8 + Math.random() * 0.4)));
    clearTimeout(this.timer);
    this.timer = setTimeout(() => { if (this.on) this.connect(); }, wait);
    // After repeated failures, ask whether the session itself ended or
    // locked (a socket cannot tell why it was refused).
    if (this.tries === 3 && state.mode === 'shell') api('GET', '/api/v1/session').catch(() => {});
  },
  send(frame) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(frame));
  },
};

// liveStatus shows whether alerts are live, in the top bar.
function liveStatus(up) {
  const el = doc.getElementById('live');
  if (!el) return;
  el.classList.toggle('up', !!up);
  put(el, h('span', { class: 'dot', 'aria-hidden': 'true' }), up ? 'Live' : up === null ? 'Connecting…' : 'Reconnecting…');
  el.setAttribute('title', up ? 'New requests appear here as they arrive.' : 'The live connection dropped; Hearth reconnects by itself and catches up.');
}

function onLive(m) {
  if (m.type === 'presence') {
    if (state.hooks.presence) state.hooks.presence(m);
    return;
  }
  if (typeof m.seq !== 'number') return;
  if (m.seq <= live.lastSeq) return; // a duplicate of a replayed event
  live.lastSeq = m.seq;
  if (state.mode !== 'shell') return;
  // Events older than a minute are catch-up after a reconnect: they refresh
  // the screen but do not ring.
  const fresh = !m.at || Date.now() - new Date(m.at).getTime() < 60_000;
  if (m.type === 'item.new' && fresh) newItemAlert(m);
  else if (m.type === 'item.escalated' && state.me.staff.role === 'owner') escalationAlert(m);
  else if (m.type === 'sweep') sweepAlert();
  if (state.hooks.event) state.hooks.event(m);
}

// --- Words for events (queue and type only: alerts never name a patient)

const typeInfo = {
  message: { label: 'Message', word: 'message', icon: 'message' },
  refill: { label: 'Refill', word: 'refill request', icon: 'refill' },
  appointment: { label: 'Appointment', word: 'appointment request', icon: 'appointment' },
  callback: { label: 'Call back', word: 'call-back request', icon: 'callback' },
  billing: { label: 'Billing', word: 'billing question', icon: 'billing' },
  records: { label: 'Records', word: 'records request', icon: 'records' },
  invite_request: { label: 'Sign-in link', word: 'sign-in link request', icon: 'key' },
  appointment_reply: { label: 'Appointment reply', word: 'appointment reply', icon: 'reply' },
};
const typeLabel = (t) => (typeInfo[t] && typeInfo[t].label) || t || '';
const typeWord = (t) => (typeInfo[t] && typeInfo[t].word) || 'request';

function queueName(id) {
  const q = memory.queueInfo && memory.queueInfo[id];
  if (q) return q.name;
  return id ? id[0].toUpperCase() + id.slice(1) : 'the inbox';
}

// ensureQueues learns the queues' names and roles without opening any
// record (the workload numbers carry them).
async function ensureQueues() {
  if (memory.queueInfo && Object.keys(memory.queueInfo).length) return memory.queueInfo;
  try {
    const w = await api('GET', '/api/v1/workload');
    rememberQueues((w.queues || []).map((q) => q.queue));
  } catch { /* names fall back to ids */ }
  return memory.queueInfo || {};
}

function rememberQueues(list) {
  memory.queueInfo = memory.queueInfo || {};
  for (const q of list || []) if (q && q.id) memory.queueInfo[q.id] = q;
}

// alertText is what a sound's notification says: the queue and the type.
function alertText(m) {
  const q = queueName(m.queue);
  if (m.priority === 'urgent') return `URGENT ${typeWord(m.type)} in ${q}`;
  return `New ${typeWord(m.type)} in ${q}`;
}

async function newItemAlert(m) {
  sound.play(m.priority === 'urgent');
  // Counted until the person touches the keyboard or mouse at the inbox:
  // an inbox on screen at an empty desk is not an inbox someone has seen.
  state.unseen++;
  setTitle(state.titleBase);
  await ensureQueues();
  desktopAlert(alertText(m), `hearth-item-${m.item_id}`);
}

function clearUnseen() {
  if (!state.unseen) return;
  state.unseen = 0;
  setTitle(state.titleBase);
}

function escalationAlert(m) {
  ensureQueues().then(() => {
    const text = `${m.priority === 'urgent' ? 'An URGENT' : 'A'} ${typeWord(m.type)} in ${queueName(m.queue)} has been overdue for 30 minutes.`;
    showAlert(`esc-${m.item_id}`, 'escalated', text, h('a', { href: `#/inbox/${encodeURIComponent(m.item_id)}`, class: 'button small' }, 'Open it'));
    desktopAlert(text, `hearth-esc-${m.item_id}`);
  });
}

function sweepAlert() {
  api('GET', '/api/v1/sweep').then((r) => {
    const n = (r.items || []).length;
    if (!n || state.mode !== 'shell') return;
    showAlert('sweep', 'sweep', `End of day: ${plural(n, 'item needs', 'items need')} attention.`,
      h('a', { href: '#/sweep', class: 'button small', id: 'sweep-open' }, 'Open the sweep'));
  }).catch(() => {});
}

// showAlert puts a banner above the view (one per key) until dismissed.
function showAlert(key, kind, text, action) {
  const box = state.shell && state.shell.alerts;
  if (!box) return;
  const old = box.querySelector(`[data-key="${CSS.escape(key)}"]`);
  if (old) old.remove();
  const el = h('div', { class: `banner ${kind}`, 'data-key': key, role: 'alert' },
    h('span', { class: 'banner-icon', 'aria-hidden': 'true' }, icon(kind === 'sweep' ? 'clock' : 'alert', 20)),
    h('span', { class: 'banner-text' }, text),
    action,
    h('button', { type: 'button', class: 'link small', onclick: () => { el.remove(); box.hidden = !box.firstChild; } }, 'Dismiss',
      h('span', { class: 'vh' }, ` alert: ${text}`)));
  if (action) action.addEventListener('click', () => { el.remove(); box.hidden = !box.firstChild; });
  add(box, el);
  box.hidden = false;
}

// --- Sound (Web Audio: no files). Browsers allow sound only after the
// person has pressed a key or clicked, so the first such press unlocks it.

const sound = {
  ctx: null,
  get on() {
    try { return localStorage.getItem('hearth.sound') !== 'off'; } catch { return true; }
  },
  set on(v) {
    try { localStorage.setItem('hearth.sound', v ? 'on' : 'off'); } catch { /* private mode */ }
  },
  unlock() {
    if (this.ctx) {
      if (this.ctx.state === 'suspended') this.ctx.resume().catch(() => {});
      return;
    }
    const AC = window.AudioContext || window.webkitAudioContext;
    if (!AC) return;
    try { this.ctx = new AC(); } catch { this.ctx = null; }
  },
  // play: a soft two-note chime for a new request; for an urgent one, four
  // louder, harsher alternating beeps that cannot be mistaken for it.
  play(urgent) {
    if (!this.on || !this.ctx || this.ctx.state !== 'running') return;
    const c = this.ctx;
    const t0 = c.currentTime + 0.02;
    const notes = urgent
      ? [[988, 0, 0.16], [1319, 0.2, 0.16], [988, 0.4, 0.16], [1319, 0.6, 0.26]]
      : [[660, 0, 0.14], [880, 0.16, 0.24]];
    const peak = urgent ? 0.55 : 0.16;
    for (const [f, at, d] of notes) {
      const o = c.createOscillator();
      const g = c.createGain();
      o.type = urgent ? 'square' : 'sine';
      o.frequency.value = f;
      g.gain.setValueAtTime(0.0001, t0 + at);
      g.gain.exponentialRampToValueAtTime(peak, t0 + at + 0.015);
      g.gain.exponentialRampToValueAtTime(0.0001, t0 + at + d);
      o.connect(g).connect(c.destination);
      o.start(t0 + at);
      o.stop(t0 + at + d + 0.03);
    }
  },
};

// --- Desktop notifications: asked for only from a click, and their text
// names the queue and the type, never the patient.

function desktopAlert(text, tag) {
  if (!('Notification' in window) || Notification.permission !== 'granted') return;
  if (doc.visibilityState === 'visible' && doc.hasFocus()) return;
  try {
    const n = new Notification(state.clinic, { body: text, tag, silent: true });
    n.onclick = () => { window.focus(); n.close(); };
  } catch { /* some browsers allow notifications only from a service worker */ }
}

// alertControls are the inbox's "Turn on desktop alerts" and sound switch.
function alertControls() {
  const wrap = h('div', { class: 'alert-controls' });
  const soundBtn = h('button', { type: 'button', class: 'small', id: 'sound-toggle' });
  const paint = () => {
    soundBtn.setAttribute('aria-pressed', String(sound.on));
    put(soundBtn, h('span', { 'aria-hidden': 'true' }, icon(sound.on ? 'sound' : 'mute', 18)), 'Sound alerts');
  };
  soundBtn.addEventListener('click', () => {
    sound.on = !sound.on;
    sound.unlock();
    paint();
    if (sound.on) sound.play(false);
  });
  paint();
  add(wrap, soundBtn);
  if ('Notification' in window) {
    const note = h('span', { class: 'muted small-text', id: 'desktop-alerts-state', role: 'status' });
    const btn = h('button', { type: 'button', class: 'small', id: 'desktop-alerts' },
      h('span', { 'aria-hidden': 'true' }, icon('bell', 18)), 'Turn on desktop alerts');
    const show = () => {
      const p = Notification.permission;
      btn.hidden = p !== 'default';
      note.textContent = p === 'granted' ? 'Desktop alerts on' : p === 'denied' ? 'Desktop alerts are blocked in this browser\u2019s settings' : '';
    };
    btn.addEventListener('click', () => {
      Promise.resolve(Notification.requestPermission()).then(show, show).then(() => { if (btn.hidden) note.focus(); });
    });
    note.setAttribute('tabindex', '-1');
    show();
    add(wrap, btn, note);
  }
  return wrap;
}

// --- Icons (SVG paths, so no icon font and no emoji font is needed)

const iconPaths = {
  message: ['M4 5h16a1 1 0 0 1 1 1v12a1 1 0 0 1-1 1H4a1 1 0 0 1-1-1V6a1 1 0 0 1 1-1z', 'M3.5 6.5 12 13l8.5-6.5'],
  refill: ['M10.5 20.5a4.95 4.95 0 0 1-7-7l6-6a4.95 4.95 0 0 1 7 7z', 'M8.5 8.5l7 7'],
  appointment: ['M5 5h14a2 2 0 0 1 2 2v12a2 2 0 0 1-2 2H5a2 2 0 0 1-2-2V7a2 2 0 0 1 2-2z', 'M3 10h18', 'M8 3v4', 'M16 3v4'],
  callback: ['M22 16.9v3a2 2 0 0 1-2.2 2 19.8 19.8 0 0 1-8.6-3.1 19.5 19.5 0 0 1-6-6A19.8 19.8 0 0 1 2.1 4.2 2 2 0 0 1 4.1 2h3a2 2 0 0 1 2 1.7c.1.9.4 1.9.7 2.8a2 2 0 0 1-.5 2.1L8.1 9.9a16 16 0 0 0 6 6l1.3-1.3a2 2 0 0 1 2.1-.4c.9.3 1.9.6 2.8.7a2 2 0 0 1 1.7 2z'],
  billing: ['M12 2v20', 'M17 5H9.5a3.5 3.5 0 0 0 0 7h5a3.5 3.5 0 0 1 0 7H6'],
  records: ['M14 2H6a2 2 0 0 0-2 2v16a2 2 0 0 0 2 2h12a2 2 0 0 0 2-2V8z', 'M14 2v6h6', 'M8 13h8', 'M8 17h8'],
  key: ['M7.5 10a5.5 5.5 0 1 1 0 11 5.5 5.5 0 0 1 0-11z', 'M11.4 11.6 21 2', 'M15.5 7.5l3 3L22 7l-3-3'],
  reply: ['M9 17l-5-5 5-5', 'M4 12h11a5 5 0 0 1 5 5v2'],
  alert: ['M10.3 3.9 1.8 18a2 2 0 0 0 1.7 3h17a2 2 0 0 0 1.7-3L13.7 3.9a2 2 0 0 0-3.4 0z', 'M12 9v4', 'M12 17h.01'],
  clock: ['M12 3a9 9 0 1 1 0 18 9 9 0 0 1 0-18z', 'M12 7v5l3 2'],
  bell: ['M6 8a6 6 0 0 1 12 0c0 7 3 9 3 9H3s3-2 3-9', 'M10.3 21a1.9 1.9 0 0 0 3.4 0'],
  sound: ['M11 5 6 9H2v6h4l5 4z', 'M15.5 8.5a5 5 0 0 1 0 7', 'M19 5a10 10 0 0 1 0 14'],
  mute: ['M11 5 6 9H2v6h4l5 4z', 'M22 9l-6 6', 'M16 9l6 6'],
  note: ['M12 20h9', 'M16.5 3.5a2.1 2.1 0 0 1 3 3L7 19l-4 1 1-4z'],
  user: ['M12 12a4 4 0 1 0 0-8 4 4 0 0 0 0 8z', 'M4 21a8 8 0 0 1 16 0'],
  check: ['M20 6 9 17l-5-5'],
  eye: ['M2 12s3.5-7 10-7 10 7 10 7-3.5 7-10 7S2 12 2 12z', 'M12 9a3 3 0 1 1 0 6 3 3 0 0 1 0-6z'],
  copy: ['M9 9h11v11H9z', 'M5 15H4V4h11v1'],
  inbox: ['M22 12h-6l-2 3h-4l-2-3H2', 'M5.5 5h13L22 12v6a2 2 0 0 1-2 2H4a2 2 0 0 1-2-2v-6z'],
  chart: ['M3 3v18h18', 'M7.5 16v-4', 'M12 16V8', 'M16.5 16v-6'],
  users: ['M16 21v-2a4 4 0 0 0-4-4H6a4 4 0 0 0-4 4v2', 'M9 11a4 4 0 1 0 0-8 4 4 0 0 0 0 8z', 'M22 21v-2a4 4 0 0 0-3-3.9', 'M16 3.1a4 4 0 0 1 0 7.8'],
  badge: ['M16 7V5a2 2 0 0 0-2-2h-4a2 2 0 0 0-2 2v2', 'M4 7h16a1 1 0 0 1 1 1v11a1 1 0 0 1-1 1H4a1 1 0 0 1-1-1V8a1 1 0 0 1 1-1z', 'M3 13h18'],
  shield: ['M12 22s8-4 8-10V5l-8-3-8 3v7c0 6 8 10 8 10z', 'M9 12l2 2 4-4'],
  sliders: ['M4 21v-7', 'M4 10V3', 'M12 21v-9', 'M12 8V3', 'M20 21v-5', 'M20 12V3', 'M1 14h6', 'M9 8h6', 'M17 16h6'],
};

function icon(name, size = 18) {
  const ns = 'http://www.w3.org/2000/svg';
  const svg = doc.createElementNS(ns, 'svg');
  for (const [k, v] of Object.entries({ viewBox: '0 0 24 24', width: size, height: size, 'aria-hidden': 'true', focusable: 'false',
    fill: 'none', stroke: 'currentColor', 'stroke-width': '2', 'stroke-linecap': 'round', 'stroke-linejoin': 'round', class: 'icon' })) {
    svg.setAttribute(k, String(v));
  }
  for (const d of iconPaths[name] || []) {
    const p = doc.createElementNS(ns, 'path');
    p.setAttribute('d', d);
    svg.append(p);
  }
  return svg;
}

// --- Keyboard shortcuts: single keys, only when no field has the focus.

doc.addEventListener('keydown', (e) => {
  if (state.mode !== 'shell' || !state.hooks.key) return;
  if (e.ctrlKey || e.metaKey || e.altKey || e.defaultPrevented) return;
  const t = e.target;
  if (t && t.closest && t.closest('input, textarea, select, [contenteditable="true"], dialog')) return;
  state.hooks.key(e);
});

function showShortcuts(list) {
  const before = doc.activeElement;
  const close = h('button', { type: 'button', class: 'primary', id: 'keys-close' }, 'Close');
  const dlg = h('dialog', { class: 'keys', id: 'keys-dialog', 'aria-labelledby': 'keys-title' },
    h('h2', { id: 'keys-title' }, 'Keyboard shortcuts'),
    h('p', { class: 'muted' }, 'They work when the cursor is not in a text field.'),
    h('dl', { class: 'keylist' }, list.map(([k, what]) => h('div', null, h('dt', null, h('kbd', null, k)), h('dd', null, what)))),
    h('div', { class: 'actions' }, close));
  close.addEventListener('click', () => dlg.close());
  dlg.addEventListener('close', () => {
    dlg.remove();
    if (before && before.isConnected) before.focus();
  });
  add(root, dlg);
  dlg.showModal();
  close.focus();
}

// ---------------------------------------------------------------------------
// 6. Views
//
// One table: the nav is built from it in this order, the first entry the
// person may see is the default view, and `roles` (absent: every role)
// decides who sees it. render(container, ctx) fills the container and may
// return the element to focus (else the view's h1 is focused).
// ctx.arg is the rest of the URL after #/name/; ctx.alive() is false once
// the person has moved on (drop late answers then).

const views = {
  inbox: { label: 'Inbox', icon: 'inbox', render: viewInbox },
  appointments: { label: 'Appointments', icon: 'appointment', render: viewBoard },
  sweep: { label: 'End of day', icon: 'clock', render: viewSweep },
  workload: { label: 'Workload', icon: 'chart', render: viewWorkload },
  patients: { label: 'Patients', icon: 'users', render: viewPatients },
  staff: { label: 'Staff', icon: 'badge', roles: ['owner'], render: viewStaff },
  audit: { label: 'Audit log', icon: 'shield', roles: ['owner'], render: viewAudit },
  settings: { label: 'Settings', icon: 'sliders', roles: ['owner'], render: viewSettings },
  account: { label: 'My account', icon: 'user', render: viewAccount },
};

// --- Shared inbox helpers

const statusNames = { new: 'New', open: 'Open', waiting: 'Waiting', closed: 'Closed' };
const statusName = (s) => statusNames[s] || s || '';

const outcomeNames = {
  sent_to_pharmacy: 'Sent to the pharmacy', needs_visit: 'Needs a visit first', declined: 'Declined',
  booked: 'Booked', offered_times: 'Offered times', called: 'Called the patient', no_answer_closed: 'No answer, closed',
};
const outcomesByType = {
  refill: ['sent_to_pharmacy', 'needs_visit', 'declined'],
  appointment: ['booked', 'offered_times', 'declined'],
  callback: ['called', 'no_answer_closed'],
};

const fieldNames = {
  subject: 'Subject', medication: 'Medication', dose: 'Dose', pharmacy: 'Pharmacy', reason: 'Reason for the visit',
  preferred: 'Preferred times', provider: 'Provider', phone: 'Number to call', best_time: 'Best time to call',
  name: 'Name given', dob: 'Birth date given', appointment_id: 'Appointment',
};
const fieldOrder = ['medication', 'dose', 'pharmacy', 'reason', 'preferred', 'provider', 'phone', 'best_time', 'name', 'dob', 'subject', 'appointment_id'];

// span says how long ms is in words a glance can read.
function spanWords(ms) {
  const min = Math.max(1, Math.round(Math.abs(ms) / 60_000));
  if (min < 60) return `${min} min`;
  const hr = Math.round(min / 60);
  if (hr < 48) return `${hr} h`;
  return `${Math.round(hr / 24)} days`;
}

// dueWords: "due in 2 h", "overdue 35 min".
function dueWords(row, now = Date.now()) {
  if (row.status === 'closed') return { text: 'Closed', cls: 'due closed' };
  const due = new Date(row.due_at).getTime();
  if (Number.isNaN(due)) return { text: '', cls: 'due' };
  const diff = due - now;
  if (row.overdue || diff < 0) return { text: `overdue ${spanWords(diff)}`, cls: 'due overdue' };
  return { text: `due in ${spanWords(diff)}`, cls: diff < 60 * 60_000 ? 'due soon' : 'due' };
}

function ago(s) {
  const t = new Date(s).getTime();
  if (Number.isNaN(t)) return '';
  const d = Date.now() - t;
  if (d < 60_000) return 'just now';
  return `${spanWords(d)} ago`;
}

// staff: the staff list, for names and the assign menus.
async function ensureStaff(force) {
  if (memory.staff && !force) return memory.staff;
  const r = await api('GET', '/api/v1/staff');
  memory.staff = r.staff || [];
  memory.staffById = Object.fromEntries(memory.staff.map((s) => [s.id, s]));
  return memory.staff;
}

function staffName(id) {
  if (!id) return '';
  if (state.me && id === state.me.staff.id) return 'You';
  const s = memory.staffById && memory.staffById[id];
  return s ? s.name : 'a former colleague';
}

// mayWork lists active staff who may work a queue (owners work every queue).
function mayWork(queue) {
  const q = memory.queueInfo && memory.queueInfo[queue];
  return (memory.staff || []).filter((s) => !s.disabled && (s.role === 'owner' || !q || (q.roles || []).includes(s.role)));
}

function rememberRows(rows) {
  memory.rowPatient = memory.rowPatient || {};
  for (const r of rows) if (r.id && r.patient_id) memory.rowPatient[r.id] = r.patient_id;
}

function typeBadge(type) {
  return h('span', { class: `type t-${type}` }, icon((typeInfo[type] && typeInfo[type].icon) || 'message', 16), typeLabel(type));
}

function urgentBadge() {
  return h('span', { class: 'badge urgent' }, icon('alert', 14), 'Urgent');
}

function assignMenu(prefix, queue, current, withRole = true) {
  const sel = h('select', { id: `${prefix}-staff`, name: 'staff_id' },
    h('option', { value: '' }, 'Choose a person…'),
    mayWork(queue).map((s) => h('option', { value: s.id, selected: s.id === current },
      `${s.id === state.me.staff.id ? `${s.name} (you)` : s.name}${withRole ? ` · ${roleName(s.role)}` : ''}`)));
  return sel;
}

// --- Inbox

function viewInbox(c, ctx) {
  if (ctx.arg) return viewItem(c, ctx, ctx.arg);
  const f = memory.inboxFilters || (memory.inboxFilters = { queue: '', status: '', type: '', priority: '', assignee: '', overdue: false, unverified: false });
  let rows = [];
  let sel = memory.inboxSel || '';
  const nodes = new Map(); // id -> {tr, sig}
  const tabs = h('div', { class: 'tabs', role: 'group', 'aria-label': 'Queues', id: 'queue-tabs' });
  const status = h('p', { class: 'status-line', role: 'status', id: 'inbox-status' });
  const msg = h('div', { id: 'inbox-msg' });
  const tbody = h('tbody');
  const table = h('div', { class: 'table-wrap inbox-wrap' }, h('table', { class: 'data inbox', id: 'inbox-table' },
    h('caption', { class: 'vh' }, 'Requests, urgent first, then by due time'),
    h('thead', null, h('tr', null,
      h('th', { scope: 'col', class: 'c-dot' }, h('span', { class: 'vh' }, 'Unread')),
      ['Patient', 'Request', 'Status', 'Due', 'Assigned to'].map((t) => h('th', { scope: 'col' }, t)))),
    tbody));
  const empty = h('div', { class: 'empty', id: 'inbox-empty', hidden: true },
    h('span', { class: 'empty-icon', 'aria-hidden': 'true' }, icon('inbox', 36)),
    h('p', null, h('strong', null, 'Nothing here.')),
    h('p', { class: 'muted' }, 'New requests appear as soon as patients send them.'));

  const sel_ = (name, label, options, value) => {
    const id = `if-${name}`;
    const s = h('select', { id, name }, options.map(([v, t]) => h('option', { value: v }, t)));
    s.value = value;
    return h('div', { class: 'field' }, h('label', { for: id }, label), s);
  };
  const check_ = (name, label, value) => {
    const id = `if-${name}`;
    return h('div', { class: 'field check' }, h('input', { type: 'checkbox', id, name, checked: value }), h('label', { for: id }, label));
  };
  const staffOpts = [['', 'Anyone'], ['me', 'Me'], ['none', 'Nobody yet']];
  const filters = h('form', { class: 'filters', id: 'inbox-filters', 'aria-label': 'Filter requests', novalidate: true },
    sel_('type', 'Type', [['', 'All types'], ...Object.keys(typeInfo).map((t) => [t, typeLabel(t)])], f.type),
    sel_('status', 'Status', [['', 'Not closed'], ['new', 'New'], ['open', 'Open'], ['waiting', 'Waiting'], ['closed', 'Closed']], f.status),
    sel_('priority', 'Priority', [['', 'Any'], ['urgent', 'Urgent'], ['normal', 'Normal']], f.priority),
    sel_('assignee', 'Assigned to', staffOpts, f.assignee),
    h('div', { class: 'checks' }, check_('overdue', 'Overdue', f.overdue), check_('unverified', 'Unverified', f.unverified),
      h('button', { type: 'button', class: 'link small', id: 'if-clear' }, 'Clear', h('span', { class: 'vh' }, ' filters'))));
  filters.addEventListener('change', () => {
    for (const k of ['type', 'status', 'priority', 'assignee']) f[k] = filters.elements[k].value;
    f.overdue = filters.elements.overdue.checked;
    f.unverified = filters.elements.unverified.checked;
    load();
  });
  filters.addEventListener('submit', (e) => e.preventDefault());
  filters.querySelector('#if-clear').addEventListener('click', () => {
    Object.assign(f, { type: '', status: '', priority: '', assignee: '', overdue: false, unverified: false });
    for (const k of ['type', 'status', 'priority', 'assignee']) filters.elements[k].value = '';
    filters.elements.overdue.checked = false;
    filters.elements.unverified.checked = false;
    load();
  });

  const keysBtn = h('button', { type: 'button', class: 'small', id: 'keys-open', 'aria-keyshortcuts': '?' },
    h('kbd', { 'aria-hidden': 'true' }, '?'), 'Shortcuts');
  keysBtn.addEventListener('click', () => showShortcuts(inboxKeys));
  add(c, viewHead('Inbox', alertControls(), keysBtn), tabs, filters, msg, status, table, empty);
  clearUnseen();

  ensureStaff().then(() => { if (ctx.alive()) { fillStaffFilter(); paint(); } }).catch(() => {});

  function fillStaffFilter() {
    const s = filters.elements.assignee;
    for (const st of memory.staff || []) {
      if (st.id === state.me.staff.id || st.disabled) continue;
      add(s, h('option', { value: st.id }, st.name));
    }
    s.value = f.assignee;
  }

  let loading = null;
  let again = false;
  async function load() {
    if (loading) { again = true; return loading; }
    loading = (async () => {
      do {
        again = false;
        const p = new URLSearchParams();
        for (const k of ['queue', 'status', 'type', 'priority', 'assignee']) if (f[k]) p.set(k, f[k]);
        if (f.overdue) p.set('overdue', 'true');
        if (f.unverified) p.set('unverified', 'true');
        p.set('limit', '100');
        let r;
        try {
          r = await api('GET', `/api/v1/items?${p}`, undefined, { background: true });
        } catch (err) {
          if (!ctx.alive() || err.handled) return;
          if (err.code === 'forbidden' && f.queue) { f.queue = ''; again = true; continue; }
          put(msg, errorBox(err.message));
          return;
        }
        if (!ctx.alive()) return;
        put(msg);
        rows = r.items || [];
        rememberRows(rows);
        rememberQueues((r.queues || []).map((q) => q.queue));
        paintTabs(r.queues || []);
        paint();
      } while (again && ctx.alive());
    })().finally(() => { loading = null; });
    return loading;
  }

  function paintTabs(queues) {
    const total = queues.reduce((a, q) => a + q.open, 0);
    const mk = (id, name, q) => {
      const on = f.queue === id;
      const b = h('button', { type: 'button', class: 'tab', id: `tab-${id || 'all'}`, 'aria-pressed': String(on) },
        h('span', { class: 'tab-name' }, name),
        h('span', { class: 'count' }, String(q ? q.open : total)),
        q && q.urgent ? h('span', { class: 'pill urgent' }, `${q.urgent} urgent`) : null,
        q && q.overdue ? h('span', { class: 'pill overdue' }, `${q.overdue} overdue`) : null,
        h('span', { class: 'vh' }, q ? ` open, ${q.new} new` : ' open'));
      b.addEventListener('click', () => { f.queue = id; load().then(() => { const t = doc.getElementById(`tab-${id || 'all'}`); if (t) t.focus(); }); });
      return b;
    };
    put(tabs, mk('', 'All queues', null), queues.map((q) => mk(q.queue.id, q.queue.name, q)));
  }

  function sigOf(r) {
    return [r.status, r.priority, r.assignee, r.seen, r.overdue, r.due_at, r.subject, r.patient, r.updated_at, staffName(r.assignee)].join('|');
  }

  function rowNode(r) {
    const href = `#/inbox/${encodeURIComponent(r.id)}`;
    const d = dueWords(r);
    const cls = ['go', r.priority === 'urgent' ? 'urgent' : '', r.seen ? '' : 'unread', r.id === sel ? 'sel' : ''].filter(Boolean).join(' ');
    return h('tr', { class: cls, 'data-id': r.id, onclick: (e) => { if (!e.target.closest('a, button')) { select(r.id, false); location.hash = href; } } },
      h('td', { class: 'c-dot' }, r.seen ? null : h('span', { class: 'dot', title: 'Not opened yet' }, h('span', { class: 'vh' }, 'Unread'))),
      h('td', { class: 'c-patient' },
        h('a', { href, class: 'row-link', 'data-id': r.id, onfocus: () => select(r.id, false) }, r.patient || 'Unknown'),
        h('span', { class: 'sub' }, r.unverified ? h('span', { class: 'badge warn' }, 'Unverified') : (r.patient_age || r.patient_age === 0 ? `Age ${r.patient_age}` : ''))),
      h('td', { class: 'c-request' },
        h('div', { class: 'req-line' }, r.priority === 'urgent' ? urgentBadge() : null, typeBadge(r.type)),
        h('span', { class: 'subject' }, r.subject || '')),
      h('td', null, h('span', { class: `status s-${r.status}` }, statusName(r.status))),
      h('td', { class: 'nowrap' }, h('time', { datetime: r.due_at, class: d.cls, title: formatTime(r.due_at) }, d.text)),
      h('td', null, r.assignee ? staffName(r.assignee) : h('span', { class: 'muted' }, 'Nobody yet')));
  }

  // paint updates the table in place: unchanged rows keep their nodes (and
  // the keyboard focus); focus on a changed row moves to its new node.
  function paint() {
    const active = doc.activeElement;
    const focusId = active && tbody.contains(active) ? active.closest('tr') && active.closest('tr').dataset.id : '';
    const keep = new Set(rows.map((r) => r.id));
    for (const [id, n] of nodes) if (!keep.has(id)) { n.tr.remove(); nodes.delete(id); }
    let prev = null;
    for (const r of rows) {
      const sig = sigOf(r) + (r.id === sel ? '|sel' : '');
      let n = nodes.get(r.id);
      if (!n || n.sig !== sig) {
        const tr = rowNode(r);
        if (n) n.tr.replaceWith(tr);
        n = { tr, sig };
        nodes.set(r.id, n);
      }
      const want = prev ? prev.nextSibling : tbody.firstChild;
      if (want !== n.tr) tbody.insertBefore(n.tr, want);
      prev = n.tr;
    }
    if (focusId && !tbody.contains(doc.activeElement)) {
      const n = nodes.get(focusId);
      if (n) n.tr.querySelector('.row-link').focus();
    }
    empty.hidden = rows.length > 0;
    table.hidden = rows.length === 0;
    const urgent = rows.filter((r) => r.priority === 'urgent').length;
    const overdue = rows.filter((r) => r.overdue).length;
    const unread = rows.filter((r) => !r.seen).length;
    status.textContent = rows.length
      ? [plural(rows.length, 'request', 'requests'), urgent ? `${urgent} urgent` : '', overdue ? `${overdue} overdue` : '', unread ? `${unread} not opened yet` : ''].filter(Boolean).join(' · ')
      : '';
  }

  function select(id, focus) {
    if (sel !== id) {
      const old = nodes.get(sel);
      if (old) { old.tr.classList.remove('sel'); old.sig = old.sig.replace(/\|sel$/, ''); }
      sel = id;
      memory.inboxSel = id;
      const n = nodes.get(id);
      if (n) { n.tr.classList.add('sel'); n.sig += '|sel'; }
    }
    const n = nodes.get(id);
    if (n && focus) {
      n.tr.querySelector('.row-link').focus();
      n.tr.scrollIntoView({ block: 'nearest' });
    }
  }

  function move(by) {
    if (!rows.length) return;
    let i = rows.findIndex((r) => r.id === sel);
    i = i < 0 ? (by > 0 ? 0 : rows.length - 1) : Math.max(0, Math.min(rows.length - 1, i + by));
    select(rows[i].id, true);
  }

  async function assignMe(id) {
    try {
      await api('POST', `/api/v1/items/${encodeURIComponent(id)}/assign`, { staff_id: 'me' });
      put(msg, okMessage('Assigned to you.'));
      await load();
    } catch (err) {
      if (!err.handled) put(msg, errorBox(err.message));
    }
  }

  const refresh = debounce(() => { if (ctx.alive()) load(); }, 60);
  state.hooks.event = (e) => { if (e.item_id || e.type === 'sweep') refresh(); };
  state.hooks.reopen = () => refresh();
  state.hooks.key = (e) => {
    const current = rows.find((r) => r.id === sel);
    const onLink = e.target && e.target.closest && e.target.closest('a, button');
    switch (e.key) {
      case 'j': case 'ArrowDown':
        if (e.key === 'ArrowDown' && !onLink) return;
        e.preventDefault(); move(1); break;
      case 'k': case 'ArrowUp':
        if (e.key === 'ArrowUp' && !onLink) return;
        e.preventDefault(); move(-1); break;
      case 'Enter':
        if (onLink || !current) return;
        e.preventDefault(); location.hash = `#/inbox/${encodeURIComponent(current.id)}`; break;
      case 'o':
        if (!current) return;
        e.preventDefault(); location.hash = `#/inbox/${encodeURIComponent(current.id)}`; break;
      case 'r':
        if (!current) return;
        e.preventDefault(); memory.replyFocus = current.id; location.hash = `#/inbox/${encodeURIComponent(current.id)}`; break;
      case 'a':
        if (!current) return;
        e.preventDefault(); assignMe(current.id); break;
      case '?':
        e.preventDefault(); showShortcuts(inboxKeys); break;
      default:
    }
  };
  // Due times are relative: repaint them each minute (no request needed).
  const tick = setInterval(() => {
    if (!ctx.alive()) { clearInterval(tick); return; }
    for (const n of nodes.values()) n.sig = '';
    paint();
  }, 60_000);
  state.hooks.leave = () => clearInterval(tick);

  load();
  return null;
}

const inboxKeys = [
  ['j', 'Next request'], ['k', 'Previous request'], ['Enter', 'Open the selected request'],
  ['r', 'Reply to the selected request'], ['a', 'Assign the selected request to me'], ['?', 'Show these shortcuts'],
];
const itemKeys = [
  ['r', 'Write a reply'], ['a', 'Assign this request to me'], ['u', 'Back to the inbox'], ['?', 'Show these shortcuts'],
];

// --- One request

function systemWords(m) {
  const who = m.author_id ? staffName(m.author_id) : '';
  const by = who ? ` by ${who === 'You' ? 'you' : who}` : '';
  const b = m.body || '';
  if (b === 'after_hours') return 'Sent after office hours. The patient was told when the office opens and how to get urgent help.';
  if (b.startsWith('assigned:')) return `${who ? `${who} assigned` : 'Assigned'} this to ${b.slice(9)}.`;
  if (b === 'unassigned') return `Unassigned${by}.`;
  if (b.startsWith('status:')) return `Status set to ${statusName(b.slice(7)).toLowerCase()}${by}.`;
  if (b === 'call_attempt') return `Call attempt logged${by}.`;
  return b;
}

function messageNode(m, patientName) {
  const when = h('time', { datetime: m.at, title: formatTime(m.at) }, formatWhen(m.at));
  if (m.kind === 'system') {
    return h('li', { class: 'msg system', 'data-id': m.id }, h('span', null, systemWords(m)), ' ', when);
  }
  if (m.kind === 'note') {
    return h('li', { class: 'msg note', 'data-id': m.id },
      h('p', { class: 'note-flag' }, icon('note', 16), 'Internal note — the patient never sees this'),
      h('p', { class: 'msg-head' }, h('strong', null, m.author_name || 'Staff'), m.author_role ? ` · ${roleName(m.author_role)}` : '', ' · ', when),
      h('p', { class: 'msg-body' }, m.body));
  }
  const staff = m.kind === 'staff';
  return h('li', { class: `msg ${staff ? 'staff' : 'patient'}`, 'data-id': m.id },
    h('p', { class: 'msg-head' },
      h('strong', null, staff ? (m.author_name || 'Staff') : (patientName || 'Patient')),
      staff ? ` · ${roleName(m.author_role)} · reply to the patient` : ' · patient', ' · ', when),
    h('p', { class: 'msg-body' }, m.body));
}

function viewItem(c, ctx, id) {
  const enc = encodeURIComponent(id);
  let v = null;          // the GET answer
  let composeBuilt = false;
  const others = new Map(); // staff id -> {name, state}
  const banner = h('section', { class: 'pt-banner', id: 'item-banner', 'aria-label': 'Patient' }, h('p', { class: 'muted' }, 'Loading…'));
  const title = h('h1', { tabindex: '-1', id: 'item-title' }, 'Request');
  const meta = h('div', { class: 'item-meta', id: 'item-meta' });
  const presence = h('p', { class: 'presence', id: 'presence', role: 'status' });
  const flash = h('div', { id: 'item-flash' });
  const details = h('div', { id: 'item-details' });
  const thread = h('ol', { class: 'thread', id: 'thread', 'aria-label': 'Conversation' });
  const composeBox = h('div', { id: 'compose-box' });
  const side = h('aside', { class: 'item-side', id: 'item-side', 'aria-label': 'Actions' });
  const mainCol = h('div', { class: 'item-main' }, title, meta, presence, flash, details,
    h('h2', { class: 'vh' }, 'Conversation'), thread, composeBox);
  const grid = h('div', { class: 'item-grid', hidden: true }, mainCol, side);
  const problem = h('div', { id: 'item-problem' });
  add(c, h('div', { class: 'item-top' }, backLink('#/inbox', 'Back to inbox'),
    h('button', { type: 'button', class: 'link small', onclick: () => showShortcuts(itemKeys) }, 'Shortcuts (?)')),
  banner, problem, grid);

  // Presence: say we are here; tell colleagues when we type; leave cleanly.
  live.send({ type: 'viewing', item_id: id });
  let typingAt = 0;
  let typingTimer = 0;
  function typed() {
    const now = Date.now();
    if (now - typingAt > 3000) {
      typingAt = now;
      live.send({ type: 'typing', item_id: id });
    }
    clearTimeout(typingTimer);
    typingTimer = setTimeout(() => { typingAt = 0; live.send({ type: 'viewing', item_id: id }); }, 6000);
  }
  state.hooks.presence = (p) => {
    if (p.item_id !== id || (state.me && p.staff_id === state.me.staff.id)) return;
    if (p.state === 'left') others.delete(p.staff_id);
    else others.set(p.staff_id, { name: p.name || 'A colleague', state: p.state });
    paintPresence();
  };
  state.hooks.reopen = () => {
    others.clear();
    paintPresence();
    live.send({ type: 'viewing', item_id: id });
    refresh();
  };
  state.hooks.leave = () => {
    clearTimeout(typingTimer);
    live.send({ type: 'left', item_id: id });
  };
  const refresh = debounce(() => { if (ctx.alive()) load(false); }, 80);
  state.hooks.event = (e) => { if (e.item_id === id) refresh(); };
  state.hooks.key = (e) => {
    if (e.target && e.target.closest && e.target.closest('a, button') && e.key === 'Enter') return;
    if (e.key === 'r') { const t = doc.getElementById('reply-body'); if (t) { e.preventDefault(); t.focus(); } }
    else if (e.key === 'a' && v && v.item.assignee !== state.me.staff.id) { e.preventDefault(); assign('me'); }
    else if (e.key === 'u') { e.preventDefault(); location.hash = '#/inbox'; }
    else if (e.key === '?') { e.preventDefault(); showShortcuts(itemKeys); }
  };

  function paintPresence() {
    const list = [...others.values()];
    presence.classList.toggle('active', list.length > 0);
    presence.classList.toggle('typing', list.some((o) => o.state === 'typing'));
    put(presence, list.length ? [h('span', { 'aria-hidden': 'true' }, icon(list.some((o) => o.state === 'typing') ? 'note' : 'eye', 16)),
      list.map((o, i) => [i ? ' · ' : '', o.state === 'typing' ? `${o.name} is replying…` : `${o.name} is viewing`])] : null);
  }

  async function load(first) {
    let r;
    try {
      await Promise.all([ensureStaff().catch(() => {}), ensureQueues()]);
      r = await api('GET', `/api/v1/items/${enc}`);
    } catch (err) {
      if (!ctx.alive() || err.handled) return;
      if (err.code === 'break_glass') { breakGlass(); return; }
      grid.hidden = true;
      put(banner);
      banner.hidden = true;
      title.textContent = err.code === 'not_found' ? 'Request not found' : 'Request';
      put(problem, h('h1', { tabindex: '-1' }, err.code === 'not_found' ? 'Request not found' : 'This request could not be opened'),
        errorBox(err.code === 'not_found' ? 'There is no request at this address.' : err.message));
      return;
    }
    if (!ctx.alive()) return;
    v = r;
    put(problem);
    grid.hidden = false;
    banner.hidden = false;
    if (v.item.patient_id) { memory.rowPatient = memory.rowPatient || {}; memory.rowPatient[id] = v.item.patient_id; }
    paintBanner();
    paintHead();
    paintDetails();
    paintThread();
    if (!composeBuilt) { composeBuilt = true; put(composeBox, compose()); }
    else updateCompose();
    paintSide();
    setTitle(`${typeLabel(v.item.type)} request · ${state.clinic}`);
    if (first) {
      if (memory.replyFocus === id) { memory.replyFocus = ''; doc.getElementById('reply-body').focus(); }
      else title.focus();
    }
  }

  function who() {
    if (v.patient) return v.patient.name;
    if (v.contact) return v.contact.name;
    return 'Patient';
  }

  function paintBanner() {
    const p = v.patient;
    const ct = v.contact;
    if (p) {
      put(banner,
        h('div', { class: 'pt-main' },
          h('span', { class: 'avatar', 'aria-hidden': 'true' }, initials(p.name)),
          h('div', null,
            h('p', { class: 'pt-name', id: 'pt-name' }, h('a', { href: `#/patients/${encodeURIComponent(p.id)}` }, p.name),
              ' ', h('span', { class: 'badge on' }, icon('check', 14), 'Verified')),
            h('dl', { class: 'facts inline' },
              fact('Born', formatDOB(p.dob)), fact('Age', String(p.age)), fact('Phone', p.phone || 'Not given'),
              fact('Language', langNames[p.lang] || p.lang || 'English')))),
        v.same_name > 0 ? h('div', { class: 'warn-banner strong', role: 'alert', id: 'item-same-name' },
          h('span', { class: 'icon', 'aria-hidden': 'true' }, icon('alert', 20)),
          h('span', null, v.same_name === 1
            ? 'Another patient has the same name. Check the birth date before you act on this request.'
            : `${v.same_name} other patients have the same name. Check the birth date before you act on this request.`)) : null);
    } else if (ct) {
      put(banner,
        h('div', { class: 'pt-main' },
          h('span', { class: 'avatar unverified', 'aria-hidden': 'true' }, '?'),
          h('div', null,
            h('p', { class: 'pt-name', id: 'pt-name' }, ct.name || 'Unknown', ' ', h('span', { class: 'badge warn' }, icon('alert', 14), 'Unverified')),
            h('dl', { class: 'facts inline' },
              fact('Born (as given)', formatDOB(ct.dob)), fact('Phone', ct.phone || 'Not given'),
              ct.email ? fact('Email', ct.email) : null, fact('Language', langNames[ct.lang] || ct.lang || 'English')))),
        h('p', { class: 'banner-note' }, 'Wrote without an account. Check who this is before sharing health details, then link them to their record.'));
    } else {
      put(banner, h('p', { class: 'pt-name' }, 'Patient'));
    }
  }

  function paintHead() {
    const it = v.item;
    title.textContent = it.subject || typeLabel(it.type);
    const d = dueWords({ ...it, due_at: it.due, overdue: it.status !== 'closed' && new Date(it.due).getTime() < Date.now() });
    put(meta,
      it.priority === 'urgent' ? urgentBadge() : null,
      typeBadge(it.type),
      h('span', { class: `status s-${it.status}`, id: 'item-status' }, statusName(it.status)),
      h('span', { class: 'meta-item' }, 'Queue: ', h('strong', null, queueName(it.queue))),
      h('span', { class: 'meta-item' }, h('time', { datetime: it.due, class: d.cls, title: formatTime(it.due) }, d.text)),
      h('span', { class: 'meta-item' }, 'Received ', h('time', { datetime: it.created, title: formatTime(it.created) }, ago(it.created))),
      h('span', { class: 'meta-item', id: 'item-assignee' }, 'Assigned to ', h('strong', null, it.assignee ? staffName(it.assignee) : 'nobody yet')));
  }

  function paintDetails() {
    const it = v.item;
    const fields = it.fields || {};
    const keys = fieldOrder.filter((k) => fields[k] && !(k === 'subject' && it.type === 'message'));
    for (const k of Object.keys(fields)) if (!keys.includes(k) && !(k === 'subject' && it.type === 'message')) keys.push(k);
    put(details,
      it.priority === 'urgent' ? h('div', { class: 'urgent-box', role: 'note' },
        h('span', { 'aria-hidden': 'true' }, icon('alert', 20)),
        h('span', null, h('strong', null, 'Urgent wording. '),
          (it.urgent && it.urgent.length) ? `The patient's words mention ${it.urgent.join(', ')}. ` : '',
          'Read it now; call the patient if in doubt.')) : null,
      keys.length ? h('section', { class: 'fields-card', 'aria-labelledby': 'fields-title' },
        h('h2', { id: 'fields-title' }, `${typeLabel(it.type)} details`),
        h('dl', { class: 'fields' }, keys.map((k) => h('div', null, h('dt', null, fieldNames[k] || k.replace(/_/g, ' ')), h('dd', null, fields[k]))))) : null,
      it.status === 'closed' && it.outcome ? h('p', { class: 'closed-line' }, icon('check', 16),
        `Closed: ${outcomeNames[it.outcome] || it.outcome}.`, it.closed_reason ? ` Reason given to the patient: “${it.closed_reason}”` : '') : null);
  }

  function paintThread() {
    const atEnd = thread.lastChild ? thread.lastChild.dataset.id : '';
    put(thread, (v.messages || []).map((m) => messageNode(m, v.patient ? v.patient.name : v.contact ? v.contact.name : '')));
    const last = thread.lastChild;
    if (last && atEnd && last.dataset.id !== atEnd && doc.activeElement && doc.activeElement.id === 'reply-body') {
      last.scrollIntoView({ block: 'nearest' });
    }
  }

  // compose is the reply box. It is built once, so a reload from a live
  // event never loses what someone is typing.
  let composeParts = null;
  function compose() {
    const internal = h('input', { type: 'checkbox', id: 'reply-internal', name: 'internal' });
    const label = h('label', { for: 'reply-body', id: 'reply-label' });
    const hint = h('p', { class: 'hint', id: 'reply-hint' });
    const body = h('textarea', { id: 'reply-body', name: 'body', rows: 5, 'aria-describedby': 'reply-hint' });
    body.value = (memory.drafts && memory.drafts[id]) || '';
    const tmpl = h('select', { id: 'reply-template', 'aria-label': 'Insert a template' }, h('option', { value: '' }, 'Insert a template…'));
    const msgEl = h('div', { class: 'form-msg', id: 'reply-msg' });
    const send = h('button', { type: 'submit', class: 'primary', id: 'reply-submit' });
    const form = h('form', { class: 'compose', id: 'reply', novalidate: true, 'aria-label': 'Reply' },
      h('div', { class: 'compose-tools' },
        h('div', { class: 'field check' }, internal, h('label', { for: 'reply-internal' }, 'Internal note (the patient never sees it)')),
        h('div', { class: 'tmpl' }, tmpl)),
      h('div', { class: 'field' }, label, hint, body), msgEl,
      h('div', { class: 'actions' }, send));
    const paintMode = () => {
      const note = internal.checked;
      form.classList.toggle('internal', note);
      label.textContent = note ? 'Internal note' : `Reply to ${who().split(' ')[0] || 'the patient'}`;
      hint.textContent = note ? 'Only staff see internal notes.' : 'The patient reads this, signed with your first name and role.';
      send.textContent = note ? 'Add internal note' : 'Send reply';
    };
    internal.addEventListener('change', paintMode);
    body.addEventListener('input', () => {
      memory.drafts = memory.drafts || {};
      memory.drafts[id] = body.value;
      typed();
    });
    api('GET', '/api/v1/templates').then((r) => {
      for (const t of r.templates || []) add(tmpl, h('option', { value: t.id }, t.name));
    }).catch(() => {});
    tmpl.addEventListener('change', async () => {
      const tid = tmpl.value;
      if (!tid) return;
      try {
        const r = await api('GET', `/api/v1/items/${enc}/templates/${encodeURIComponent(tid)}`);
        body.value = body.value.trim() ? `${body.value.trimEnd()}\n\n${r.body}` : r.body;
        memory.drafts = memory.drafts || {};
        memory.drafts[id] = body.value;
        internal.checked = false;
        paintMode();
        body.focus();
        typed();
      } catch (err) {
        if (!err.handled) put(msgEl, h('p', { class: 'err', role: 'alert' }, err.message));
      } finally {
        tmpl.value = '';
      }
    });
    let busy = false;
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      if (busy) return;
      put(msgEl);
      const text = body.value.trim();
      if (!text) {
        put(msgEl, h('p', { class: 'err', role: 'alert' }, internal.checked ? 'Write the note first.' : 'Write your reply first.'));
        body.focus();
        return;
      }
      busy = true;
      send.setAttribute('aria-disabled', 'true');
      try {
        await api('POST', `/api/v1/items/${enc}/messages`, { body: text, internal: internal.checked });
        const wasNote = internal.checked;
        body.value = '';
        if (memory.drafts) delete memory.drafts[id];
        internal.checked = false;
        paintMode();
        clearTimeout(typingTimer);
        typingAt = 0;
        live.send({ type: 'viewing', item_id: id });
        put(msgEl, h('p', { class: 'ok-msg', role: 'status' }, wasNote ? 'Note added.' : 'Reply sent.'));
        await load(false);
        body.focus();
      } catch (err) {
        if (!err.handled) put(msgEl, h('p', { class: 'err', role: 'alert' }, err.message));
      } finally {
        busy = false;
        send.removeAttribute('aria-disabled');
      }
    });
    composeParts = { paintMode };
    paintMode();
    return form;
  }
  function updateCompose() { if (composeParts) composeParts.paintMode(); }

  // --- Side panel: assignment, status, call attempts, chart, identity.

  // paintSide rebuilds a card only when what it shows changed, so a live
  // refresh never throws away a half-filled form (a close reason, a search).
  const cards = new Map();
  function card(key, sig, build) {
    let cd = cards.get(key);
    if (!cd || cd.sig !== sig) {
      cd = { sig, node: build() };
      cards.set(key, cd);
    }
    return cd.node;
  }
  function paintSide() {
    const active = doc.activeElement;
    const focusId = active && side.contains(active) ? active.id : '';
    const it = v.item;
    const want = [
      card('assign', `${it.assignee}|${it.queue}|${(memory.staff || []).length}`, () => assignCard(it)),
      card('status', `${it.status}|${it.outcome || ''}`, () => statusCard(it)),
      it.type === 'callback' ? card('attempts', String((it.attempts || []).length), () => attemptsCard(it)) : null,
      card('chart', '', () => chartCard()),
      v.contact ? card('link', v.contact.id, () => linkCard(v.contact)) : null,
      (it.seen_by || []).length ? card('seen', String(it.seen_by.length), () => seenCard(it)) : null,
    ].filter(Boolean);
    const same = want.length === side.children.length && want.every((n, i) => side.children[i] === n);
    if (!same) put(side, want);
    if (focusId && doc.activeElement !== doc.getElementById(focusId)) { const el = doc.getElementById(focusId); if (el) el.focus(); }
  }

  function sideMsg(key) {
    return h('div', { class: 'form-msg', id: `${key}-msg` });
  }

  function showSide(key, node) {
    const el = doc.getElementById(`${key}-msg`);
    if (el) { put(el, node); if (node && node.classList && node.classList.contains('ok-msg')) node.focus(); }
  }

  async function assign(staffId) {
    try {
      await api('POST', `/api/v1/items/${enc}/assign`, { staff_id: staffId });
      await load(false);
      showSide('assign', okMessage(staffId === 'me' ? 'Assigned to you.' : staffId ? `Assigned to ${staffName(staffId)}.` : 'Unassigned.'));
    } catch (err) {
      if (!err.handled) showSide('assign', h('p', { class: 'err', role: 'alert' }, err.message));
    }
  }

  function assignCard(it) {
    const mine = it.assignee === state.me.staff.id;
    const menu = assignMenu('assign', it.queue, it.assignee);
    const go = h('button', { type: 'button', class: 'small', id: 'assign-submit' }, 'Assign');
    go.addEventListener('click', () => {
      if (!menu.value) { showSide('assign', h('p', { class: 'err', role: 'alert' }, 'Choose who should take it.')); menu.focus(); return; }
      assign(menu.value);
    });
    return h('section', { class: 'side-card', 'aria-labelledby': 'assign-title' },
      h('h2', { id: 'assign-title' }, 'Assigned to'),
      h('p', { class: 'who-line' }, icon('user', 18), it.assignee ? h('strong', null, staffName(it.assignee)) : h('span', { class: 'muted' }, 'Nobody yet')),
      sideMsg('assign'),
      h('div', { class: 'actions' },
        mine ? null : h('button', { type: 'button', class: 'primary small', id: 'assign-me', onclick: () => assign('me') }, 'Assign to me'),
        it.assignee ? h('button', { type: 'button', class: 'small', id: 'assign-none', onclick: () => assign('') }, 'Unassign') : null),
      h('div', { class: 'field inline-field' }, h('label', { for: 'assign-staff' }, 'Give it to'), h('div', { class: 'row' }, menu, go)),
      h('p', { class: 'hint' }, `Only people who work the ${queueName(it.queue)} queue are listed.`));
  }

  function statusCard(it) {
    const outs = outcomesByType[it.type] || [];
    const selEl = h('select', { id: 'status-select', name: 'status' },
      ['new', 'open', 'waiting', 'closed'].map((s) => h('option', { value: s, selected: s === it.status }, statusName(s))));
    const outcome = outs.length ? h('fieldset', { class: 'outcomes', id: 'status-outcomes' },
      h('legend', null, 'How does it end?'),
      outs.map((o) => h('div', { class: 'field check radio' },
        h('input', { type: 'radio', name: 'outcome', id: `outcome-${o}`, value: o }),
        h('label', { for: `outcome-${o}` }, outcomeNames[o] || o)))) : null;
    const reasonId = 'status-reason';
    const reason = h('div', { class: 'field', id: 'status-reason-wrap' },
      h('label', { for: reasonId }, 'Reason the patient will read'),
      h('p', { class: 'hint', id: 'status-reason-hint' }, 'Plain words, for example: “We need to see you before we can renew this. Please book a visit.”'),
      h('textarea', { id: reasonId, name: 'reason', rows: 3, 'aria-describedby': 'status-reason-hint' }));
    const closing = h('div', { id: 'status-closing', hidden: true }, outcome, reason);
    const paint = () => {
      const closingNow = selEl.value === 'closed' && it.status !== 'closed';
      closing.hidden = !closingNow;
      const o = closing.querySelector('input[name="outcome"]:checked');
      reason.hidden = !(o && o.value.endsWith('declined'));
    };
    selEl.addEventListener('change', paint);
    closing.addEventListener('change', paint);
    const save = h('button', { type: 'submit', class: 'small', id: 'status-submit' }, 'Update status');
    const form = h('form', { novalidate: true, 'aria-label': 'Status', id: 'status-form' },
      h('div', { class: 'field' }, h('label', { for: 'status-select' }, 'Set the status to'), selEl), closing, sideMsg('status'), h('div', { class: 'actions' }, save));
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      const status = selEl.value;
      const body = { status };
      if (status === it.status) { showSide('status', h('p', { class: 'err', role: 'alert' }, `It is already ${statusName(status).toLowerCase()}.`)); return; }
      if (status === 'closed') {
        const o = form.querySelector('input[name="outcome"]:checked');
        if (outs.length && !o) { showSide('status', h('p', { class: 'err', role: 'alert' }, 'Choose how it ends.')); form.querySelector('input[name="outcome"]').focus(); return; }
        if (o) body.outcome = o.value;
        const rs = doc.getElementById(reasonId).value.trim();
        if (o && o.value.endsWith('declined') && !rs) { showSide('status', h('p', { class: 'err', role: 'alert' }, 'Write the reason the patient will read.')); doc.getElementById(reasonId).focus(); return; }
        if (rs && o && o.value.endsWith('declined')) body.reason = rs;
      }
      try {
        await api('POST', `/api/v1/items/${enc}/status`, body);
        await load(false);
        showSide('status', okMessage(`Status: ${statusName(status)}.`));
      } catch (err) {
        if (!err.handled) showSide('status', h('p', { class: 'err', role: 'alert' }, err.message));
      }
    });
    paint();
    return h('section', { class: 'side-card', 'aria-labelledby': 'status-title' }, h('h2', { id: 'status-title' }, 'Status'), form);
  }

  function attemptsCard(it) {
    const list = it.attempts || [];
    const input = h('input', { id: 'attempt-outcome', name: 'outcome', list: 'attempt-words', autocomplete: 'off' });
    const form = h('form', { novalidate: true, 'aria-label': 'Log a call attempt', id: 'attempt-form' },
      h('div', { class: 'field' }, h('label', { for: 'attempt-outcome' }, 'How did the call go?'),
        h('p', { class: 'hint' }, 'The patient sees that you tried, and when.'), input,
        h('datalist', { id: 'attempt-words' }, ['No answer', 'Left a voicemail', 'Line busy', 'Wrong number', 'Spoke with the patient'].map((w) => h('option', { value: w })))),
      sideMsg('attempt'),
      h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'small', id: 'attempt-submit' }, 'Log a call attempt')));
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      if (!input.value.trim()) { showSide('attempt', h('p', { class: 'err', role: 'alert' }, 'Say how the call went, for example: no answer.')); input.focus(); return; }
      try {
        await api('POST', `/api/v1/items/${enc}/attempts`, { outcome: input.value.trim() });
        await load(false);
        showSide('attempt', okMessage('Call attempt logged.'));
      } catch (err) {
        if (!err.handled) showSide('attempt', h('p', { class: 'err', role: 'alert' }, err.message));
      }
    });
    return h('section', { class: 'side-card', 'aria-labelledby': 'attempts-title' },
      h('h2', { id: 'attempts-title' }, 'Call attempts'),
      list.length ? h('ol', { class: 'attempts', id: 'attempts' }, list.map((a) => h('li', null,
        h('strong', null, a.outcome), h('span', { class: 'sub' }, `${a.name} · `, h('time', { datetime: a.at, title: formatTime(a.at) }, formatWhen(a.at))))))
        : h('p', { class: 'muted' }, 'No calls logged yet.'),
      form);
  }

  function chartCard() {
    const out = h('div', { id: 'chart-out' });
    const btn = h('button', { type: 'button', class: 'small', id: 'chart-copy' }, icon('copy', 16), 'Copy for the chart');
    btn.addEventListener('click', async () => {
      let text;
      try {
        text = (await api('GET', `/api/v1/items/${enc}/chart`)).text || '';
      } catch (err) {
        if (!err.handled) put(out, h('p', { class: 'err', role: 'alert' }, err.message));
        return;
      }
      try {
        if (!navigator.clipboard || !window.isSecureContext) throw new Error('no clipboard');
        await navigator.clipboard.writeText(text);
        const m = okMessage('Copied. Paste it into the patient\u2019s chart.');
        put(out, m);
        m.focus();
      } catch {
        const ta = h('textarea', { id: 'chart-text', readonly: true, rows: 8, 'aria-describedby': 'chart-hint' });
        ta.value = text;
        put(out, h('div', { class: 'field' },
          h('label', { for: 'chart-text' }, 'Text for the chart'),
          h('p', { class: 'hint', id: 'chart-hint' }, 'This browser did not allow copying. The text is selected: press Ctrl+C (⌘C on a Mac) to copy it.'), ta));
        ta.focus();
        ta.select();
      }
    });
    return h('section', { class: 'side-card', 'aria-labelledby': 'chart-title' },
      h('h2', { id: 'chart-title' }, 'Chart'),
      h('p', { class: 'muted' }, 'The request and its thread as plain text, headed by the patient\u2019s name and birth date.'),
      h('div', { class: 'actions' }, btn), out);
  }

  function seenCard(it) {
    const seen = it.seen_by || [];
    if (!seen.length) return null;
    return h('section', { class: 'side-card quiet', 'aria-labelledby': 'seen-title' },
      h('h2', { id: 'seen-title' }, 'Opened by'),
      h('ul', { class: 'plain' }, seen.map((s) => h('li', null, `${s.name} (${roleName(s.role)}) · `, h('time', { datetime: s.at, title: formatTime(s.at) }, ago(s.at))))));
  }

  // linkCard compares the unverified contact with a patient record side by
  // side, and links them only after the person has looked at both.
  function linkCard(ct) {
    const results = h('div', { id: 'link-results' });
    const compare = h('div', { id: 'link-compare' });
    const q = h('input', { id: 'link-q', type: 'search', name: 'q', autocomplete: 'off', spellcheck: 'false' });
    q.value = ct.name || '';
    const form = h('form', { role: 'search', novalidate: true, 'aria-label': 'Find the patient record' },
      h('div', { class: 'field' }, h('label', { for: 'link-q' }, 'Find their record'),
        h('p', { class: 'hint' }, 'A name, a birth date like 03/14/1961, or a phone number.'),
        h('div', { class: 'row' }, q, h('button', { type: 'submit', class: 'small', id: 'link-search' }, 'Search'))));
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      put(compare);
      const text = q.value.trim();
      if (text.length < 2) { put(results, h('p', { class: 'err', role: 'alert' }, 'Type at least two characters.')); return; }
      try {
        const r = await api('GET', `/api/v1/patients?q=${encodeURIComponent(text)}`);
        const list = r.patients || [];
        put(results, list.length ? h('ul', { class: 'plain link-list', 'aria-label': 'Matching records' }, list.map((p) => h('li', null,
          h('span', null, h('strong', null, p.name), h('span', { class: 'sub' }, `${formatDOB(p.dob)} · ${p.phone || 'no phone'}`)),
          h('button', { type: 'button', class: 'small', onclick: () => sideBySide(p) }, 'Compare', h('span', { class: 'vh' }, ` with ${p.name}`)))))
          : h('p', { role: 'status' }, 'No record matches. Try the birth date or the phone number, or create the patient first.'));
      } catch (err) {
        if (!err.handled) put(results, h('p', { class: 'err', role: 'alert' }, err.message));
      }
    });
    function sideBySide(p) {
      const digits = (s) => (s || '').replace(/\D/g, '').slice(-10);
      const rowsSpec = [
        ['Name', ct.name, p.name, (ct.name || '').trim().toLowerCase() === (p.name || '').trim().toLowerCase()],
        ['Birth date', formatDOB(ct.dob), formatDOB(p.dob), ct.dob === p.dob],
        ['Phone', ct.phone || '—', p.phone || '—', !!ct.phone && digits(ct.phone) === digits(p.phone)],
      ];
      const t = h('table', { class: 'data compare', id: 'link-table' },
        h('caption', null, 'Identity check'),
        h('thead', null, h('tr', null, h('td'), h('th', { scope: 'col' }, 'They wrote'), h('th', { scope: 'col' }, 'Patient record'), h('th', { scope: 'col' }, 'Match'))),
        h('tbody', null, rowsSpec.map(([k, a, b, same]) => h('tr', { class: same ? 'same' : 'differs' },
          h('th', { scope: 'row' }, k), h('td', null, a), h('td', null, b),
          h('td', null, same ? h('span', { class: 'badge on' }, icon('check', 14), 'Same') : h('span', { class: 'badge bad' }, icon('alert', 14), 'Different'))))));
      const allSame = rowsSpec.every((r) => r[3]);
      const linkBtn = h('button', { type: 'button', class: allSame ? 'primary small' : 'small danger', id: 'link-submit' }, `Link to this patient`);
      linkBtn.addEventListener('click', async () => {
        if (!allSame && !window.confirm('Some details differ. Link anyway? Only do this if you confirmed who they are, for example by phone.')) return;
        try {
          const r = await api('POST', `/api/v1/contacts/${encodeURIComponent(ct.id)}/link`, { patient_id: p.id });
          memory.rowPatient = memory.rowPatient || {};
          memory.rowPatient[id] = p.id;
          await load(false);
          put(flash, okMessage(`Linked to ${p.name}\u2019s record: ${plural(r.items_moved || 0, 'request', 'requests')} moved.`));
          flash.firstChild.focus();
        } catch (err) {
          if (!err.handled) put(compare, t, h('p', { class: 'err', role: 'alert' }, err.message), h('div', { class: 'actions' }, linkBtn));
        }
      });
      put(compare, t,
        allSame ? null : h('p', { class: 'err' }, 'Some details differ. Check with the person before you link.'),
        h('div', { class: 'actions' }, linkBtn));
      compare.querySelector('caption').setAttribute('tabindex', '-1');
      compare.querySelector('caption').focus();
    }
    return h('section', { class: 'side-card identity', 'aria-labelledby': 'link-title', id: 'link-card' },
      h('h2', { id: 'link-title' }, 'Check who this is'),
      h('p', { class: 'muted' }, 'Compare what they wrote with the patient record, side by side, then link. Their requests move to the record.'),
      form, results, compare);
  }

  function breakGlass() {
    grid.hidden = true;
    banner.hidden = true;
    const pid = memory.rowPatient && memory.rowPatient[id];
    const head = h('h1', { tabindex: '-1', id: 'bg-title' }, 'This request is outside your queues');
    if (!pid) {
      put(problem, h('section', { class: 'card wide' }, head,
        h('p', null, 'To open it, give a reason from the patient\u2019s page or from the inbox row you came from.')));
      head.focus();
      return;
    }
    const f = makeForm('breakglass', [
      { name: 'reason', label: 'Why do you need to open it?', type: 'textarea', rows: 3,
        hint: 'For example: “Covering for Dr. Lee; patient called about this request.” The owner sees your reason, and the access is logged.' },
    ], {
      submit: 'Open with this reason', label: 'Reason for opening',
      secondary: h('a', { class: 'button', href: '#/inbox' }, 'Cancel'),
      async onSubmit(val) {
        if (!val.reason.trim()) throw fieldError('reason', 'Give the reason you need to open it.');
        await api('POST', `/api/v1/patients/${encodeURIComponent(pid)}/break-glass`, { reason: val.reason.trim() });
        put(problem);
        await load(true);
      },
    });
    put(problem, h('section', { class: 'card wide glass', id: 'break-glass' }, head,
      h('p', null, 'It belongs to a queue you do not work. You may open it when there is a clinical reason. Access lasts an hour for this patient.'), f.el));
    head.focus();
  }

  load(true);
  return null;
}

function initials(name) {
  return (name || '?').split(/\s+/).filter(Boolean).slice(0, 2).map((w) => w[0].toUpperCase()).join('');
}

// --- Appointments: the front-desk board, booking, and the practice-system
// import. Live events carry no PHI: the board fetches again on each.

const apptStatus = {
  confirmed: { text: 'Confirmed', cls: 'st-confirmed' },
  scheduled: { text: 'Not confirmed yet', cls: 'st-scheduled' },
  cancelled: { text: 'Cancelled', cls: 'st-cancelled' },
  reschedule_requested: { text: 'Asked for another time', cls: 'st-reschedule' },
};
const importFieldInfo = {
  external_id: ['Appointment id', true], patient_name: ['Patient name', true], patient_dob: ['Birth date', true],
  date: ['Date', true], time: ['Time', false], minutes: ['Length (minutes)', false], provider: ['Provider', false],
  location: ['Location', false], reason: ['Reason', false],
};
const importGuesses = {
  external_id: ['id', 'appointmentid', 'apptid', 'externalid', 'visitid', 'encounterid', 'appointmentno', 'apptno', 'bookingid'],
  patient_name: ['patient', 'patientname', 'name', 'fullname', 'patientfullname'],
  patient_dob: ['dob', 'birthdate', 'dateofbirth', 'patientdob', 'birthday', 'born'],
  date: ['date', 'appointmentdate', 'apptdate', 'visitdate', 'day', 'startdate'],
  time: ['time', 'starttime', 'appointmenttime', 'appttime', 'start'],
  minutes: ['minutes', 'length', 'duration', 'mins', 'durationmin', 'durationminutes', 'lengthmin'],
  provider: ['provider', 'doctor', 'clinician', 'physician', 'resource', 'seenby'],
  location: ['location', 'room', 'site', 'office', 'place'],
  reason: ['reason', 'visitreason', 'visittype', 'appointmenttype', 'type', 'purpose'],
};
const importRowNames = { ok: 'Ready', duplicate: 'Already imported', unmatched: 'To resolve', error: 'Error' };

const dayKey = (d) => `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
const weekdayFormat = new Intl.DateTimeFormat('en-US', { weekday: 'long', month: 'short', day: 'numeric' });

// rfc3339Local turns a datetime-local value into RFC 3339 with this
// computer's offset at that moment ("2026-12-01T09:30" -> "...-06:00").
function rfc3339Local(v) {
  const m = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2})(:\d{2})?/.exec(v || '');
  if (!m) return '';
  const d = new Date(`${m[1]}T${m[2]}${m[3] || ':00'}`);
  if (Number.isNaN(d.getTime())) return '';
  const off = -d.getTimezoneOffset();
  const a = Math.abs(off);
  return `${m[1]}T${m[2]}${m[3] || ':00'}${off >= 0 ? '+' : '-'}${String(Math.floor(a / 60)).padStart(2, '0')}:${String(a % 60).padStart(2, '0')}`;
}

// csvHeader reads a CSV's header row (quotes, commas or semicolons), the
// way the server does, to offer its columns before anything is sent.
function csvHeader(text) {
  const first = (text || '').replace(/^\uFEFF/, '').split(/\r?\n/).find((l) => l.trim()) || '';
  const sep = (first.match(/;/g) || []).length > (first.match(/,/g) || []).length ? ';' : ',';
  const out = [];
  let cur = '';
  let q = false;
  for (let i = 0; i < first.length; i++) {
    const ch = first[i];
    if (q) {
      if (ch === '"' && first[i + 1] === '"') { cur += '"'; i++; } else if (ch === '"') q = false; else cur += ch;
    } else if (ch === '"') q = true;
    else if (ch === sep) { out.push(cur.trim()); cur = ''; } else cur += ch;
  }
  out.push(cur.trim());
  return out.filter(Boolean);
}

function guessColumn(fieldName, columns, taken) {
  const norm = (s) => s.toLowerCase().replace(/[^a-z0-9]/g, '');
  const words = [norm(fieldName), ...importGuesses[fieldName]];
  const free = columns.filter((c) => !taken.has(c));
  for (const w of words) { const c = free.find((x) => norm(x) === w); if (c) return c; }
  for (const w of words) { if (w.length < 4) continue; const c = free.find((x) => norm(x).includes(w)); if (c) return c; }
  return '';
}

function viewBoard(c, ctx) {
  let rows = [];
  const days = () => {
    const now = new Date();
    const t = new Date(now.getFullYear(), now.getMonth(), now.getDate());
    const m = new Date(t.getFullYear(), t.getMonth(), t.getDate() + 1);
    return [{ key: dayKey(t), name: 'Today', date: t }, { key: dayKey(m), name: 'Tomorrow', date: m }];
  };
  let day = memory.boardDay || 'Today';
  const refreshBtn = h('button', { type: 'button', class: 'small', id: 'board-refresh' }, 'Refresh');
  const bookLink = h('button', { type: 'button', class: 'primary small', id: 'board-book-link' }, '+ Book an appointment');
  bookLink.addEventListener('click', () => {
    const p = doc.getElementById('board-book-panel');
    p.scrollIntoView({ block: 'start' });
    doc.getElementById('book-patient_id').focus();
  });
  const summary = h('div', { class: 'tiles board-tiles', id: 'board-summary' });
  const tabs = h('div', { class: 'tabs', role: 'group', 'aria-label': 'Day', id: 'board-days' });
  const status = h('p', { class: 'status-line', role: 'status', id: 'board-status' });
  const msg = h('div', { id: 'board-msg' });
  const tbody = h('tbody');
  const caption = h('caption', { class: 'vh' }, 'Appointments');
  const table = h('div', { class: 'table-wrap' }, h('table', { class: 'data board', id: 'board-table' }, caption,
    h('thead', null, h('tr', null, ['Time', 'Patient', 'Provider', 'Location', 'Reason', 'Status'].map((t) => h('th', { scope: 'col' }, t)))),
    tbody));
  const empty = h('div', { class: 'empty', id: 'board-empty', hidden: true },
    h('span', { class: 'empty-icon', 'aria-hidden': 'true' }, icon('appointment', 36)),
    h('p', null, h('strong', null, 'No appointments this day.')),
    h('p', { class: 'muted' }, 'Book one below, or import the practice system\u2019s export.'));
  add(c, viewHead('Appointments', refreshBtn, bookLink),
    h('p', { class: 'intro' }, 'Today and tomorrow. The board updates by itself as patients answer.'),
    summary, tabs, msg, status, table, empty,
    h('div', { class: 'board-panels' }, bookPanel(ctx, () => load()), importPanel(ctx, () => load())));
  refreshBtn.addEventListener('click', () => load().then(() => { status.textContent = `Updated at ${clockFormat.format(new Date())}. ${status.textContent}`; }));

  let loading = null;
  let again = false;
  function load() {
    if (loading) { again = true; return loading; }
    loading = (async () => {
      do {
        again = false;
        let r;
        try {
          r = await api('GET', '/api/v1/appointments', undefined, { background: true });
        } catch (err) {
          if (ctx.alive() && !err.handled) put(msg, errorBox(err.message));
          return;
        }
        if (!ctx.alive()) return;
        put(msg);
        rows = (r.appointments || []).slice().sort((a, b) => new Date(a.starts_at) - new Date(b.starts_at));
        paint();
        const dl = doc.getElementById('book-providers');
        if (dl) put(dl, [...new Set(rows.map((a) => a.provider).filter(Boolean))].sort().map((p) => h('option', { value: p })));
      } while (again && ctx.alive());
    })().finally(() => { loading = null; });
    return loading;
  }

  function rowsOf(d) {
    const list = days();
    return rows.filter((a) => {
      const k = dayKey(new Date(a.starts_at));
      // Anything outside today and tomorrow (a clinic in another time zone)
      // goes with the nearer of the two.
      if (d.name === 'Today') return k <= list[0].key;
      return k > list[0].key;
    });
  }

  function paint() {
    const list = days();
    const now = Date.now();
    const open = rows.filter((a) => new Date(a.starts_at).getTime() > now - a.minutes * 60_000);
    const unconfirmed = open.filter((a) => a.status === 'scheduled');
    const cancelled = open.filter((a) => a.status === 'cancelled');
    const asked = rows.filter((a) => a.status === 'reschedule_requested');
    const tile = (id, label, n, note, cls, extra) => h('div', { class: `tile ${n ? cls : 'good'}`, id },
      h('p', { class: 'tile-label', id: `${id}-label` }, label),
      h('p', { class: 'tile-value' }, String(n)),
      h('p', { class: 'tile-note' }, note), extra);
    put(summary,
      tile('board-unconfirmed', 'Unconfirmed to call', unconfirmed.length,
        unconfirmed.length ? `${unconfirmed.filter((a) => !a.has_channel).length} cannot get a reminder` : 'Everyone has answered', 'warn'),
      tile('board-cancelled', 'Cancellations to fill', cancelled.length, cancelled.length ? 'Open slots to offer' : 'No open slots', 'bad'),
      tile('board-asked', 'Asked for another time', asked.length, asked.length ? '' : 'No requests', 'warn',
        asked.length ? h('ul', { class: 'tile-links' }, asked.map((a) => h('li', null, a.item_id
          ? h('a', { href: `#/inbox/${encodeURIComponent(a.item_id)}` }, a.patient || 'Unknown', h('span', { class: 'vh' }, ': open the request'))
          : (a.patient || 'Unknown')))) : null));

    if (!list.some((d) => d.name === day)) day = 'Today';
    put(tabs, list.map((d) => {
      const n = rowsOf(d).length;
      const on = d.name === day;
      const b = h('button', { type: 'button', class: 'tab', id: `board-day-${d.name.toLowerCase()}`, 'aria-pressed': String(on) },
        h('span', { class: 'tab-name' }, `${d.name} · ${weekdayFormat.format(d.date)}`),
        h('span', { class: 'count' }, String(n), h('span', { class: 'vh' }, n === 1 ? ' appointment' : ' appointments')));
      b.addEventListener('click', () => {
        day = d.name;
        memory.boardDay = day;
        paint();
        const t = doc.getElementById(`board-day-${d.name.toLowerCase()}`);
        if (t) t.focus();
      });
      return b;
    }));

    const cur = list.find((d) => d.name === day);
    const mine = rowsOf(cur);
    caption.textContent = `Appointments ${day.toLowerCase()}, ${weekdayFormat.format(cur.date)}, by time`;
    const active = doc.activeElement;
    const focusId = active && tbody.contains(active) ? active.closest('tr').dataset.id : '';
    put(tbody, mine.map(rowNode));
    if (focusId) {
      const l = tbody.querySelector(`tr[data-id="${CSS.escape(focusId)}"] a`);
      if (l) l.focus();
    }
    table.hidden = mine.length === 0;
    empty.hidden = mine.length > 0;
    const nc = mine.filter((a) => a.status === 'scheduled').length;
    status.textContent = mine.length
      ? [plural(mine.length, 'appointment', 'appointments'), nc ? `${nc} not confirmed yet` : 'all answered'].join(' · ')
      : '';
  }

  function rowNode(a) {
    const st = apptStatus[a.status] || { text: a.status, cls: '' };
    const start = new Date(a.starts_at);
    const past = start.getTime() + a.minutes * 60_000 < Date.now();
    const needsCall = a.status === 'scheduled';
    return h('tr', { class: [`a-${a.status}`, past ? 'past' : ''].filter(Boolean).join(' '), 'data-id': a.id },
      h('td', { class: 'c-time nowrap' }, h('time', { datetime: a.starts_at, title: formatTime(a.starts_at) }, clockFormat.format(start)),
        h('span', { class: 'sub' }, `${a.minutes} min`)),
      h('td', { class: 'c-patient' }, h('a', { href: `#/patients/${encodeURIComponent(a.patient_id)}` }, a.patient || 'Unknown patient'),
        a.patient_dob ? h('span', { class: 'sub' }, h('span', { class: 'vh' }, 'Born '), formatDOB(a.patient_dob)) : null),
      h('td', null, a.provider || h('span', { class: 'muted' }, '—')),
      h('td', null, a.location || h('span', { class: 'muted' }, '—')),
      h('td', { class: 'c-reason' }, a.reason || h('span', { class: 'muted' }, '—')),
      h('td', { class: 'c-status' },
        h('span', { class: `appt-status ${st.cls}` }, a.status === 'confirmed' ? icon('check', 14) : null, st.text),
        a.status === 'reschedule_requested' && a.preferred ? h('span', { class: 'sub pref' }, `Prefers: ${a.preferred}`) : null,
        a.status === 'reschedule_requested' && a.item_id ? h('a', { class: 'sub-link', href: `#/inbox/${encodeURIComponent(a.item_id)}` },
          'Open the request', h('span', { class: 'vh' }, ` from ${a.patient || 'the patient'}`)) : null,
        needsCall && !a.has_channel ? h('span', { class: 'no-channel' }, icon('callback', 14), 'No reminder channel') : null,
        needsCall && a.phone ? h('span', { class: 'sub phone' }, a.has_channel ? h('span', { class: 'vh' }, 'Phone ') : 'Call to remind: ', a.phone) : null,
        needsCall && !a.phone && !a.has_channel ? h('span', { class: 'sub' }, 'No phone on file either') : null));
  }

  const refresh = debounce(() => { if (ctx.alive()) load(); }, 80);
  state.hooks.event = (e) => { if (typeof e.type === 'string' && e.type.startsWith('appointment.')) refresh(); };
  state.hooks.reopen = () => refresh();
  // Past visits dim as the day goes by (no request needed).
  const tick = setInterval(() => { if (ctx.alive()) paint(); else clearInterval(tick); }, 60_000);
  state.hooks.leave = () => clearInterval(tick);
  load();
  return null;
}

// bookPanel is the booking form: a patient picker, then the visit.
function bookPanel(ctx, onBooked) {
  let chosen = null;
  const results = h('ul', { class: 'pick-list', id: 'book-results', 'aria-label': 'Matching patients', hidden: true });
  const chosenBox = h('div', { class: 'picked', id: 'book-picked', hidden: true });
  const pickStatus = h('p', { class: 'status-line small-text', role: 'status', id: 'book-pick-status' });
  const done = h('div', { id: 'book-done' });
  const f = makeForm('book', [
    { name: 'patient_id', label: 'Patient', type: 'search', hint: 'Type two or more letters of the name, a birth date or a phone number, then choose.',
      attrs: { spellcheck: 'false', autocapitalize: 'none' } },
    { node: pickStatus }, { node: results }, { node: chosenBox },
    { node: h('div', { class: 'grid-form book-grid' }) },
    { name: 'starts_at', label: 'Date and time', type: 'datetime-local', hint: 'In this computer\u2019s time.' },
    { name: 'minutes', label: 'Length (minutes)', type: 'number', value: '15', attrs: { min: 5, max: 480, step: 5, inputmode: 'numeric' } },
    { name: 'provider', label: 'Provider', attrs: { maxlength: 200, list: 'book-providers' } },
    { name: 'location', label: 'Location', attrs: { maxlength: 200 } },
    { name: 'reason', label: 'Reason', hint: 'Shown to the patient, so write it for them: “Blood pressure check”.', attrs: { maxlength: 200 } },
  ], {
    submit: 'Book the appointment', label: 'Book an appointment', class: 'book-form',
    async onSubmit(v) {
      put(done);
      if (!chosen) throw fieldError('patient_id', 'Search for the patient, then choose them from the list.');
      if (!v.starts_at) throw fieldError('starts_at', 'Give the date and time.');
      const when = rfc3339Local(v.starts_at);
      if (!when) throw fieldError('starts_at', 'Give the date and time, like 12/01/2026 09:30 AM.');
      const minutes = Number(v.minutes || 15);
      if (!Number.isInteger(minutes)) throw fieldError('minutes', 'Give the length in whole minutes.');
      await api('POST', '/api/v1/appointments', { patient_id: chosen.id, starts_at: when, minutes,
        provider: v.provider.trim(), location: v.location.trim(), reason: v.reason.trim() });
      if (!ctx.alive()) return;
      const m = okMessage(`Booked: ${chosen.name}, ${formatWhen(when)}. They can confirm it from their page.`);
      m.id = 'book-ok';
      f.el.reset();
      f.fields.minutes.input.value = '15';
      choose(null);
      put(done, m);
      m.focus();
      onBooked();
    },
  });
  // Put date/time and length side by side.
  add(f.el.querySelector('.book-grid'), f.fields.starts_at.wrap, f.fields.minutes.wrap, f.fields.provider.wrap, f.fields.location.wrap,
    h('datalist', { id: 'book-providers' }));
  add(f.el, done);

  const q = f.fields.patient_id.input;
  let seq = 0;
  async function search() {
    const text = q.value.trim();
    const mine = ++seq;
    if (chosen) return;
    if (text.length < 2) { results.hidden = true; put(results); pickStatus.textContent = ''; return; }
    try {
      const r = await api('GET', `/api/v1/patients?q=${encodeURIComponent(text)}`);
      if (mine !== seq || !ctx.alive()) return;
      const list = (r.patients || []).slice(0, 8);
      pickStatus.textContent = list.length ? `${plural(list.length, 'patient', 'patients')} found. Choose one below.` : 'No patient matches.';
      put(results, list.map((p) => h('li', null, h('button', { type: 'button', class: 'pick', 'data-id': p.id, onclick: () => { choose(p); } },
        h('span', { class: 'pick-name' }, p.name), h('span', { class: 'pick-sub' }, `Born ${formatDOB(p.dob)}${p.phone ? ` · ${p.phone}` : ''}`)))));
      results.hidden = list.length === 0;
    } catch (err) {
      if (mine !== seq || !ctx.alive() || err.handled) return;
      f.fields.patient_id.setError(err.message);
    }
  }
  q.addEventListener('input', debounce(search, 250));
  q.addEventListener('keydown', (e) => {
    if (e.key === 'ArrowDown' && !results.hidden) { e.preventDefault(); const b = results.querySelector('button'); if (b) b.focus(); }
  });
  results.addEventListener('keydown', (e) => {
    const bs = [...results.querySelectorAll('button')];
    const i = bs.indexOf(doc.activeElement);
    if (e.key === 'ArrowDown' && i < bs.length - 1) { e.preventDefault(); bs[i + 1].focus(); }
    if (e.key === 'ArrowUp') { e.preventDefault(); (i > 0 ? bs[i - 1] : q).focus(); }
  });
  function choose(p) {
    chosen = p;
    f.fields.patient_id.clear();
    put(results);
    results.hidden = true;
    pickStatus.textContent = p ? `Chosen: ${p.name}.` : '';
    f.fields.patient_id.wrap.hidden = !!p;
    chosenBox.hidden = !p;
    if (!p) { put(chosenBox); q.value = ''; return; }
    const change = h('button', { type: 'button', class: 'link small', id: 'book-change' }, 'Change', h('span', { class: 'vh' }, ' patient'));
    change.addEventListener('click', () => { choose(null); q.focus(); });
    put(chosenBox, h('span', { class: 'avatar', 'aria-hidden': 'true' }, initials(p.name)),
      h('span', null, h('strong', { id: 'book-picked-name' }, p.name), h('span', { class: 'sub' }, `Born ${formatDOB(p.dob)}${p.phone ? ` · ${p.phone}` : ''}`)),
      change);
    f.fields.starts_at.input.focus();
  }
  // A server error about the patient shows on the (hidden) search field:
  // bring it back.
  const origError = f.error;
  f.error = (err) => { if (err && err.field === 'patient_id') choose(null); origError(err); };

  return h('section', { class: 'card board-panel', id: 'board-book-panel', 'aria-labelledby': 'book-title', tabindex: '-1' },
    h('h2', { id: 'book-title' }, 'Book an appointment'), f.el);
}

// importPanel reads the practice system's CSV export, maps its columns,
// previews every row, then imports all good rows at once.
function importPanel(ctx, onImported) {
  let columns = [];
  let mapping = {};
  let preview = null;
  const fileId = 'import-file';
  const file = h('input', { type: 'file', id: fileId, accept: '.csv,text/csv,text/plain', 'aria-describedby': 'import-file-hint' });
  const text = field('import', { name: 'csv', label: 'Or paste the export here', type: 'textarea', rows: 4,
    hint: 'The first line must name the columns.', attrs: { spellcheck: 'false' } });
  text.input.classList.add('mono');
  const readBtn = h('button', { type: 'button', id: 'import-read' }, 'Next: match the columns');
  const mapBox = h('div', { id: 'import-mapping', hidden: true });
  const out = h('div', { id: 'import-result' });
  const msg = h('div', { id: 'import-msg', class: 'form-msg' });

  file.addEventListener('change', () => {
    const fl = file.files && file.files[0];
    if (!fl) return;
    const rd = new FileReader();
    rd.onload = () => { text.input.value = String(rd.result || ''); readColumns(); };
    rd.onerror = () => put(msg, h('p', { class: 'err', role: 'alert' }, 'The file could not be read. Export it again as CSV and try once more.'));
    rd.readAsText(fl);
  });
  readBtn.addEventListener('click', readColumns);

  async function readColumns() {
    put(msg); put(out); text.clear();
    preview = null;
    const csv = text.input.value;
    columns = csvHeader(csv);
    if (!csv.trim() || !columns.length) { text.setError('Choose the export file, or paste its text, first.'); text.input.focus(); return; }
    // The remembered mapping (from the last import), where it fits this file.
    let remembered = memory.importMapping || null;
    if (!remembered) {
      try {
        const r = await api('POST', '/api/v1/appointments/import', { csv, commit: false }, { quiet: false });
        remembered = r.mapping || null;
      } catch (err) {
        if (err.handled) return;
        remembered = null; // nothing remembered yet, or it does not fit: guess
      }
    }
    if (!ctx.alive()) return;
    mapping = {};
    const taken = new Set();
    for (const k of Object.keys(importFieldInfo)) {
      const r = remembered && remembered[k];
      const hit = r && columns.find((c) => c.toLowerCase() === String(r).toLowerCase());
      if (hit) { mapping[k] = hit; taken.add(hit); }
    }
    for (const k of Object.keys(importFieldInfo)) {
      if (mapping[k]) continue;
      const g = guessColumn(k, columns, taken);
      if (g) { mapping[k] = g; taken.add(g); }
    }
    paintMapping();
    const first = mapBox.querySelector('h3');
    if (first) first.focus();
  }

  function paintMapping() {
    const selects = Object.entries(importFieldInfo).map(([k, [label, need]]) => {
      const id = `map-${k}`;
      const s = h('select', { id, name: k }, h('option', { value: '' }, need ? 'Choose a column' : '(not in the file)'),
        columns.map((col) => h('option', { value: col }, col)));
      s.value = mapping[k] || '';
      s.addEventListener('change', () => { mapping[k] = s.value; preview = null; put(out); });
      return h('div', { class: 'field' }, h('label', { for: id }, label, need ? h('span', { class: 'req' }, ' (needed)') : null), s);
    });
    const pv = h('button', { type: 'button', class: 'primary', id: 'import-preview' }, 'Preview');
    pv.addEventListener('click', () => send(false));
    put(mapBox, h('h3', { tabindex: '-1', id: 'import-map-title' }, 'Which column holds what'),
      h('p', { class: 'hint' }, `The file has ${plural(columns.length, 'column', 'columns')}. Hearth filled in what it recognised; check each one.`),
      h('div', { class: 'map-grid' }, selects), h('div', { class: 'actions' }, pv));
    mapBox.hidden = false;
  }

  let busy = false;
  async function send(commit) {
    if (busy) return;
    for (const [k, [label, need]] of Object.entries(importFieldInfo)) {
      if (need && !mapping[k]) {
        put(msg, h('p', { class: 'err', role: 'alert' }, `Choose the column that holds the ${label.toLowerCase()}.`));
        doc.getElementById(`map-${k}`).focus();
        return;
      }
    }
    busy = true;
    put(msg);
    const m = {};
    for (const [k, v] of Object.entries(mapping)) if (v) m[k] = v;
    try {
      const r = await api('POST', '/api/v1/appointments/import', { csv: text.input.value, mapping: m, commit });
      if (!ctx.alive()) return;
      if (commit) {
        memory.importMapping = m;
        const left = r.rows.filter((x) => x.status === 'unmatched').length;
        const ok = okMessage(`Imported ${plural(r.imported, 'appointment', 'appointments')}.${left ? ` ${plural(left, 'row', 'rows')} to resolve ${left === 1 ? 'was' : 'were'} left out: add or correct ${left === 1 ? 'that patient' : 'those patients'}, then import the file again (rows already imported are skipped).` : ''}`);
        ok.id = 'import-ok';
        preview = null;
        put(out, ok);
        ok.focus();
        onImported();
        return;
      }
      preview = r;
      paintPreview(r);
    } catch (err) {
      if (!ctx.alive() || err.handled) return;
      if (err.status === 422 && err.body && err.body.rows) {
        preview = err.body;
        paintPreview(err.body, true);
        return;
      }
      if (err.field === 'csv' || err.field === 'file') { text.setError(err.message); text.input.focus(); return; }
      const box = h('p', { class: 'err', role: 'alert', tabindex: '-1' }, err.message);
      put(msg, box);
      box.focus();
    } finally {
      busy = false;
    }
  }

  function paintPreview(r, refused) {
    const count = (s) => r.rows.filter((x) => x.status === s).length;
    const ok = count('ok');
    const bad = r.rows.filter((x) => x.status === 'error');
    const unmatched = r.rows.filter((x) => x.status === 'unmatched');
    const head = refused
      ? h('div', { class: 'alert-box', role: 'alert', id: 'import-refused', tabindex: '-1' },
        h('strong', null, 'Nothing was imported: '),
        `fix ${bad.map((x) => `line ${x.line} (${x.reason})`).join(', ')} in the file, then preview again.`)
      : h('p', { class: 'import-sum', id: 'import-summary', tabindex: '-1' },
        h('strong', null, `${plural(r.rows.length, 'row', 'rows')} read: `),
        [ok ? `${ok} ready` : '', unmatched.length ? `${unmatched.length} to resolve` : '', count('duplicate') ? `${count('duplicate')} already imported` : '',
          bad.length ? `${plural(bad.length, 'error', 'errors')}` : ''].filter(Boolean).join(' · ') || 'nothing to import');
    const resolve = unmatched.length ? h('div', { class: 'resolve', id: 'import-resolve' },
      h('h4', null, 'To resolve'),
      h('p', { class: 'hint' }, 'No single patient matches these rows by name and birth date. They are left out of the import: add or correct the patient, then import the file again.'),
      h('ul', null, unmatched.map((x) => h('li', null, h('strong', null, `Line ${x.line}: `), `“${x.name || 'no name'}” — ${x.reason}`)))) : null;
    const tbl = h('div', { class: 'table-wrap scroll', tabindex: '0', role: 'region', 'aria-label': 'Rows of the file' }, h('table', { class: 'data compact import-rows', id: 'import-table' },
      h('caption', { class: 'vh' }, 'Each row of the file and what will happen to it'),
      h('thead', null, h('tr', null, ['Line', 'Patient as written', 'When', 'Status', 'Why'].map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', null, r.rows.map((x) => h('tr', { class: `ir-${x.status}`, 'data-line': x.line },
        h('td', { class: 'num' }, String(x.line)),
        h('td', null, x.name || '—'),
        h('td', { class: 'nowrap' }, x.starts_at ? formatWhen(x.starts_at) : '—'),
        h('td', null, h('span', { class: `import-status is-${x.status}` }, importRowNames[x.status] || x.status)),
        h('td', null, x.reason || ''))))));
    let go = null;
    if (!refused && ok > 0 && bad.length === 0) {
      go = h('button', { type: 'button', class: 'primary', id: 'import-commit' }, `Import ${plural(ok, 'appointment', 'appointments')}`);
      go.addEventListener('click', () => send(true));
    }
    const note = !refused && bad.length ? h('p', { class: 'warn-banner', id: 'import-blocked' },
      'Nothing can be imported while a row has an error: fix the lines marked Error in the file, then preview again.') : null;
    put(out, head, note, resolve, tbl, go ? h('div', { class: 'actions' }, go) : null);
    head.focus();
  }

  return h('section', { class: 'card board-panel', id: 'board-import-panel', 'aria-labelledby': 'import-title' },
    h('h2', { id: 'import-title' }, 'Import from the practice system'),
    h('p', { class: 'hint', id: 'import-file-hint' }, 'Export the day\u2019s appointments as CSV. Patients are matched by name and birth date; nothing is guessed, and rows already imported are skipped.'),
    h('div', { class: 'field' }, h('label', { for: fileId }, 'Export file (CSV)'), file),
    text.wrap, h('div', { class: 'actions' }, readBtn), msg, mapBox, out);
}

// --- End-of-day sweep

const sweepReasons = { unanswered: 'No reply yet', unassigned: 'Nobody assigned', overdue: 'Overdue' };

function viewSweep(c, ctx) {
  const status = h('p', { class: 'status-line', role: 'status', id: 'sweep-status', tabindex: '-1' });
  const list = h('div', { id: 'sweep-list' }, h('p', { class: 'muted' }, 'Loading…'));
  add(c, viewHead('End of day'),
    h('p', { class: 'intro' }, 'Open requests in your queues that are still unanswered, unassigned or overdue. Give each one to someone before the office closes, so nothing waits overnight unseen.'),
    status, list);
  async function load(message) {
    let r;
    try {
      await Promise.all([ensureStaff(), ensureQueues()]);
      r = await api('GET', '/api/v1/sweep');
    } catch (err) {
      if (ctx.alive() && !err.handled) put(list, errorBox(err.message));
      return;
    }
    if (!ctx.alive()) return;
    const rows = r.items || [];
    rememberRows(rows.map((x) => x.item));
    status.textContent = message || (rows.length ? `${plural(rows.length, 'request needs', 'requests need')} attention.` : 'All clear: every open request has an owner and a reply.');
    if (!rows.length) { put(list, h('div', { class: 'empty' }, h('span', { class: 'empty-icon', 'aria-hidden': 'true' }, icon('check', 36)), h('p', null, h('strong', null, 'Nothing left behind.')))); return; }
    put(list, h('div', { class: 'table-wrap' }, h('table', { class: 'data sweep', id: 'sweep-table' },
      h('caption', { class: 'vh' }, 'Requests that need attention'),
      h('thead', null, h('tr', null, ['Patient', 'Request', 'Why', 'Due', 'Assign to'].map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', null, rows.map(({ item: it, reasons }) => {
        const d = dueWords(it);
        const menu = assignMenu(`sweep-${it.id}`, it.queue, it.assignee, false);
        menu.setAttribute('aria-label', `Assign ${it.subject || typeLabel(it.type)} to`);
        const go = h('button', { type: 'button', class: 'small' }, 'Assign', h('span', { class: 'vh' }, ` ${it.subject || ''}`));
        const err = h('span', { class: 'err-slot' });
        go.addEventListener('click', async () => {
          if (!menu.value) { put(err, h('span', { class: 'err', role: 'alert' }, 'Choose a person.')); menu.focus(); return; }
          try {
            await api('POST', `/api/v1/items/${encodeURIComponent(it.id)}/assign`, { staff_id: menu.value });
            await load(`Assigned to ${staffName(menu.value)}.`);
            status.focus();
          } catch (e) {
            if (!e.handled) put(err, h('span', { class: 'err', role: 'alert' }, e.message));
          }
        });
        return h('tr', { class: it.priority === 'urgent' ? 'urgent' : null },
          h('td', null, h('a', { href: `#/inbox/${encodeURIComponent(it.id)}` }, it.patient || 'Unknown'),
            it.unverified ? h('span', { class: 'sub' }, h('span', { class: 'badge warn' }, 'Unverified')) : null),
          h('td', null, h('div', { class: 'req-line' }, it.priority === 'urgent' ? urgentBadge() : null, typeBadge(it.type)), h('span', { class: 'subject' }, it.subject)),
          h('td', null, reasons.map((x) => h('span', { class: `badge reason r-${x}` }, sweepReasons[x] || x))),
          h('td', { class: 'nowrap' }, h('span', { class: d.cls }, d.text)),
          h('td', null, h('div', { class: 'row' }, menu, go), err));
      })))));
  }
  state.hooks.event = debounce((e) => { if (ctx.alive() && e.item_id) load(); }, 200);
  load();
  return null;
}

// --- Workload

function minutesWords(m) {
  if (!m) return '—';
  if (m < 1) return '< 1 min';
  if (m < 60) return `${Math.round(m)} min`;
  const hr = Math.floor(m / 60);
  const mm = Math.round(m - hr * 60);
  return mm ? `${hr} h ${mm} min` : `${hr} h`;
}

function viewWorkload(c, ctx) {
  const body = h('div', { id: 'workload', 'aria-busy': 'true' }, h('p', { class: 'muted' }, 'Loading…'));
  add(c, viewHead('Workload'),
    h('p', { class: 'intro' }, 'How much is open, where, and with whom: counted from the inbox as it is now.'), body);
  async function load() {
    let w;
    try {
      await ensureStaff().catch(() => {});
      w = await api('GET', '/api/v1/workload');
    } catch (err) {
      if (ctx.alive() && !err.handled) put(body, errorBox(err.message));
      return;
    }
    if (!ctx.alive()) return;
    rememberQueues((w.queues || []).map((q) => q.queue));
    const open = (w.queues || []).reduce((a, q) => a + q.open, 0);
    const overdue = (w.queues || []).reduce((a, q) => a + q.overdue, 0);
    const maxQ = Math.max(1, ...(w.queues || []).map((q) => q.open));
    const types = Object.entries(w.by_type || {}).sort((a, b) => b[1] - a[1]);
    const maxT = Math.max(1, ...types.map((t) => t[1]));
    const staff = w.by_staff || [];
    const maxS = Math.max(1, ...staff.map((s) => s.open), w.unassigned || 0);
    const tile = (label, value, note, cls) => h('div', { class: `tile ${cls || ''}` },
      h('p', { class: 'tile-label' }, label), h('p', { class: 'tile-value' }, value), note ? h('p', { class: 'tile-note' }, note) : null);
    const bar = (v, max) => h('meter', { min: 0, max, value: v, 'aria-hidden': 'true' });
    put(body,
      h('div', { class: 'tiles' },
        tile('Open now', String(open), overdue ? `${overdue} overdue` : 'none overdue', overdue ? 'warn' : ''),
        tile('New today', String(w.new_today || 0)),
        tile('Closed today', String(w.closed_today || 0), null, 'good'),
        tile('Nobody assigned', String(w.unassigned || 0), 'open requests', w.unassigned ? 'warn' : ''),
        tile('First reply, median', minutesWords(w.median_first_response && w.median_first_response.today_minutes),
          `today · ${minutesWords(w.median_first_response && w.median_first_response.week_minutes)} this week`)),
      h('div', { class: 'wl-grid' },
        h('section', { class: 'card', 'aria-labelledby': 'wl-queues' },
          h('h2', { id: 'wl-queues' }, 'By queue'),
          h('table', { class: 'data compact', id: 'wl-queue-table' },
            h('thead', null, h('tr', null, ['Queue', 'Open', 'New', 'Urgent', 'Overdue'].map((t, i) => h('th', { scope: 'col', class: i ? 'num' : null }, t)))),
            h('tbody', null, (w.queues || []).map((q) => h('tr', null,
              h('th', { scope: 'row' }, q.queue.name, bar(q.open, maxQ)),
              h('td', { class: 'num' }, String(q.open)), h('td', { class: 'num' }, String(q.new)),
              h('td', { class: `num ${q.urgent ? 'hot' : ''}` }, String(q.urgent)), h('td', { class: `num ${q.overdue ? 'hot' : ''}` }, String(q.overdue))))))),
        h('section', { class: 'card', 'aria-labelledby': 'wl-types' },
          h('h2', { id: 'wl-types' }, 'Open by type'),
          types.length ? h('table', { class: 'data compact', id: 'wl-type-table' },
            h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'Type'), h('th', { scope: 'col', class: 'num' }, 'Open'))),
            h('tbody', null, types.map(([t, n]) => h('tr', null, h('th', { scope: 'row' }, typeBadge(t), bar(n, maxT)), h('td', { class: 'num' }, String(n))))))
            : h('p', { class: 'muted' }, 'Nothing open.')),
        h('section', { class: 'card span2', 'aria-labelledby': 'wl-staff' },
          h('h2', { id: 'wl-staff' }, 'By person'),
          h('table', { class: 'data compact', id: 'wl-staff-table' },
            h('thead', null, h('tr', null, ['Person', 'Role', 'Open', 'Overdue'].map((t, i) => h('th', { scope: 'col', class: i > 1 ? 'num' : null }, t)))),
            h('tbody', null,
              staff.map((s) => h('tr', null,
                h('th', { scope: 'row' }, s.name || staffName(s.staff_id), bar(s.open, maxS)), h('td', null, roleName(s.role)),
                h('td', { class: 'num' }, String(s.open)), h('td', { class: `num ${s.overdue ? 'hot' : ''}` }, String(s.overdue)))),
              h('tr', { class: 'unassigned' }, h('th', { scope: 'row' }, h('em', null, 'Nobody yet'), bar(w.unassigned || 0, maxS)), h('td'),
                h('td', { class: 'num' }, String(w.unassigned || 0)), h('td', { class: 'num' }, '')))))));
    body.removeAttribute('aria-busy');
  }
  state.hooks.event = debounce(() => { if (ctx.alive()) load(); }, 500);
  load();
  return null;
}

// --- Patients

function viewPatients(c, ctx) {
  if (ctx.arg === 'new') return viewPatientNew(c, ctx);
  if (ctx.arg) return viewPatient(c, ctx, ctx.arg);

  const q = field('psearch', {
    name: 'q', label: 'Find a patient', type: 'search', value: memory.patientQuery || '',
    hint: 'First letters of a name (first or last), a birth date like 03/14/1961, or a phone number.',
    attrs: { spellcheck: 'false', autocapitalize: 'none' },
  });
  const status = h('p', { class: 'status-line', role: 'status', id: 'psearch-status', tabindex: '-1' });
  const results = h('div', { id: 'patient-results' });
  const form = h('form', { role: 'search', class: 'search', 'aria-label': 'Patients', novalidate: true,
    onsubmit: (e) => { e.preventDefault(); run(); } }, q.wrap);
  add(c, 
    viewHead('Patients', h('a', { class: 'button primary', href: '#/patients/new', id: 'patient-new' }, '+ New patient')),
    form, status, results);

  let seq = 0;
  const later = debounce(run, 300);
  q.input.addEventListener('input', later);

  async function run() {
    const text = q.input.value.trim();
    memory.patientQuery = text;
    const mine = ++seq;
    q.clear();
    if (text.length < 2) {
      put(results);
      status.textContent = text ? 'Type at least two characters.' : '';
      return;
    }
    try {
      const r = await api('GET', `/api/v1/patients?q=${encodeURIComponent(text)}`);
      if (mine !== seq || !ctx.alive()) return;
      const list = r.patients || [];
      status.textContent = list.length ? `${plural(list.length, 'patient', 'patients')} found.` : 'No patient matches. Check the spelling, or try the birth date or phone number.';
      put(results, list.length ? patientTable(list) : '');
    } catch (err) {
      if (mine !== seq || !ctx.alive() || err.handled) return;
      status.textContent = '';
      put(results);
      if (err.field === 'q') q.setError(err.message);
      else put(results, errorBox(err.message));
    }
  }
  if (memory.patientQuery) run();
  return q.input;
}

function patientTable(list) {
  return h('div', { class: 'table-wrap' }, h('table', { class: 'data', id: 'patient-table' },
    h('caption', { class: 'vh' }, 'Matching patients'),
    h('thead', null, h('tr', null, ['Name', 'Birth date', 'Age', 'Phone'].map((t) => h('th', { scope: 'col' }, t)))),
    h('tbody', null, list.map((p) => {
      const href = `#/patients/${encodeURIComponent(p.id)}`;
      // The whole row opens the record for a mouse; the name link is the
      // keyboard and screen-reader way.
      return h('tr', { class: 'go', onclick: (e) => { if (!e.target.closest('a')) location.hash = href; } },
        h('td', null, h('a', { href }, p.name)),
        h('td', { class: 'nowrap' }, formatDOB(p.dob)),
        h('td', null, String(p.age)),
        h('td', { class: 'nowrap' }, p.phone || '—'));
    }))));
}

function viewPatient(c, ctx, id) {
  const title = h('h1', { tabindex: '-1', id: 'patient-name' }, 'Patient');
  const body = h('div', { 'aria-busy': 'true' }, h('p', { class: 'muted' }, 'Loading…'));
  const extras = h('div', { id: 'patient-extras' });
  const flash = memory.flash;
  memory.flash = '';
  add(c, backLink('#/patients', 'Back to patients'),
    flash ? okMessage(flash) : null,
    h('section', { class: 'patient-banner', id: 'patient-banner', 'aria-labelledby': 'patient-name' }, title, body), extras);
  api('GET', `/api/v1/patients/${encodeURIComponent(id)}`).then((p) => {
    if (!ctx.alive()) return;
    title.textContent = p.name;
    const facts = h('dl', { class: 'facts' },
      fact('Born', `${formatDOB(p.dob)}`),
      fact('Age', String(p.age)),
      fact('Phone', p.phone || 'Not given'),
      fact('Email', p.email || 'Not given'),
      fact('Language', langNames[p.lang] || p.lang || 'English'));
    const n = p.same_name || 0;
    put(body,
      n > 0 ? h('div', { class: 'warn-banner', role: 'alert', id: 'same-name' },
        h('span', { class: 'icon', 'aria-hidden': 'true' }, '⚠'),
        h('span', null, n === 1
          ? 'Another patient has the same name — check the birth date.'
          : `${n} other patients have the same name — check the birth date.`)) : null,
      facts);
    body.removeAttribute('aria-busy');
    put(extras, patientExtras(ctx, p));
  }).catch((err) => {
    if (!ctx.alive() || err.handled) return;
    title.textContent = err.code === 'not_found' ? 'Patient not found' : 'Patient';
    put(body, errorBox(err.code === 'not_found' ? 'There is no patient record at this address.' : err.message));
    body.removeAttribute('aria-busy');
  });
  return flash ? c.querySelector('.ok-msg') : title;
}

// patientExtras: the patient's requests, portal access (invite letters and
// caregivers), signed-in devices, and who looked at the record.
const accessWords = {
  'patient.read': 'Opened the record', 'patient.create': 'Created the record', 'patient.search_result': 'Found it in a search',
  'patient.items': 'Listed the requests', 'item.read': 'Read a request', 'item.list': 'Saw the name in the inbox',
  'item.message': 'Wrote in a request', 'item.assign': 'Assigned a request', 'item.status': 'Changed a request\u2019s status',
  'item.create': 'Filed a request', 'item.export': 'Copied a request for the chart', 'item.call_attempt': 'Logged a call attempt',
  'item.link': 'Linked a request to the record', 'contact.link': 'Linked an unverified contact', 'invite.create': 'Made a sign-in invitation',
  'device.revoke': 'Signed out a device', 'device.add': 'Signed in a new device', 'breakglass.open': 'Opened it outside their queues (with a reason)',
  'item.feedback': 'Answered whether it helped',
};

function patientExtras(ctx, p) {
  const pid = encodeURIComponent(p.id);
  const items = h('section', { class: 'card', 'aria-labelledby': 'pi-title', id: 'patient-items' },
    h('h2', { id: 'pi-title' }, 'Requests'), h('p', { class: 'muted' }, 'Loading…'));
  const access = h('section', { class: 'card', 'aria-labelledby': 'pa-title', id: 'patient-access' });
  const devices = h('section', { class: 'card', 'aria-labelledby': 'pd-title', id: 'patient-devices' });
  const report = h('section', { class: 'card', 'aria-labelledby': 'pr-title', id: 'patient-report' });
  const letterWrap = h('div', { class: 'letter-wrap', id: 'letter-wrap', hidden: true });

  api('GET', `/api/v1/patients/${pid}/items`).then((r) => {
    if (!ctx.alive()) return;
    const rows = r.items || [];
    rememberRows(rows);
    put(items, h('h2', { id: 'pi-title' }, 'Requests'),
      rows.length ? h('div', { class: 'table-wrap flat' }, h('table', { class: 'data', id: 'patient-items-table' },
        h('thead', null, h('tr', null, ['Received', 'Request', 'Status', 'Due'].map((t) => h('th', { scope: 'col' }, t)))),
        h('tbody', null, rows.map((it) => {
          const d = dueWords(it);
          return h('tr', null,
            h('td', { class: 'nowrap' }, h('time', { datetime: it.created_at, title: formatTime(it.created_at) }, formatWhen(it.created_at))),
            h('td', null, h('div', { class: 'req-line' }, it.priority === 'urgent' ? urgentBadge() : null, typeBadge(it.type)),
              h('a', { href: `#/inbox/${encodeURIComponent(it.id)}` }, it.subject || `In ${queueName(it.queue)} (a queue you do not work)`)),
            h('td', null, h('span', { class: `status s-${it.status}` }, statusName(it.status))),
            h('td', { class: 'nowrap' }, h('span', { class: d.cls }, d.text)));
        }))))
        : h('p', { class: 'muted' }, 'No requests yet.'));
  }).catch((err) => { if (ctx.alive() && !err.handled) put(items, h('h2', { id: 'pi-title' }, 'Requests'), errorBox(err.message)); });

  // Invitations.
  const accessMsg = h('div', { id: 'invite-msg' });
  const printBtn = h('button', { type: 'button', class: 'primary', id: 'invite-print' }, 'Print invite letter');
  const cgToggle = h('button', { type: 'button', id: 'invite-caregiver', 'aria-expanded': 'false', 'aria-controls': 'caregiver-form' }, 'Invite a caregiver');
  const cgForm = makeForm('caregiver', [
    { name: 'caregiver', label: 'Caregiver\u2019s name', hint: `Someone ${p.name.split(' ')[0]} allows to write and read on their behalf, like a parent or an adult child.`, attrs: { maxlength: 120 } },
  ], {
    submit: 'Make the caregiver letter', label: 'Invite a caregiver',
    async onSubmit(v) {
      if (!v.caregiver.trim()) throw fieldError('caregiver', 'Write the caregiver\u2019s name.');
      await invite(v.caregiver.trim());
    },
  });
  const cgBox = h('div', { id: 'caregiver-form', hidden: true, class: 'sub-card' }, cgForm.el);
  cgToggle.addEventListener('click', () => {
    const show = cgBox.hidden;
    cgBox.hidden = !show;
    cgToggle.setAttribute('aria-expanded', String(show));
    if (show) cgForm.fields.caregiver.input.focus();
  });
  printBtn.addEventListener('click', () => invite('').catch((err) => { if (!err.handled) put(accessMsg, errorBox(err.message)); }));
  add(access, h('h2', { id: 'pa-title' }, 'Patient portal'),
    h('p', { class: 'muted' }, 'A letter with a code lets the patient (or a caregiver) sign in from their own phone or computer. Each letter has its own code, which works once and expires.'),
    accessMsg, h('div', { class: 'actions' }, printBtn, cgToggle), cgBox);

  async function invite(caregiver) {
    const r = await api('POST', `/api/v1/patients/${pid}/invites`, caregiver ? { caregiver } : {});
    if (!ctx.alive()) return;
    cgBox.hidden = true;
    cgToggle.setAttribute('aria-expanded', 'false');
    cgForm.el.reset();
    showLetter(r, caregiver);
    loadDevices();
  }

  function showLetter(r, caregiver) {
    const code = (r.code || '').replace(/(.{4})(?=.)/g, '$1-');
    const until = longDate.format(new Date(r.expires_at));
    const qr = typeof r.qr === 'string' && r.qr.startsWith('data:image/png;base64,') ? r.qr : '';
    const first = p.name.split(' ')[0];
    const title = h('h2', { id: 'letter-title', tabindex: '-1' }, caregiver ? 'Caregiver letter ready' : 'Invite letter ready');
    const printIt = h('button', { type: 'button', class: 'primary', id: 'letter-print' }, 'Print');
    printIt.addEventListener('click', () => {
      doc.body.classList.add('print-letter');
      window.print();
    });
    const closeIt = h('button', { type: 'button', id: 'letter-close' }, 'Done');
    closeIt.addEventListener('click', () => { letterWrap.hidden = true; put(letterWrap); printBtn.focus(); });
    put(letterWrap,
      h('div', { class: 'letter-bar noprint' }, title,
        h('p', { class: 'muted' }, `Print it and hand it over in person. The code expires ${until}.`),
        h('div', { class: 'actions' }, printIt, closeIt)),
      h('article', { class: 'letter', id: 'letter', 'aria-label': 'Invite letter' },
        h('header', { class: 'letter-head' }, h('span', { class: 'logo', 'aria-hidden': 'true' }, 'H'), h('span', null, state.clinic)),
        h('p', { class: 'letter-to' }, caregiver ? `For ${caregiver}, caregiver of ${p.name}` : `For ${p.name}`),
        h('h3', { class: 'letter-title' }, caregiver ? `Write to ${state.clinic} on ${first}\u2019s behalf` : `Write to ${state.clinic} from your phone`),
        h('p', null, caregiver
          ? `${p.name} asked us to let you send messages, refill and appointment requests for them, and read our replies.`
          : 'Send us a message, ask for a refill, an appointment or a call back, and read our replies, any time.'),
        h('div', { class: 'letter-grid' },
          qr ? h('img', { class: 'letter-qr', src: qr, alt: 'QR code of the sign-in link', width: 220, height: 220 }) : null,
          h('ol', { class: 'letter-steps' },
            h('li', null, qr ? 'Point your phone\u2019s camera at the square code, or type this address:' : 'Type this address into your phone or computer:',
              h('span', { class: 'letter-url' }, r.url)),
            h('li', null, 'If asked for a code, type:', h('span', { class: 'letter-code', id: 'letter-code' }, code)),
            h('li', null, caregiver ? `Enter ${first}\u2019s birth date to confirm.` : 'Enter your birth date to confirm it is you.'))),
        h('p', { class: 'letter-small' }, `The code works once and expires ${until}. Keep this letter private: it opens ${caregiver ? `${first}\u2019s` : 'your'} messages.`),
        h('p', { class: 'letter-small' }, 'Messages are read during office hours. In an emergency, do not write: call your emergency number.')));
    letterWrap.hidden = false;
    title.focus();
  }
  window.addEventListener('afterprint', () => doc.body.classList.remove('print-letter'));

  // Devices.
  function loadDevices(message) {
    api('GET', `/api/v1/patients/${pid}/devices`).then((r) => {
      if (!ctx.alive()) return;
      const ds = r.devices || [];
      const m = message ? okMessage(message) : null;
      put(devices, h('h2', { id: 'pd-title' }, 'Signed-in devices'), m,
        ds.length ? h('ul', { class: 'plain devices', id: 'device-list' }, ds.map((d) => h('li', null,
          h('span', null, h('strong', null, d.label || 'A device'),
            h('span', { class: 'sub' }, d.caregiver ? `Caregiver: ${d.caregiver} · ` : '', d.shared ? 'Shared computer · ' : '',
              'since ', h('time', { datetime: d.created }, formatTime(d.created)))),
          h('button', { type: 'button', class: 'small danger', onclick: async () => {
            if (!window.confirm(`Sign out ${d.label || 'this device'}? ${d.caregiver ? `${d.caregiver} will need a new letter to sign in again.` : 'It will need a new letter to sign in again.'}`)) return;
            try {
              await api('DELETE', `/api/v1/devices/${encodeURIComponent(d.id)}`);
              loadDevices('Device signed out.');
            } catch (err) { if (!err.handled) put(devices, errorBox(err.message)); }
          } }, 'Sign out', h('span', { class: 'vh' }, ` ${d.label || 'device'}`)))))
          : h('p', { class: 'muted' }, 'No device is signed in to the portal.'));
      if (m) m.focus();
    }).catch((err) => { if (ctx.alive() && !err.handled) put(devices, h('h2', { id: 'pd-title' }, 'Signed-in devices'), errorBox(err.message)); });
  }
  loadDevices();

  // Access report.
  api('GET', `/api/v1/patients/${pid}/access`).then((r) => {
    if (!ctx.alive()) return;
    const evs = (r.events || []).slice().reverse();
    put(report, h('h2', { id: 'pr-title' }, 'Who looked at this record'),
      h('p', { class: 'muted' }, `Every time staff opened or changed it, newest first. ${p.name.split(' ')[0]} can see this list too.`),
      evs.length ? h('div', { class: 'table-wrap flat scroll', tabindex: '0', role: 'region', 'aria-label': 'Access report, scrollable' }, h('table', { class: 'data compact', id: 'access-table' },
        h('thead', null, h('tr', null, ['When', 'Who', 'What'].map((t) => h('th', { scope: 'col' }, t)))),
        h('tbody', null, evs.map((e) => h('tr', null,
          h('td', { class: 'nowrap' }, h('time', { datetime: e.at, title: formatTime(e.at) }, formatWhen(e.at))),
          h('td', null, e.actor_name, e.actor_role ? h('span', { class: 'sub' }, roleName(e.actor_role)) : null),
          h('td', null, accessWords[e.action] || e.action))))))
        : h('p', { class: 'muted' }, 'Nobody yet.'));
  }).catch((err) => { if (ctx.alive() && !err.handled) put(report, h('h2', { id: 'pr-title' }, 'Who looked at this record'), errorBox(err.message)); });

  return [letterWrap, h('div', { class: 'patient-grid' }, items, access, devices, report)];
}

function fact(label, value) {
  return h('div', null, h('dt', null, label), h('dd', null, value));
}

function viewPatientNew(c, ctx) {
  const f = makeForm('patientnew', [
    { name: 'name', label: 'Full name', attrs: { maxlength: 120, spellcheck: 'false' } },
    { name: 'dob', label: 'Birth date', hint: 'Month/day/year, like 03/14/1961.', attrs: { maxlength: 10 } },
    { name: 'phone', label: 'Phone (optional)', type: 'tel', hint: 'With the area code, like 555-201-3344.' },
    { name: 'email', label: 'Email (optional)', type: 'email', attrs: { spellcheck: 'false', autocapitalize: 'none' } },
    { name: 'lang', label: 'Language for messages', type: 'select', options: Object.entries(langNames), value: 'en' },
  ], {
    submit: 'Create patient', label: 'New patient',
    secondary: h('a', { class: 'button', href: '#/patients' }, 'Cancel'),
    async onSubmit(v) {
      const r = await api('POST', '/api/v1/patients', { name: v.name, dob: v.dob, phone: v.phone, email: v.email, lang: v.lang });
      if (!ctx.alive()) return;
      memory.flash = 'Patient record created.';
      location.hash = `#/patients/${encodeURIComponent(r.id)}`;
    },
  });
  add(c, backLink('#/patients', 'Back to patients'), viewHead('New patient'), h('div', { class: 'card wide' }, f.el));
  return f.fields.name.input;
}

// --- Staff (owner)

function viewStaff(c, ctx) {
  const addBtn = h('button', { type: 'button', class: 'primary', id: 'staff-add-toggle', 'aria-expanded': 'false', 'aria-controls': 'staff-add' }, '+ Add staff member');
  const addPanel = h('section', { class: 'card wide', id: 'staff-add', hidden: true, 'aria-labelledby': 'staff-add-title' });
  const status = h('div', { id: 'staff-status' });
  const list = h('div', { id: 'staff-list' }, h('p', { class: 'muted' }, 'Loading…'));
  let open = ''; // the id whose Manage panel is open
  add(c, viewHead('Staff', addBtn),
    h('p', { class: 'intro' }, 'Everyone who can sign in to this console. The role decides what each person can see and do.'),
    status, addPanel, list);
  addBtn.addEventListener('click', () => toggleAdd(addPanel.hidden));

  function toggleAdd(show) {
    addPanel.hidden = !show;
    addBtn.setAttribute('aria-expanded', String(show));
    if (!show) { put(addPanel); addBtn.focus(); return; }
    const f = makeForm('staffnew', [
      { name: 'name', label: 'Full name', attrs: { maxlength: 100 } },
      { name: 'email', label: 'Email (they sign in with it)', type: 'email', attrs: { spellcheck: 'false', autocapitalize: 'none' } },
      { name: 'role', label: 'Role', type: 'select', options: roleOptions, value: 'frontdesk',
        hint: 'Front desk: patients and scheduling. Clinician: also clinical items. Owner: everything, including staff, settings and the audit log.' },
      { name: 'password', label: 'First password', type: 'text', autocomplete: 'off',
        hint: 'At least 10 characters. Give it to them in person; they can change it under My account.',
        attrs: { spellcheck: 'false', autocapitalize: 'none' } },
    ], {
      submit: 'Add staff member', label: 'Add a staff member',
      secondary: h('button', { type: 'button', onclick: () => toggleAdd(false) }, 'Cancel'),
      async onSubmit(v) {
        const st = await api('POST', '/api/v1/staff', v);
        if (!ctx.alive()) return;
        toggleAdd(false);
        const m = okMessage(`${st.name} was added as ${roleName(st.role)} and can sign in now.`);
        put(status, m);
        await load();
        m.focus();
      },
    });
    put(addPanel, h('h2', { id: 'staff-add-title' }, 'Add a staff member'), f.el);
    f.fields.name.input.focus();
  }

  async function load(message) {
    let r;
    try {
      r = await api('GET', '/api/v1/staff');
    } catch (err) {
      if (ctx.alive() && !err.handled) put(list, errorBox(err.message));
      return;
    }
    if (!ctx.alive()) return;
    const rows = [];
    let focusMsg = null;
    for (const st of r.staff || []) {
      const panelId = `manage-${st.id}`;
      const isOpen = st.id === open;
      const btn = h('button', { type: 'button', class: 'small', id: `manage-btn-${st.id}`, 'aria-expanded': String(isOpen), 'aria-controls': panelId }, 'Manage',
        h('span', { class: 'vh' }, ` ${st.name}`));
      const badges = [];
      if (st.disabled) badges.push(h('span', { class: 'badge bad' }, 'Disabled'));
      else badges.push(h('span', { class: 'badge on' }, 'Active'));
      if (st.must_change_password) badges.push(' ', h('span', { class: 'badge warn' }, 'Must change password'));
      rows.push(h('tr', { id: `staff-${st.id}` },
        h('td', null, h('strong', null, st.name), st.email ? h('span', { class: 'sub' }, st.email) : null),
        h('td', null, roleName(st.role)),
        h('td', null, st.totp_enabled ? h('span', { class: 'badge on' }, 'On') : h('span', { class: 'badge' }, 'Off')),
        h('td', null, badges),
        h('td', null, btn)));
      const panelRow = h('tr', { class: 'manage-row', hidden: !isOpen },
        h('td', { colspan: 5, id: panelId }, isOpen ? managePanel(st, isOpen && message) : null));
      btn.addEventListener('click', () => {
        const show = panelRow.hidden;
        panelRow.hidden = !show;
        btn.setAttribute('aria-expanded', String(show));
        open = show ? st.id : (open === st.id ? '' : open);
        const td = panelRow.firstChild;
        if (show && !td.firstChild) add(td, managePanel(st, ''));
      });
      rows.push(panelRow);
      if (isOpen && message) focusMsg = panelRow.querySelector('.ok-msg');
    }
    put(list, h('div', { class: 'table-wrap' }, h('table', { class: 'data', id: 'staff-table' },
      h('caption', { class: 'vh' }, 'Staff accounts'),
      h('thead', null, h('tr', null, ['Name', 'Role', 'Two-step sign-in', 'Status', ''].map((t, i) =>
        h('th', { scope: 'col' }, t || h('span', { class: 'vh' }, i === 4 ? 'Actions' : ''))))),
      h('tbody', null, rows))));
    if (focusMsg) focusMsg.focus();
  }

  // managePanel holds one person's actions. After each, the list reloads
  // with this panel open and its message focused (so it is heard).
  function managePanel(st, message) {
    const p = `m-${st.id}`;
    const done = async (text) => { open = st.id; await load(text); };
    const roleForm = makeForm(`${p}-role`, [
      { name: 'role', label: `Role of ${st.name}`, type: 'select', options: roleOptions, value: st.role },
    ], {
      submit: 'Change role', submitClass: 'small', label: 'Change role',
      async onSubmit(v) {
        if (v.role === st.role) throw fieldError('role', `${st.name} already has this role.`);
        await api('PATCH', `/api/v1/staff/${encodeURIComponent(st.id)}`, { role: v.role });
        await done(`${st.name} is now ${roleName(v.role)}. They were signed out and see the new role at their next sign-in.`);
      },
    });
    const resetForm = makeForm(`${p}-reset`, [
      { name: 'password', label: 'Temporary password', type: 'text', autocomplete: 'off',
        hint: 'At least 10 characters. Tell it to them in person.', attrs: { spellcheck: 'false', autocapitalize: 'none' } },
    ], {
      submit: 'Set temporary password', submitClass: 'small', label: 'Reset password',
      async onSubmit(v) {
        if (!v.password) throw fieldError('password', 'Type a temporary password for them.');
        await api('POST', `/api/v1/staff/${encodeURIComponent(st.id)}/reset-password`, { password: v.password });
        await done(`Temporary password set. ${st.name} was signed out and must choose a new password at their next sign-in.`);
      },
    });
    const accessMsg = h('div', { class: 'form-msg' });
    const toggleDisabled = async () => {
      const disable = !st.disabled;
      if (disable && !window.confirm(`Disable ${st.name}'s account? They are signed out at once and cannot sign in until it is enabled again.`)) return;
      try {
        await api('PATCH', `/api/v1/staff/${encodeURIComponent(st.id)}`, { disabled: disable });
        await done(disable ? `${st.name}'s account is disabled.` : `${st.name}'s account is enabled again.`);
      } catch (err) {
        if (!err.handled) put(accessMsg, h('p', { class: 'err', role: 'alert' }, err.message));
      }
    };
    const totpMsg = h('div', { class: 'form-msg' });
    const totpOff = async () => {
      if (!window.confirm(`Turn off two-step sign-in for ${st.name}? They sign in with their password alone until they turn it on again.`)) return;
      try {
        await api('DELETE', `/api/v1/staff/${encodeURIComponent(st.id)}/totp`);
        await done(`Two-step sign-in is off for ${st.name}.`);
      } catch (err) {
        if (!err.handled) put(totpMsg, h('p', { class: 'err', role: 'alert' }, err.message));
      }
    };
    return h('div', null,
      message ? okMessage(message) : null,
      h('div', { class: 'manage' },
        h('section', { 'aria-label': 'Role' }, h('h3', null, 'Role'),
          h('p', { class: 'muted' }, 'Changing the role signs them out.'), roleForm.el),
        h('section', { 'aria-label': 'Password' }, h('h3', null, 'Reset password'),
          h('p', { class: 'muted' }, 'For a forgotten password. They must choose their own at the next sign-in.'), resetForm.el),
        h('section', { 'aria-label': 'Account' }, h('h3', null, 'Account'),
          h('p', null, st.disabled ? 'Disabled: cannot sign in.' : 'Active: can sign in.'), accessMsg,
          h('button', { type: 'button', class: st.disabled ? 'small' : 'small danger', onclick: toggleDisabled },
            st.disabled ? 'Enable account' : 'Disable account')),
        h('section', { 'aria-label': 'Two-step sign-in' }, h('h3', null, 'Two-step sign-in'),
          h('p', null, st.totp_enabled ? 'On. Turn it off only for someone who lost their phone and recovery codes.' : 'Off. They can turn it on under My account.'),
          totpMsg,
          st.totp_enabled ? h('button', { type: 'button', class: 'small danger', onclick: totpOff }, 'Turn off two-step sign-in') : null)));
  }

  load();
  return null;
}

// --- Audit log (owner)

const auditActions = ['item.read', 'item.list', 'item.message', 'item.assign', 'item.status', 'item.export', 'contact.link',
  'patient.items', 'invite.create', 'breakglass.open', 'device.revoke', 'vault.unlock', 'vault.passphrase_on', 'vault.passphrase_off', 'staff.signin', 'staff.signin_totp', 'staff.signout', 'staff.switch_out', 'session.lock', 'session.unlock',
  'patients.search', 'patient.search_result', 'patient.read', 'patient.create', 'staff.create', 'staff.change',
  'staff.password_change', 'staff.password_reset', 'staff.pin_change', 'staff.totp_on', 'staff.totp_off',
  'settings.change', 'audit.export', 'backup.write', 'backup.scheduled'];

function viewAudit(c, ctx) {
  const PAGE = 100;
  let filters = {};
  let oldestSeq = 0;
  let shown = 0;
  const exportLink = h('a', { class: 'button', id: 'audit-export', download: 'hearth-audit.csv', href: csvURL() }, 'Export CSV');
  const clearBtn = h('button', { type: 'button' }, 'Clear filters');
  const f = makeForm('audit', [
    { name: 'actor', label: 'Staff member', type: 'select', options: [['', 'Everyone']] },
    { name: 'action', label: 'Action', hint: 'Exact name, like patient.read', attrs: { list: 'audit-actions', spellcheck: 'false', autocapitalize: 'none' } },
    { name: 'patient', label: 'Patient ID', hint: 'From a row below', attrs: { spellcheck: 'false', autocapitalize: 'none' } },
    { name: 'from', label: 'From', type: 'date', hint: 'First day' },
    { name: 'to', label: 'To', type: 'date', hint: 'Last day' },
    { node: h('datalist', { id: 'audit-actions' }, auditActions.map((a) => h('option', { value: a }))) },
  ], {
    submit: 'Show events', label: 'Filter audit events', class: 'grid-form',
    secondary: [clearBtn, exportLink],
    async onSubmit(v) {
      const next = {};
      for (const k of ['actor', 'action', 'patient', 'from', 'to']) if (v[k].trim()) next[k] = v[k].trim();
      filters = next;
      exportLink.setAttribute('href', csvURL());
      await load(true);
    },
  });
  clearBtn.addEventListener('click', () => {
    for (const fl of Object.values(f.fields)) fl.input.value = '';
    f.el.requestSubmit();
  });
  const tbody = h('tbody');
  const table = h('div', { class: 'table-wrap' }, h('table', { class: 'data', id: 'audit-table' },
    h('caption', { class: 'vh' }, 'Audit events, newest first'),
    h('thead', null, h('tr', null, ['Time', 'Who', 'Action', 'Object', 'Patient', 'From', 'Outcome'].map((t) => h('th', { scope: 'col' }, t)))),
    tbody));
  const status = h('p', { class: 'status-line', role: 'status', id: 'audit-status', tabindex: '-1' });
  const more = h('button', { type: 'button', id: 'audit-more', hidden: true }, 'Load older');
  more.addEventListener('click', () => load(false).catch(() => {}));
  add(c, viewHead('Audit log'),
    h('p', { class: 'intro' }, 'Every sign-in, every look at or change to a patient record, and every change to staff and settings, newest first. Rows in red failed, were refused or were throttled.'),
    h('div', { class: 'card' }, f.el), status, table, h('div', { class: 'more' }, more));

  api('GET', '/api/v1/staff').then((r) => {
    if (!ctx.alive()) return;
    const sel = f.fields.actor.input;
    for (const st of r.staff || []) add(sel, h('option', { value: `staff:${st.id}` }, `${st.name} (${roleName(st.role)})`));
  }).catch(() => {});

  function csvURL() {
    const p = new URLSearchParams(filters);
    p.set('format', 'csv');
    return `/api/v1/audit?${p}`;
  }

  async function load(reset) {
    const p = new URLSearchParams(filters);
    p.set('limit', String(PAGE));
    p.set('order', 'desc');
    if (!reset && oldestSeq) p.set('before', String(oldestSeq));
    let r;
    try {
      r = await api('GET', `/api/v1/audit?${p}`);
    } catch (err) {
      if (!ctx.alive() || err.handled) return;
      if (err.field && f.fields[err.field]) throw err;
      put(status, h('span', { class: 'err', role: 'alert' }, err.message));
      return;
    }
    if (!ctx.alive()) return;
    if (reset) { put(tbody); shown = 0; oldestSeq = 0; }
    const evs = r.events || [];
    for (const e of evs) add(tbody, auditRow(e));
    shown += evs.length;
    if (evs.length) oldestSeq = evs[evs.length - 1].seq;
    const end = evs.length < PAGE;
    const hadFocus = doc.activeElement === more;
    more.hidden = end;
    status.textContent = shown === 0 ? 'No events match these filters.'
      : `${plural(shown, 'event', 'events')} shown, newest first${end ? ', back to the start of the log.' : '.'}`;
    if (hadFocus && end) status.focus();
  }

  function auditRow(e) {
    const bad = ['failed', 'denied', 'throttled'].includes(e.outcome);
    const high = e.severity === 'high';
    return h('tr', { class: bad || high ? 'flag' : null },
      h('td', { class: 'nowrap' }, h('time', { datetime: e.at }, formatTime(e.at))),
      h('td', null, e.actor_name || e.actor, e.actor_role ? h('span', { class: 'sub' }, roleName(e.actor_role)) : null),
      h('td', { class: 'mono nowrap' }, e.action, accessWords[e.action] ? h('span', { class: 'sub' }, accessWords[e.action]) : null),
      h('td', { class: 'mono nowrap' }, shortObject(e.object)),
      h('td', { class: 'mono nowrap' }, e.patient ? h('button', {
        type: 'button', class: 'link mono', 'aria-label': `${e.patient}: show only this patient's events`,
        onclick: () => { f.fields.patient.input.value = e.patient; f.el.requestSubmit(); },
      }, `${e.patient.slice(0, 8)}…`) : ''),
      h('td', { class: 'mono nowrap' }, e.client || ''),
      h('td', null,
        bad ? h('span', { class: 'badge bad' }, e.outcome[0].toUpperCase() + e.outcome.slice(1))
          : h('span', { class: 'badge' }, e.outcome || 'OK'),
        high ? [' ', h('span', { class: 'badge high' }, 'High severity')] : null));
  }

  load(true).catch((err) => f.error(err));
  return null;
}

// shortObject shows "patient:8685726f-cb52-…" as "patient:8685726f…", with
// the whole value as a tooltip (the CSV export has it in full).
function shortObject(obj) {
  const m = /^([a-z_]+):([0-9a-f]{8})-[0-9a-f-]{27}$/.exec(obj || '');
  if (!m) return obj || '';
  return h('span', { title: obj }, `${m[1]}:${m[2]}…`);
}

// --- Settings (owner)

function viewSettings(c, ctx) {
  const holder = h('div', null, h('p', { class: 'muted' }, 'Loading…'));
  const toc = h('nav', { class: 'toc', 'aria-label': 'Settings sections' }, h('ul', null,
    [['set-clinic', 'Clinic'], ['set-email', 'Email'], ['set-hours', 'Office hours'], ['set-targets', 'Reply targets'], ['set-queues', 'Queues'],
      ['set-templates', 'Templates'], ['set-words', 'Urgent words'], ['set-passphrase', 'Passphrase']].map(([id, t]) => h('li', null,
      h('a', { href: `#/settings`, onclick: (e) => { e.preventDefault(); const el = doc.getElementById(`${id}-title`) || doc.getElementById(id); if (el) { el.scrollIntoView(); el.focus(); } } }, t)))));
  add(c, viewHead('Settings'), toc, holder);
  Promise.all([
    api('GET', '/api/v1/settings'),
    api('GET', '/api/v1/backup/status').catch((err) => ({ failed: err })),
    api('GET', '/api/v1/templates').catch(() => ({ templates: [] })),
    api('GET', '/api/v1/workload').catch(() => ({ queues: [] })),
  ]).then(([s, b, tp, wl]) => {
    if (!ctx.alive()) return;
    put(holder, h('div', { class: 'settings-stack' },
      h('div', { id: 'set-clinic' }, settingsForm(s, b, ctx)),
      emailCard(s), hoursCard(s), targetsCard(s), queuesCard(s, (wl.queues || []).map((q) => q.queue)),
      templatesCard(s, tp.templates), wordsCard(s), passphraseCard()));
  }).catch((err) => {
    if (ctx.alive() && !err.handled) put(holder, errorBox(err.message));
  });
  return null;
}

function backupStatus(b) {
  const box = h('div', { id: 'backup-status' });
  if (b.failed) {
    if (!b.failed.handled) add(box, errorBox(`The backup status could not be read: ${b.failed.message}`));
    return box;
  }
  if (b.last_error) {
    add(box, h('div', { class: 'alert-box', role: 'alert' }, h('strong', null, 'The last backup failed. '), b.last_error));
  }
  add(box, h('p', null, 'Last good backup: ',
    b.last_ok ? h('strong', null, h('time', { datetime: b.last_ok }, formatTime(b.last_ok))) : h('strong', null, 'none yet')));
  return box;
}

function settingsForm(s, b, ctx) {
  const zones = typeof Intl.supportedValuesOf === 'function' ? Intl.supportedValuesOf('timeZone') : [];
  const hours = Array.from({ length: 24 }, (_, i) => [String(i), hourLabel(i)]);
  const f = makeForm('settings', [
    { group: 'Clinic', items: [
      { name: 'clinic_name', label: 'Clinic name, as patients know it', value: s.clinic_name, attrs: { maxlength: 120 } },
      { name: 'phone', label: 'Clinic phone', type: 'tel', value: s.phone },
      { name: 'emergency_number', label: 'Emergency number shown to patients', type: 'tel', value: s.emergency_number, hint: 'For example 911.' },
      { name: 'time_zone', label: 'Time zone', value: s.time_zone, hint: 'Like America/Chicago. Office hours, due times and the nightly backup use it.',
        attrs: { list: 'tz-list', spellcheck: 'false' } },
      { node: h('datalist', { id: 'tz-list' }, zones.map((z) => h('option', { value: z }))) },
      { name: 'public_url', label: 'Address patients use', type: 'url', value: s.public_url,
        hint: 'The link in invitations, like https://portal.mapleclinic.example. Leave empty if patients use the office network only.',
        attrs: { spellcheck: 'false', autocapitalize: 'none' } },
      { name: 'host_names', label: 'Other names for this computer', type: 'textarea', value: (s.host_names || []).join('\n'),
        hint: 'Names staff type to reach Hearth, one per line (for example hearth.local). The computer\u2019s own names always work.',
        attrs: { spellcheck: 'false', autocapitalize: 'none' } },
    ] },
    { group: 'Sign-in and screen lock', items: [
      { name: 'idle_lock_minutes', label: 'Lock idle screens after (minutes)', type: 'number', value: String(s.idle_lock_minutes),
        hint: 'Between 1 and 240. Staff unlock with their PIN or password.', attrs: { min: 1, max: 240, step: 1, inputmode: 'numeric' } },
      { name: 'require_totp', label: 'Require two-step sign-in for everyone', type: 'checkbox', value: s.require_totp,
        hint: 'Staff without it must turn it on at their next sign-in (you too, right away, if yours is off).' },
    ] },
    { group: 'Nightly backups', intro: 'Backups are sealed to the recovery key: only the emergency kit can open them.', items: [
      { node: backupStatus(b) },
      { name: 'backup_dir', label: 'Backup folder', value: s.backup_dir,
        hint: 'A folder on another disk or a network share, like /mnt/backup/hearth or D:\\HearthBackups.', attrs: { spellcheck: 'false' } },
      { name: 'backup_keep', label: 'Backups to keep', type: 'number', value: String(s.backup_keep), hint: 'Between 1 and 365.',
        attrs: { min: 1, max: 365, step: 1, inputmode: 'numeric' } },
      { name: 'backup_hour', label: 'Time of the nightly backup', type: 'select', options: hours, value: String(s.backup_hour) },
    ] },
  ], {
    submit: 'Save settings', label: 'Settings',
    async onSubmit(v) {
      const num = (x) => (x.trim() === '' ? 0 : Number(x));
      const out = {
        clinic_name: v.clinic_name, phone: v.phone, time_zone: v.time_zone.trim(), emergency_number: v.emergency_number,
        public_url: v.public_url.trim(), host_names: v.host_names.split(/[\s,]+/).filter(Boolean),
        idle_lock_minutes: num(v.idle_lock_minutes), backup_dir: v.backup_dir.trim(), backup_keep: num(v.backup_keep),
        backup_hour: num(v.backup_hour), require_totp: v.require_totp,
      };
      for (const k of ['idle_lock_minutes', 'backup_keep']) {
        if (!Number.isInteger(out[k])) throw fieldError(k, 'Type a whole number.');
      }
      const saved = await api('PUT', '/api/v1/settings', out);
      state.clinic = saved.clinic_name;
      for (const el of doc.querySelectorAll('.top .clinic')) el.textContent = saved.clinic_name;
      const me = await refreshMe();
      if (me.must_enroll_totp) { enter(); return; }
      if (!ctx.alive()) return;
      const m = okMessage('Settings saved.');
      f.el.querySelector('.form-msg').replaceChildren(m);
      m.focus();
    },
  });
  return h('div', { class: 'card wide' }, f.el);
}

// --- Settings sections beyond the main form. Each saves only its own part
// (PUT /api/v1/settings takes a partial object).

const dayNames = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
// What a new clinic has until the owner changes it (mirrors the server's
// defaults: settings answer null for a part never saved).
const defaultTargets = { message: 480, refill: 960, appointment: 480, callback: 240, billing: 960, records: 960, other: 480 };
const defaultRoutes = { message: 'frontdesk', refill: 'refills', appointment: 'frontdesk', callback: 'frontdesk', billing: 'billing',
  records: 'frontdesk', invite_request: 'frontdesk', appointment_reply: 'frontdesk' };
const defaultQueues = [
  { id: 'frontdesk', name: 'Front desk', roles: ['frontdesk', 'clinician'] },
  { id: 'clinical', name: 'Clinical', roles: ['clinician'] },
  { id: 'refills', name: 'Refills', roles: ['clinician'] },
  { id: 'billing', name: 'Billing', roles: ['frontdesk'] },
];
const placeholders = [
  ['{patient_first_name}', 'the patient\u2019s first name'], ['{staff_name}', 'your first name'], ['{clinic_phone}', 'the clinic phone'],
  ['{clinic_name}', 'the clinic name'], ['{next_business_day}', 'the next day the office is open'],
];

function sectionCard(id, title, intro, ...kids) {
  return h('section', { class: 'card wide settings-card', id, 'aria-labelledby': `${id}-title` },
    h('h2', { id: `${id}-title`, tabindex: '-1' }, title), intro ? h('p', { class: 'muted' }, intro) : null, kids);
}

// saver runs a partial save and shows its outcome in msg.
function saver(msg, btn) {
  let busy = false;
  return async (partial, okText) => {
    if (busy) return false;
    busy = true;
    btn.setAttribute('aria-disabled', 'true');
    put(msg);
    try {
      await api('PUT', '/api/v1/settings', partial);
      const m = okMessage(okText);
      put(msg, m);
      m.focus();
      return true;
    } catch (err) {
      if (!err.handled) put(msg, h('p', { class: 'err', role: 'alert' }, err.message));
      return false;
    } finally {
      busy = false;
      btn.removeAttribute('aria-disabled');
    }
  };
}

function errIn(msg, text, focus) {
  put(msg, h('p', { class: 'err', role: 'alert' }, text));
  if (focus) focus.focus();
}

// clockSelect picks a time of day in quarter hours; a closing time may be
// midnight at the end of the day ("24:00"), which a time input cannot show.
function clockSelect(id, value, closing, label) {
  const opts = [];
  for (let m = 0; m <= 24 * 60; m += 15) {
    if (m === 24 * 60 && !closing) break;
    const hh = String(Math.floor(m / 60)).padStart(2, '0');
    const mm = String(m % 60).padStart(2, '0');
    const hr = Math.floor(m / 60) % 24;
    const text = m === 24 * 60 ? 'Midnight (end of day)' : m === 0 ? 'Midnight' : `${hr % 12 || 12}:${mm} ${hr < 12 ? 'AM' : 'PM'}`;
    opts.push([`${hh}:${mm}`, text]);
  }
  if (value && !opts.some(([v]) => v === value)) opts.push([value, value]);
  const sel = h('select', { id, 'aria-label': label }, opts.map(([v, t]) => h('option', { value: v }, t)));
  sel.value = value || (closing ? '17:00' : '09:00');
  return sel;
}

function hoursCard(s) {
  const hours = s.hours || { weekly: [[], ...[1, 2, 3, 4, 5].map(() => [{ open: '09:00', close: '17:00' }]), []], holidays: [] };
  const weekly = dayNames.map((_, d) => (hours.weekly[d] || []).map((x) => ({ ...x })));
  const table = h('div', { class: 'hours', id: 'hours-days' });
  const msg = h('div', { class: 'form-msg', id: 'hours-msg' });
  const holidays = h('textarea', { id: 'hours-holidays', rows: 3, 'aria-describedby': 'hours-holidays-hint', spellcheck: 'false' });
  holidays.value = (hours.holidays || []).join('\n');
  const save = h('button', { type: 'submit', class: 'primary', id: 'hours-submit' }, 'Save office hours');
  const run = saver(msg, save);
  function paint(focusId) {
    put(table, dayNames.map((name, d) => {
      const spans = weekly[d];
      const addBtn = h('button', { type: 'button', class: 'link small', id: `hours-${d}-add` }, spans.length ? 'Add a period' : 'Open this day',
        h('span', { class: 'vh' }, ` on ${name}`));
      addBtn.addEventListener('click', () => {
        const last = spans[spans.length - 1];
        spans.push(last ? { open: last.close, close: last.close < '17:00' ? '17:00' : last.close } : { open: '09:00', close: '17:00' });
        paint(`hours-${d}-${spans.length - 1}-open`);
      });
      return h('div', { class: 'day', role: 'group', 'aria-labelledby': `hours-${d}-name` },
        h('span', { class: 'day-name', id: `hours-${d}-name` }, name),
        h('div', { class: 'spans' },
          spans.length ? spans.map((sp, i) => {
            const o = clockSelect(`hours-${d}-${i}-open`, sp.open, false, `${name} opens` + (i ? ` (period ${i + 1})` : ''));
            const cl = clockSelect(`hours-${d}-${i}-close`, sp.close, true, `${name} closes` + (i ? ` (period ${i + 1})` : ''));
            o.addEventListener('change', () => { sp.open = o.value; });
            cl.addEventListener('change', () => { sp.close = cl.value; });
            const rm = h('button', { type: 'button', class: 'link small' }, 'Remove', h('span', { class: 'vh' }, ` ${name} period ${i + 1}`));
            rm.addEventListener('click', () => { spans.splice(i, 1); paint(`hours-${d}-add`); });
            return h('div', { class: 'span' }, o, h('span', { 'aria-hidden': 'true' }, 'to'), cl, rm);
          }) : h('span', { class: 'muted closed-day' }, 'Closed'),
          addBtn));
    }));
    if (focusId) { const el = doc.getElementById(focusId); if (el) el.focus(); }
  }
  paint();
  const form = h('form', { novalidate: true, id: 'hours-form', 'aria-label': 'Office hours' }, table,
    h('div', { class: 'field' }, h('label', { for: 'hours-holidays' }, 'Holidays (closed all day)'),
      h('p', { class: 'hint', id: 'hours-holidays-hint' }, 'One date per line, like 2026-12-25.'), holidays),
    msg, h('div', { class: 'actions' }, save));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const clock = /^(([01]\d|2[0-3]):[0-5]\d|24:00)$/;
    for (let d = 0; d < 7; d++) {
      let prevClose = '';
      for (let i = 0; i < weekly[d].length; i++) {
        const sp = weekly[d][i];
        if (!clock.test(sp.open) || sp.open === '24:00' || !clock.test(sp.close)) return errIn(msg, `${dayNames[d]}: give both an opening and a closing time.`, doc.getElementById(`hours-${d}-${i}-open`));
        if (sp.close <= sp.open) return errIn(msg, `${dayNames[d]}: the closing time must come after the opening time.`, doc.getElementById(`hours-${d}-${i}-close`));
        if (prevClose && sp.open < prevClose) return errIn(msg, `${dayNames[d]}: the periods overlap.`, doc.getElementById(`hours-${d}-${i}-open`));
        prevClose = sp.close;
      }
    }
    const hol = holidays.value.split(/[\s,]+/).filter(Boolean);
    const bad = hol.find((x) => !/^\d{4}-\d{2}-\d{2}$/.test(x) || Number.isNaN(new Date(`${x}T00:00:00Z`).getTime()));
    if (bad) return errIn(msg, `“${bad}” is not a date like 2026-12-25.`, holidays);
    run({ hours: { weekly, holidays: hol } }, 'Office hours saved. Due times of new requests follow them.');
  });
  return sectionCard('set-hours', 'Office hours', 'Due times count only open hours, and patients who write while the office is closed are told when it opens.', form);
}

function targetsCard(s) {
  const t = { ...defaultTargets, ...(s.targets || {}) };
  const kinds = [['message', 'Messages'], ['refill', 'Refill requests'], ['appointment', 'Appointment requests'], ['callback', 'Call-back requests'],
    ['billing', 'Billing questions'], ['records', 'Records requests'], ['other', 'Anything else']];
  const f = makeForm('targets', kinds.map(([k, label]) => ({
    name: k, label, type: 'number', value: String(Math.round((t[k] / 60) * 100) / 100),
    attrs: { min: 0.25, max: 240, step: 0.25, inputmode: 'decimal' },
  })), {
    submit: 'Save reply targets', label: 'Reply targets', class: 'grid-form',
    async onSubmit(v) {
      const out = {};
      for (const [k] of kinds) {
        const n = Number(v[k]);
        if (!v[k].trim() || !Number.isFinite(n) || n <= 0) throw fieldError(k, 'Type a number of hours, like 8 or 0.5.');
        out[k] = Math.round(n * 60);
      }
      await api('PUT', '/api/v1/settings', { targets: out });
      const m = okMessage('Reply targets saved. They apply to new requests.');
      f.el.querySelector('.form-msg').replaceChildren(m);
      m.focus();
    },
  });
  return sectionCard('set-targets', 'Reply targets', 'How soon the clinic aims to answer each kind of request, in open office hours (8 = one working day). A request past its target shows as overdue.', f.el);
}

function queuesCard(s, known) {
  const queues = (s.queues && s.queues.length ? s.queues : (known.length ? known : defaultQueues)).map((q) => ({ ...q, roles: [...(q.roles || [])], saved: true }));
  const routes = { ...defaultRoutes, ...(s.routes || {}) };
  const list = h('div', { id: 'queue-list' });
  const routeBox = h('div', { id: 'route-list', class: 'routes' });
  const msg = h('div', { class: 'form-msg', id: 'queues-msg' });
  const save = h('button', { type: 'submit', class: 'primary', id: 'queues-submit' }, 'Save queues and routing');
  const run = saver(msg, save);
  const addBtn = h('button', { type: 'button', class: 'small', id: 'queue-add' }, '+ Add a queue');
  addBtn.addEventListener('click', () => {
    queues.push({ id: '', name: '', roles: ['frontdesk', 'clinician'], saved: false });
    paint(`queue-${queues.length - 1}-name`);
  });
  function paint(focusId) {
    put(list, h('table', { class: 'data compact', id: 'queue-table' },
      h('thead', null, h('tr', null, ['Queue name', 'Front desk works it', 'Clinicians work it', ''].map((t, i) => h('th', { scope: 'col' }, t || h('span', { class: 'vh' }, i === 3 ? 'Remove' : ''))))),
      h('tbody', null, queues.map((q, i) => {
        const name = h('input', { id: `queue-${i}-name`, value: q.name, 'aria-label': `Name of queue ${i + 1}`, maxlength: 40 });
        name.addEventListener('input', () => { q.name = name.value; });
        name.addEventListener('change', () => paintRoutes());
        const role = (r, label) => {
          const cb = h('input', { type: 'checkbox', id: `queue-${i}-${r}`, checked: q.roles.includes(r), 'aria-label': `${label}: ${q.name || `queue ${i + 1}`}` });
          cb.addEventListener('change', () => { q.roles = cb.checked ? [...new Set([...q.roles, r])] : q.roles.filter((x) => x !== r); });
          return cb;
        };
        const rm = q.id === 'clinical' ? h('span', { class: 'muted small-text' }, 'Urgent requests go here')
          : h('button', { type: 'button', class: 'link small', id: `queue-${i}-remove` }, 'Remove', h('span', { class: 'vh' }, ` ${q.name}`));
        if (rm.tagName === 'BUTTON') {
          rm.addEventListener('click', () => {
            const used = Object.entries(routes).filter(([, v]) => v === q.id && q.id);
            if (used.length) { errIn(msg, `Send ${used.map(([k]) => typeLabel(k).toLowerCase()).join(', ')} to another queue first.`, rm); return; }
            queues.splice(i, 1);
            paint('queue-add');
          });
        }
        return h('tr', null, h('td', null, name), h('td', null, role('frontdesk', 'Front desk works it')), h('td', null, role('clinician', 'Clinicians work it')), h('td', null, rm));
      }))));
    paintRoutes();
    if (focusId) { const el = doc.getElementById(focusId); if (el) el.focus(); }
  }
  function paintRoutes() {
    put(routeBox, Object.keys(typeInfo).map((t) => {
      const id = `route-${t}`;
      const sel = h('select', { id }, queues.filter((q) => q.name.trim()).map((q, i) => h('option', { value: q.id || `new:${queues.indexOf(q)}` }, q.name)));
      sel.value = routes[t] || 'frontdesk';
      sel.addEventListener('change', () => { routes[t] = sel.value; });
      return h('div', { class: 'field' }, h('label', { for: id }, typeLabel(t)), sel);
    }));
  }
  paint();
  const form = h('form', { novalidate: true, id: 'queues-form', 'aria-label': 'Queues and routing' },
    list, h('div', { class: 'actions' }, addBtn),
    h('h3', null, 'Where each kind of request goes'),
    h('p', { class: 'hint' }, 'Urgent requests always go to Clinical, whatever their kind. Owners see every queue.'),
    routeBox, msg, h('div', { class: 'actions' }, save));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const used = new Set();
    const slug = (x) => x.toLowerCase().normalize('NFKD').replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 30) || 'queue';
    const out = [];
    const newIds = {};
    for (let i = 0; i < queues.length; i++) {
      const q = queues[i];
      if (!q.name.trim()) return errIn(msg, 'Give every queue a name.', doc.getElementById(`queue-${i}-name`));
      if (!q.roles.length) return errIn(msg, `Choose who works ${q.name}.`, doc.getElementById(`queue-${i}-frontdesk`));
      let id = q.id || slug(q.name);
      while (used.has(id)) id += '-2';
      used.add(id);
      if (!q.id) newIds[`new:${i}`] = id;
      out.push({ id, name: q.name.trim(), roles: q.roles });
    }
    if (!used.has('clinical')) return errIn(msg, 'Keep the Clinical queue: urgent requests go there.');
    const outRoutes = {};
    for (const [t, qv] of Object.entries(routes)) outRoutes[t] = newIds[qv] || qv;
    run({ queues: out, routes: outRoutes }, 'Queues and routing saved. New requests follow them.').then((ok) => {
      if (!ok) return;
      out.forEach((q, i) => { queues[i].id = q.id; queues[i].saved = true; });
      for (const [t, qv] of Object.entries(outRoutes)) routes[t] = qv;
      memory.queueInfo = null;
    });
  });
  return sectionCard('set-queues', 'Queues and routing', 'Queues are the shared lists staff work from. Each person sees the queues of their role.', form);
}

function templatesCard(s, defaults) {
  const list = (s.templates || defaults || []).map((t) => ({ ...t }));
  const box = h('div', { id: 'template-list' });
  const msg = h('div', { class: 'form-msg', id: 'templates-msg' });
  const save = h('button', { type: 'submit', class: 'primary', id: 'templates-submit' }, 'Save templates');
  const run = saver(msg, save);
  const addBtn = h('button', { type: 'button', class: 'small', id: 'template-add' }, '+ Add a template');
  addBtn.addEventListener('click', () => { list.push({ id: '', name: '', body: '' }); paint(`tpl-${list.length - 1}-name`); });
  function paint(focusId) {
    put(box, list.map((t, i) => {
      const name = h('input', { id: `tpl-${i}-name`, value: t.name, maxlength: 80 });
      const body = h('textarea', { id: `tpl-${i}-body`, rows: 3 });
      body.value = t.body;
      name.addEventListener('input', () => { t.name = name.value; });
      body.addEventListener('input', () => { t.body = body.value; });
      const rm = h('button', { type: 'button', class: 'link small' }, 'Remove', h('span', { class: 'vh' }, ` template ${t.name}`));
      rm.addEventListener('click', () => { list.splice(i, 1); paint('template-add'); });
      return h('fieldset', { class: 'tpl' }, h('legend', { class: 'vh' }, `Template ${i + 1}`),
        h('div', { class: 'field' }, h('label', { for: `tpl-${i}-name` }, 'Name'), name),
        h('div', { class: 'field' }, h('label', { for: `tpl-${i}-body` }, 'Text'), body), rm);
    }));
    if (focusId) { const el = doc.getElementById(focusId); if (el) el.focus(); }
  }
  paint();
  const form = h('form', { novalidate: true, id: 'templates-form', 'aria-label': 'Reply templates' },
    h('div', { class: 'placeholders' }, h('p', null, h('strong', null, 'Placeholders'), ' are filled in for each request:'),
      h('ul', null, placeholders.map(([p, what]) => h('li', null, h('code', null, p), ` ${what}`)))),
    box, h('div', { class: 'actions' }, addBtn), msg, h('div', { class: 'actions' }, save));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const used = new Set();
    const out = [];
    for (let i = 0; i < list.length; i++) {
      const t = list[i];
      if (!t.name.trim()) return errIn(msg, 'Give every template a name.', doc.getElementById(`tpl-${i}-name`));
      if (!t.body.trim()) return errIn(msg, `Write the text of “${t.name}”.`, doc.getElementById(`tpl-${i}-body`));
      let id = t.id || t.name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 40) || 'template';
      while (used.has(id)) id += '-2';
      used.add(id);
      t.id = id;
      out.push({ id, name: t.name.trim(), body: t.body.trim() });
    }
    run({ templates: out }, 'Templates saved.');
  });
  return sectionCard('set-templates', 'Reply templates', 'Ready-made replies staff pick from the Templates menu, then edit before sending.', form);
}

// emailCard: the mail server for invitations, sign-in links and
// appointment reminders, and a test send. The password is write-only:
// the server answers smtp_password_set, and an empty field keeps it.
const smtpModes = [['starttls', 'STARTTLS (recommended)'], ['tls', 'TLS'], ['none', 'None \u2014 only for a mail server on this computer']];

function emailCard(s) {
  let pwSet = !!s.smtp_password_set;
  const pwHint = () => (pwSet ? 'Saved. Leave empty to keep it; type a new one to replace it.' : 'The password of the mail account, if the server asks for one.');
  const f = makeForm('email', [
    { group: 'Mail server', items: [
      { name: 'smtp_host', label: 'Mail server (SMTP host)', value: s.smtp_host || '', hint: 'Like smtp.example.com, from your email provider.',
        attrs: { spellcheck: 'false', autocapitalize: 'none' } },
      { name: 'smtp_port', label: 'Port', type: 'number', value: s.smtp_port ? String(s.smtp_port) : '',
        hint: 'Leave empty for the usual port of the security you choose (587 for STARTTLS, 465 for TLS).',
        attrs: { min: 1, max: 65535, step: 1, inputmode: 'numeric' } },
      { name: 'smtp_mode', label: 'Security', type: 'select', options: smtpModes, value: s.smtp_mode || 'starttls' },
      { name: 'smtp_user', label: 'User name', value: s.smtp_user || '', autocomplete: 'off', attrs: { spellcheck: 'false', autocapitalize: 'none' } },
      { name: 'smtp_password', label: 'Password', type: 'password', autocomplete: 'new-password', hint: pwHint(),
        attrs: { placeholder: pwSet ? '\u2022\u2022\u2022\u2022\u2022\u2022 (saved)' : null } },
      { name: 'mail_from', label: 'Sender address', type: 'email', value: s.mail_from || '', hint: 'The From address patients see, like frontdesk@mapleclinic.example.',
        attrs: { spellcheck: 'false', autocapitalize: 'none' } },
    ] },
    { group: 'Appointment reminders', items: [
      { name: 'reminder_hours', label: 'Send reminders this many hours before', value: (s.reminder_hours || [48, 24]).join(', '),
        hint: 'Hours, separated by commas, like 48, 24. Leave empty to send no reminders.', attrs: { inputmode: 'numeric', spellcheck: 'false' } },
    ] },
  ], {
    submit: 'Save email settings', label: 'Email settings',
    async onSubmit(v) {
      const port = v.smtp_port.trim();
      if (port && !/^\d+$/.test(port)) throw fieldError('smtp_port', 'Type a whole number, like 587, or leave it empty.');
      const parts = v.reminder_hours.split(/[\s,;]+/).filter(Boolean);
      const bad = parts.find((x) => !/^\d+$/.test(x) || Number(x) < 1 || Number(x) > 336);
      if (bad !== undefined) throw fieldError('reminder_hours', `\u201c${bad}\u201d is not a number of hours between 1 and 336 (14 days).`);
      const out = {
        smtp_host: v.smtp_host.trim(), smtp_port: port ? Number(port) : 0, smtp_mode: v.smtp_mode, smtp_user: v.smtp_user.trim(),
        mail_from: v.mail_from.trim(), reminder_hours: [...new Set(parts.map(Number))].sort((a, b) => b - a),
      };
      if (v.smtp_password) out.smtp_password = v.smtp_password;
      const saved = await api('PUT', '/api/v1/settings', out);
      pwSet = !!saved.smtp_password_set;
      const pw = f.fields.smtp_password.input;
      pw.value = '';
      if (pwSet) pw.setAttribute('placeholder', '\u2022\u2022\u2022\u2022\u2022\u2022 (saved)');
      else pw.removeAttribute('placeholder');
      const hint = doc.getElementById('email-smtp_password-hint');
      if (hint) hint.textContent = pwHint();
      f.fields.reminder_hours.input.value = (saved.reminder_hours || []).join(', ');
      const m = okMessage('Email settings saved.');
      f.el.querySelector('.form-msg').replaceChildren(m);
      m.focus();
    },
  });

  const answer = h('div', { class: 'mail-answer', id: 'mailtest-answer' });
  const t = makeForm('mailtest', [
    { name: 'to', label: 'Send it to', type: 'email', value: (state.me && state.me.email) || '', autocomplete: 'email',
      hint: 'Save the settings above first: the test uses the saved ones.', attrs: { spellcheck: 'false', autocapitalize: 'none' } },
  ], {
    submit: 'Send a test email', submitClass: 'mail-test-btn', label: 'Send a test email',
    // Every refusal is the mail server's answer: show it in the answer box.
    onError(err) {
      if (err.field === 'to') return false;
      put(answer, h('div', { class: 'alert-box', role: 'alert' }, h('strong', null, 'The test email was not sent. '), err.message));
      return true;
    },
    async onSubmit(v) {
      put(answer);
      const to = v.to.trim();
      if (!to || !/^[^\s@]+@[^\s@]+$/.test(to)) throw fieldError('to', 'Type an email address, like you@example.com.');
      const r = await api('POST', '/api/v1/settings/test-email', { to });
      const m = h('p', { class: 'ok-msg', role: 'status', tabindex: '-1' }, (r && r.answer) || 'The mail server accepted the message.');
      put(answer, m);
      m.focus();
    },
  });
  // The answer sits right above the button, where the eye already is.
  t.el.insertBefore(answer, t.el.querySelector('.form-msg'));

  return sectionCard('set-email', 'Email', '',
    h('p', { class: 'muted', id: 'email-privacy' }, 'Emails carry only the patient\u2019s first name and the clinic\u2019s name, with a link to sign in. Patients choose whether to receive them.'),
    f.el, h('h3', { id: 'mailtest-title' }, 'Send a test email'), t.el);
}

function wordsCard(s) {
  const f = makeForm('urgent', [
    { name: 'urgent_words', label: 'Extra urgent words', type: 'textarea', rows: 5, value: (s.urgent_words || []).join('\n'),
      hint: 'One phrase per line. A request containing one is marked urgent and goes to Clinical. Optionally start with a category and a colon, like “cardiac: pressure in my chest”. Hearth\u2019s built-in lists stay on.',
      attrs: { spellcheck: 'false' } },
    { name: 'after_hours_text', label: 'After-hours message', type: 'textarea', rows: 3, value: s.after_hours_text || '',
      hint: 'What patients read when they write while the office is closed. Leave empty for Hearth\u2019s wording, which gives the opening time and the emergency number.' },
  ], {
    submit: 'Save', label: 'Urgent words and after-hours message',
    async onSubmit(v) {
      const words = v.urgent_words.split('\n').map((x) => x.trim()).filter(Boolean);
      await api('PUT', '/api/v1/settings', { urgent_words: words, after_hours_text: v.after_hours_text.trim() });
      const m = okMessage('Saved. New requests are checked with these words.');
      f.el.querySelector('.form-msg').replaceChildren(m);
      m.focus();
    },
  });
  return sectionCard('set-words', 'Urgent words and after hours', '', f.el);
}

function passphraseCard() {
  const status = h('div', { id: 'passphrase-status' });
  const off = h('button', { type: 'button', class: 'danger', id: 'passphrase-off' }, 'Turn the passphrase off');
  const f = makeForm('passphrase', [
    { name: 'password', label: 'Your password', type: 'password', autocomplete: 'current-password', hint: 'To confirm it is you.' },
    { name: 'passphrase', label: 'Clinic passphrase', type: 'password', autocomplete: 'new-password',
      hint: 'At least 12 characters: several unrelated words. It guards every record. Write it down and keep it with the emergency kit.' },
    { name: 'passphrase_again', label: 'Clinic passphrase again', type: 'password', autocomplete: 'new-password' },
  ], {
    submit: 'Protect with this passphrase', label: 'Clinic passphrase', secondary: off,
    async onSubmit(v) {
      if (!v.password) throw fieldError('password', 'Type your password.');
      if (!v.passphrase) throw fieldError('passphrase', 'Choose a passphrase.');
      if (v.passphrase !== v.passphrase_again) throw fieldError('passphrase_again', 'The two passphrases are not the same.');
      await api('POST', '/api/v1/settings/passphrase', { password: v.password, passphrase: v.passphrase });
      f.el.reset();
      const m = okMessage('The clinic key is now protected by the passphrase. After a restart, someone must type it before staff can work.');
      put(status, m);
      m.focus();
    },
  });
  off.addEventListener('click', () => f.run(async (v) => {
    if (!v.password) throw fieldError('password', 'Type your password to turn the passphrase off.');
    if (!window.confirm('Turn the passphrase off? Hearth will start unlocked after a restart, and a stolen disk would open without it.')) return;
    await api('POST', '/api/v1/settings/passphrase', { password: v.password, passphrase: '' });
    f.el.reset();
    const m = okMessage('The passphrase is off. Hearth starts unlocked after a restart.');
    put(status, m);
    m.focus();
  }));
  return sectionCard('set-passphrase', 'Protect the clinic key with a passphrase', '',
    h('p', null, 'With a passphrase, the key that opens every record is stored only in a form the passphrase unlocks, so a stolen computer or disk reveals nothing.'),
    h('p', { class: 'warn-banner' }, h('span', { class: 'icon', 'aria-hidden': 'true' }, icon('alert', 20)),
      h('span', null, 'After every restart of Hearth (a power cut, an update), someone must type the passphrase on the sign-in page before staff can work. Patients can still send messages meanwhile.')),
    status, f.el);
}

// --- My account

function viewAccount(c, ctx) {
  const me = state.me.staff;
  add(c, viewHead('My account'),
    h('p', { class: 'intro', id: 'account-who' }, `${me.name} · ${roleName(me.role)}`, state.me.email ? ` · ${state.me.email}` : ''),
    h('div', { class: 'stack' }, passwordCard(), pinCard(ctx), totpCard(ctx)));
  return null;
}

function passwordCard() {
  const card = h('section', { class: 'card', 'aria-labelledby': 'mypw-title' });
  const f = makeForm('mypw', [
    { name: 'current', label: 'Current password', type: 'password', autocomplete: 'current-password' },
    { name: 'new', label: 'New password', type: 'password', autocomplete: 'new-password',
      hint: 'At least 10 characters. A few unrelated words make a strong password that is easy to remember.' },
    { name: 'new_again', label: 'New password again', type: 'password', autocomplete: 'new-password' },
  ], {
    submit: 'Change password', label: 'Change password',
    async onSubmit(v) {
      if (!v.current) throw fieldError('current', 'Type your current password.');
      if (!v.new) throw fieldError('new', 'Choose a new password.');
      if (v.new !== v.new_again) throw fieldError('new_again', 'The two passwords are not the same. Type the new password again.');
      await api('POST', '/api/v1/me/password', { current: v.current, new: v.new });
      f.el.reset();
      const m = okMessage('Your password was changed.');
      f.el.querySelector('.form-msg').replaceChildren(m);
      m.focus();
    },
  });
  add(card, h('h2', { id: 'mypw-title' }, 'Password'), f.el);
  return card;
}

function pinCard(ctx) {
  const card = h('section', { class: 'card', 'aria-labelledby': 'pin-title' });
  render('');
  return card;

  function render(message) {
    const has = state.me.has_pin;
    const remove = has ? h('button', { type: 'button', class: 'danger', id: 'mypin-remove' }, 'Remove PIN') : null;
    const f = makeForm('mypin', [
      { name: 'password', label: 'Your password', type: 'password', autocomplete: 'current-password', hint: 'Needed to set or remove a PIN.' },
      { name: 'pin', label: has ? 'New PIN' : 'PIN', type: 'password', autocomplete: 'off', hint: '4 to 8 digits.',
        attrs: { inputmode: 'numeric', maxlength: 8 } },
    ], {
      submit: has ? 'Change PIN' : 'Set PIN', label: 'Screen-lock PIN', secondary: remove,
      async onSubmit(v) {
        if (!v.password) throw fieldError('password', 'Type your password.');
        if (!/^\d{4,8}$/.test(v.pin)) throw fieldError('pin', 'A PIN is 4 to 8 digits.');
        await api('POST', '/api/v1/me/pin', { password: v.password, pin: v.pin });
        await refreshMe();
        if (ctx.alive()) render(has ? 'Your PIN was changed.' : 'Your PIN is set. Use it to unlock the screen.');
      },
    });
    if (remove) {
      remove.addEventListener('click', () => f.run(async (v) => {
        if (!v.password) throw fieldError('password', 'Type your password to remove the PIN.');
        await api('POST', '/api/v1/me/pin', { password: v.password, pin: '' });
        await refreshMe();
        if (ctx.alive()) render('Your PIN was removed. Unlock the screen with your password.');
      }));
    }
    const m = message ? okMessage(message) : null;
    put(card,
      h('h2', { id: 'pin-title' }, 'Screen-lock PIN'),
      h('p', null, has ? 'A PIN is set: it unlocks your locked screen faster than your password.'
        : 'No PIN is set. A short PIN unlocks your locked screen faster than your password. After a few wrong tries only the password works.'),
      m, f.el);
    if (m) m.focus();
  }
}

function totpCard(ctx) {
  const card = h('section', { class: 'card', 'aria-labelledby': 'mytotp-title' });
  render('');
  return card;

  function render(message) {
    const on = state.me.totp_enabled;
    const title = h('h2', { id: 'mytotp-title' }, 'Two-step sign-in ', on ? h('span', { class: 'badge on' }, 'On') : h('span', { class: 'badge' }, 'Off'));
    const msg = h('div', { class: 'form-msg' });
    const m = message ? okMessage(message) : null;
    let action;
    if (!on) {
      action = h('button', { type: 'button', class: 'primary', id: 'mytotp-on', onclick: () => {
        put(card, h('h2', { id: 'mytotp-title', tabindex: '-1' }, 'Turn on two-step sign-in'),
          totpEnrolment(async () => {
            try { await refreshMe(); } catch { /* shown by the next call */ }
            if (ctx.alive()) render('Two-step sign-in is on.');
          }, () => render('')));
        card.querySelector('h2').focus();
      } }, 'Turn on two-step sign-in');
    } else {
      action = h('button', { type: 'button', class: 'danger', id: 'mytotp-off', onclick: async () => {
        if (!window.confirm('Turn off two-step sign-in? Your password alone will sign you in.')) return;
        try {
          await api('DELETE', '/api/v1/me/totp');
          await refreshMe();
          if (ctx.alive()) render('Two-step sign-in is off.');
        } catch (err) {
          if (!err.handled) put(msg, h('p', { class: 'err', role: 'alert' }, err.message));
        }
      } }, 'Turn off two-step sign-in');
    }
    put(card, title,
      h('p', null, on ? 'Signing in asks for a code from your phone as well as your password.'
        : 'Ask for a code from your phone as well as your password, so a stolen password alone cannot open the console.'),
      m, msg, h('div', { class: 'actions' }, action));
    if (m) m.focus();
  }
}

// ---------------------------------------------------------------------------
// 7. Start

window.addEventListener('hashchange', route);
window.addEventListener('unhandledrejection', (e) => {
  if (e.reason && e.reason.handled) e.preventDefault();
});
if (root) enter();
