// Whole screens: setScreen swaps everything in the page, and forget
// drops everything the previous person left in memory.

import { add, h } from './dom.js';
import { roleName } from './format.js';
import { live } from './live.js';
import { lockNow } from './lock.js';
import { signOut, switchUser } from './session.js';
import { leaveView } from './shell.js';
import { clearMemory, root, state } from './state.js';

export function forget(keepAddress) {
  state.csrf = '';
  state.me = null;
  state.pendingPassword = '';
  state.pinBlocked = false;
  state.shell = null;
  state.unseen = 0;
  live.reset();
  clearMemory();
  if (location.hash && !keepAddress) history.replaceState(null, '', location.pathname + location.search);
}

// setScreen replaces everything in the page: what was there is gone from
// the DOM and the accessibility tree.
export function setScreen(mode, ...nodes) {
  leaveView();
  if (mode !== 'shell') live.stop();
  state.mode = mode;
  state.viewEpoch++;
  root.replaceChildren(...nodes.filter(Boolean));
}

export function skipLink(target) {
  return h('a', {
    class: 'skip', href: '#main',
    onclick: (e) => { e.preventDefault(); target.focus(); },
  }, 'Skip to content');
}

export function topBar(kind) {
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

export function centered(...kids) {
  return h('main', { id: 'main', class: 'center', tabindex: '-1' }, kids);
}
