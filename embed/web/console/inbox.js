// The inbox: queue tabs, filters, the live table and its shortcuts.

import { api } from './api.js';
import { add, debounce, doc, errorBox, h, icon, okMessage, put, viewHead } from './dom.js';
import { dueWords, formatTime, plural } from './format.js';
import { viewItem } from './item.js';
import { alertControls, clearUnseen } from './live.js';
import { tables } from './meta.js';
import { showShortcuts } from './shell.js';
import { memory, state } from './state.js';
import { ensureStaff, rememberQueues, rememberRows, staffName } from './team.js';
import { statusName, typeBadge, typeLabel, urgentBadge } from './words.js';

// --- Inbox

export function viewInbox(c, ctx) {
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
    sel_('type', 'Type', [['', 'All types'], ...tables.item_types.map((t) => [t, typeLabel(t)])], f.type),
    sel_('status', 'Status', [['', 'Not closed'], ...tables.statuses.map((s) => [s, statusName(s)])], f.status),
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
  add(c, viewHead('Inbox', h('a', { class: 'button', href: '#/write', id: 'inbox-write' }, 'Write to a patient'), alertControls(), keysBtn), tabs, filters, msg, status, table, empty);
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
