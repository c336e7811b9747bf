// The shell: the nav, the view table and routing (#/view/arg), and the
// view's keyboard shortcuts.

import { viewAccount } from './account.js';
import { viewAudit } from './audit.js';
import { viewBoard } from './board.js';
import { add, doc, h, icon, put } from './dom.js';
import { viewInbox } from './inbox.js';
import { live, setTitle } from './live.js';
import { viewPatients } from './patients.js';
import { setScreen, skipLink, topBar } from './screen.js';
import { viewSettings } from './settings.js';
import { viewStaff } from './staff.js';
import { idle, root, state } from './state.js';
import { watchStorage } from './storage.js';
import { viewSweep } from './sweep.js';
import { viewWorkload } from './workload.js';
import { viewWrite } from './write.js';
import { viewNotices } from './notices.js';
import { viewOnCall } from './oncall.js';

// --- Shell and routing

export function showShell() {
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
  watchStorage();
  route();
}

// leaveView runs the on-screen view's leave hook once and drops its hooks.
export function leaveView() {
  const hk = state.hooks;
  state.hooks = {};
  if (hk.leave) {
    try { hk.leave(); } catch (err) { console.error(err); }
  }
}

// route shows the view the URL names (#/view/arg). Unknown or forbidden
// views fall back to the first view in the table.
export function route() {
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

// --- Keyboard shortcuts: single keys, only when no field has the focus.

doc.addEventListener('keydown', (e) => {
  if (state.mode !== 'shell' || !state.hooks.key) return;
  if (e.ctrlKey || e.metaKey || e.altKey || e.defaultPrevented) return;
  const t = e.target;
  if (t && t.closest && t.closest('input, textarea, select, [contenteditable="true"], dialog')) return;
  state.hooks.key(e);
});

export function showShortcuts(list) {
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

// --- Views
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
  // Reaching out (write.js, notices.js, oncall.js).
  write: { label: 'Write to a patient', icon: 'reply', render: viewWrite },
  notices: { label: 'Notices', icon: 'bell', render: viewNotices },
  oncall: { label: 'On-call rota', icon: 'clock', roles: ['owner'], render: viewOnCall },
};
