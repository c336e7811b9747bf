// The lock screen, and the idle lock that brings it up.

import { api } from './api.js';
import { doc, fieldError, h, lockIcon, makeForm, put } from './dom.js';
import { roleName } from './format.js';
import { clearUnseen, sound } from './live.js';
import { centered, setScreen, skipLink, topBar } from './screen.js';
import { applySession, enter, showSignIn, switchUser } from './session.js';
import { idle, state } from './state.js';

// --- Lock screen

export function showLock() {
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

export function lockNow() {
  if (state.mode !== 'shell' && state.mode !== 'setup') return;
  // The request leaves before the screen blanks (it needs the CSRF token);
  // the screen blanks without waiting for the answer.
  state.lockPending = api('POST', '/api/v1/session/lock', undefined, { quiet: true }).catch(() => {});
  showLock();
}

// --- Idle lock
//
// The console locks itself after idle_lock_minutes without keyboard,
// pointer or touch input. While the person is active, a light GET of the
// session tells the server too (it locks idle sessions on its own), so
// someone typing a long note is never locked out by the server mid-way.

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
