// Workload: what is open, where and with whom.

import { api } from './api.js';
import { add, debounce, errorBox, h, put, viewHead } from './dom.js';
import { roleName } from './format.js';
import { state } from './state.js';
import { ensureStaff, rememberQueues, staffName } from './team.js';
import { typeBadge } from './words.js';

// --- Workload

function minutesWords(m) {
  if (!m) return '—';
  if (m < 1) return '< 1 min';
  if (m < 60) return `${Math.round(m)} min`;
  const hr = Math.floor(m / 60);
  const mm = Math.round(m - hr * 60);
  return mm ? `${hr} h ${mm} min` : `${hr} h`;
}

export function viewWorkload(c, ctx) {
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
