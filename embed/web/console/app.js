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
//   4. Screens         sign-in, account setup gate, lock screen, shell, routing
//   5. Idle lock
//   6. Views           the `views` table (the nav is built from it) and each view
//   7. Start

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
  memory = {};
  if (location.hash && !keepAddress) history.replaceState(null, '', location.pathname + location.search);
}

// setScreen replaces everything in the page: what was there is gone from
// the DOM and the accessibility tree.
function setScreen(mode, ...nodes) {
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
      links[k] = h('a', { href: `#/${k}`, id: `nav-${k}` }, views[k].label)))));
  const main = h('main', { id: 'main', class: 'view', tabindex: '-1' });
  setScreen('shell', h('div', { id: 'shell', class: 'shell' }, skipLink(main), topBar('shell'), h('div', { class: 'frame' }, nav, main)));
  state.shell = { main, links, allowed };
  idle.last = Date.now();
  route();
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
  const body = h('div', { class: 'view-body', id: `view-${key}` });
  put(main, body);
  const epoch = ++state.viewEpoch;
  const ctx = {
    arg: parts.slice(1).join('/'),
    // alive: this view is still the one on screen (answers that arrive
    // after the person moved on, locked or switched are dropped).
    alive: () => state.viewEpoch === epoch && state.mode === 'shell',
  };
  doc.title = `${views[key].label} · ${state.clinic}`;
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

function activity() {
  idle.last = Date.now();
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
// 6. Views
//
// One table: the nav is built from it in this order, the first entry the
// person may see is the default view, and `roles` (absent: every role)
// decides who sees it. render(container, ctx) fills the container and may
// return the element to focus (else the view's h1 is focused).
// ctx.arg is the rest of the URL after #/name/; ctx.alive() is false once
// the person has moved on (drop late answers then).

const views = {
  patients: { label: 'Patients', render: viewPatients },
  staff: { label: 'Staff', roles: ['owner'], render: viewStaff },
  audit: { label: 'Audit log', roles: ['owner'], render: viewAudit },
  settings: { label: 'Settings', roles: ['owner'], render: viewSettings },
  account: { label: 'My account', render: viewAccount },
};

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
  const flash = memory.flash;
  memory.flash = '';
  add(c, backLink('#/patients', 'Back to patients'),
    flash ? okMessage(flash) : null,
    h('section', { class: 'patient-banner', id: 'patient-banner', 'aria-labelledby': 'patient-name' }, title, body));
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
  }).catch((err) => {
    if (!ctx.alive() || err.handled) return;
    title.textContent = err.code === 'not_found' ? 'Patient not found' : 'Patient';
    put(body, errorBox(err.code === 'not_found' ? 'There is no patient record at this address.' : err.message));
    body.removeAttribute('aria-busy');
  });
  return flash ? c.querySelector('.ok-msg') : title;
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

const auditActions = ['staff.signin', 'staff.signin_totp', 'staff.signout', 'staff.switch_out', 'session.lock', 'session.unlock',
  'patients.search', 'patient.search_result', 'patient.read', 'patient.create', 'staff.create', 'staff.change',
  'staff.password_change', 'staff.password_reset', 'staff.pin_change', 'staff.totp_on', 'staff.totp_off',
  'settings.change', 'audit.export', 'backup.write', 'backup.scheduled'];

function viewAudit(c, ctx) {
  const PAGE = 100;
  let filters = {};
  let lastSeq = 0;
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
    h('caption', { class: 'vh' }, 'Audit events, oldest first'),
    h('thead', null, h('tr', null, ['Time', 'Who', 'Action', 'Object', 'Patient', 'From', 'Outcome'].map((t) => h('th', { scope: 'col' }, t)))),
    tbody));
  const status = h('p', { class: 'status-line', role: 'status', id: 'audit-status', tabindex: '-1' });
  const more = h('button', { type: 'button', id: 'audit-more', hidden: true }, 'Load more');
  more.addEventListener('click', () => load(false).catch(() => {}));
  add(c, viewHead('Audit log'),
    h('p', { class: 'intro' }, 'Every sign-in, every look at or change to a patient record, and every change to staff and settings, oldest first. Rows in red failed, were refused or were throttled.'),
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
    if (!reset && lastSeq) p.set('after', String(lastSeq));
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
    if (reset) { put(tbody); shown = 0; lastSeq = 0; }
    const evs = r.events || [];
    for (const e of evs) add(tbody, auditRow(e));
    shown += evs.length;
    if (evs.length) lastSeq = evs[evs.length - 1].seq;
    const end = evs.length < PAGE;
    const hadFocus = doc.activeElement === more;
    more.hidden = end;
    status.textContent = shown === 0 ? 'No events match these filters.'
      : `${plural(shown, 'event', 'events')} shown${end ? ', to the end of the log.' : '.'}`;
    if (hadFocus && end) status.focus();
  }

  function auditRow(e) {
    const bad = ['failed', 'denied', 'throttled'].includes(e.outcome);
    const high = e.severity === 'high';
    return h('tr', { class: bad || high ? 'flag' : null },
      h('td', { class: 'nowrap' }, h('time', { datetime: e.at }, formatTime(e.at))),
      h('td', null, e.actor_name || e.actor, e.actor_role ? h('span', { class: 'sub' }, roleName(e.actor_role)) : null),
      h('td', { class: 'mono nowrap' }, e.action),
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
  add(c, viewHead('Settings'), holder);
  Promise.all([
    api('GET', '/api/v1/settings'),
    api('GET', '/api/v1/backup/status').catch((err) => ({ failed: err })),
  ]).then(([s, b]) => {
    if (ctx.alive()) put(holder, settingsForm(s, b, ctx));
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

// --- My account

function viewAccount(c, ctx) {
  const me = state.me.staff;
  add(c, viewHead('My account'),
    h('p', { class: 'intro' }, `${me.name} · ${roleName(me.role)}`),
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
