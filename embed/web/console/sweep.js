// The end-of-day sweep: open requests still unanswered, unassigned or
// overdue, each with an assign menu.

import { api } from './api.js';
import { add, debounce, errorBox, h, icon, put, viewHead } from './dom.js';
import { dueWords, plural } from './format.js';
import { state } from './state.js';
import { assignMenu, ensureQueues, ensureStaff, rememberRows, staffName } from './team.js';
import { typeBadge, typeLabel, urgentBadge } from './words.js';

// --- End-of-day sweep

const sweepReasons = { unanswered: 'No reply yet', unassigned: 'Nobody assigned', overdue: 'Overdue' };

export function viewSweep(c, ctx) {
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
