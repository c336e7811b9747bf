// The audit log (owner): filters, paging back in time, CSV export.

import { api } from './api.js';
import { add, doc, h, makeForm, put, viewHead } from './dom.js';
import { formatTime, plural, roleName } from './format.js';
import { accessWords } from './words.js';

// --- Audit log (owner)

const auditActions = ['item.read', 'item.list', 'item.message', 'item.assign', 'item.status', 'item.queue', 'item.export', 'contact.link',
  'patient.items', 'invite.create', 'breakglass.open', 'device.revoke', 'vault.unlock', 'vault.passphrase_on', 'vault.passphrase_off', 'staff.signin', 'staff.signin_totp', 'staff.signout', 'staff.switch_out', 'session.lock', 'session.unlock',
  'patients.search', 'patient.search_result', 'patient.read', 'patient.create', 'staff.create', 'staff.change',
  'staff.password_change', 'staff.password_reset', 'staff.pin_change', 'staff.totp_on', 'staff.totp_off',
  'settings.change', 'audit.export', 'audit.integrity', 'audit.head_sealed', 'backup.write', 'backup.scheduled'];

export function viewAudit(c, ctx) {
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
