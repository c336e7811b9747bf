// Session screens: sign-in (with the second step), sign-out, switch user,
// Hearth unlock (sealed mode) and the account setup gate.

import { api, onSessionProblem } from './api.js';
import { doc, errorBox, fieldError, h, lockIcon, makeForm, put } from './dom.js';
import { showLock } from './lock.js';
import { loadTables } from './meta.js';
import { centered, forget, setScreen, skipLink, topBar } from './screen.js';
import { showShell } from './shell.js';
import { idle, state } from './state.js';
import { isStorageProblem, storageProblem } from './storage.js';

onSessionProblem(sessionProblem);

// sessionProblem moves the whole console when the session itself says so.
// Every non-quiet API call reports its errors here.
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
  } else if (isStorageProblem(err.code)) {
    // The view shows its own error too; the banner says what to do.
    storageProblem(err.code);
  }
}

// enter asks the server where this browser stands and shows that.
export async function enter() {
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
    try {
      await loadTables();
    } catch (err) {
      if (!err.handled) showProblem(err);
      return;
    }
    showShell();
  }
}

export function applySession(s) {
  state.me = s;
  state.csrf = s.csrf;
  if (s.clinic) state.clinic = s.clinic;
  idle.minutes = s.idle_lock_minutes > 0 ? s.idle_lock_minutes : 15;
}

export async function refreshMe() {
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
export function showSignIn({ notice = '', switching = false, boot = false } = {}) {
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

export async function signOut() {
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
export function switchUser() {
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
export function totpEnrolment(onDone, onCancel) {
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
