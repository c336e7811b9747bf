// My account: password, screen-lock PIN, two-step sign-in.

import { api } from './api.js';
import { add, fieldError, h, makeForm, okMessage, put, viewHead } from './dom.js';
import { roleName } from './format.js';
import { refreshMe, totpEnrolment } from './session.js';
import { state } from './state.js';

// --- My account

export function viewAccount(c, ctx) {
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
      // Turning it off asks for the password again; the account's email
      // address is told.
      action = makeForm('mytotp-off', [
        { name: 'password', label: 'Your password', type: 'password', autocomplete: 'current-password',
          hint: 'Needed to turn two-step sign-in off. Your password alone will then sign you in, and, where the clinic has email set up, you get an email saying so.' },
      ], {
        submit: 'Turn off two-step sign-in', label: 'Turn off two-step sign-in', submitClass: 'danger',
        async onSubmit(v) {
          if (!v.password) throw fieldError('password', 'Type your password to turn two-step sign-in off.');
          await api('DELETE', '/api/v1/me/totp', { password: v.password });
          await refreshMe();
          if (ctx.alive()) render('Two-step sign-in is off.');
        },
      }).el;
    }
    put(card, title,
      h('p', null, on ? 'Signing in asks for a code from your phone as well as your password.'
        : 'Ask for a code from your phone as well as your password, so a stolen password alone cannot open the console.'),
      m, msg, on ? action : h('div', { class: 'actions' }, action));
    if (m) m.focus();
  }
}
