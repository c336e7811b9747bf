// The on-call rota (#/oncall, owners): who is on call, which days and hours
// (clinic time), their mobile number (for texts) and email, who is paged
// next when nobody answers, and after how many minutes. An urgent request
// while the clinic is closed pages the person on call; non-urgent requests
// page nobody.

import { api } from './api.js';
import { add, errorBox, h, okMessage, put, viewHead } from './dom.js';
import { clinicZone } from './format.js';
import { ensureStaff } from './team.js';

const dayNames = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];

export function viewOnCall(c, ctx) {
  const msg = h('div', { id: 'oncall-msg' });
  const rowsBox = h('div', { id: 'oncall-rows' });
  const fallBox = h('fieldset', { id: 'oncall-fallbacks' });
  const esc = h('input', { id: 'oncall-escalate', type: 'number', min: 1, max: 240, value: 10, class: 'short' });
  const escErr = h('p', { class: 'err', id: 'oncall-escalate-err', role: 'alert', hidden: true });
  const now = h('p', { class: 'muted', id: 'oncall-now' });
  const addBtn = h('button', { type: 'button', id: 'oncall-add' }, '+ Add a row');
  const saveBtn = h('button', { type: 'submit', class: 'primary', id: 'oncall-save' }, 'Save the rota');
  const form = h('form', { id: 'oncall-form', novalidate: true, 'aria-label': 'On-call rota' },
    h('h2', null, 'Who is on call'),
    h('p', { class: 'hint' }, `Times are the clinic\u2019s (${clinicZone || 'local time'}). For a night, add one row to 24:00 and one from 00:00 the next morning. Only one person is on call at a time.`),
    rowsBox, h('div', { class: 'actions' }, addBtn),
    h('h2', null, 'When nobody answers'),
    h('div', { class: 'field' }, h('label', { for: 'oncall-escalate' }, 'Minutes before the next person is paged'), esc, escErr),
    fallBox, msg, h('div', { class: 'actions' }, saveBtn));
  add(c, viewHead('On-call rota'), now, h('div', { class: 'card' }, form));

  let staff = [];
  const rows = [];
  function staffOptions(sel) {
    const s = h('select', { name: 'staff_id' }, h('option', { value: '' }, 'Choose…'),
      staff.filter((x) => !x.disabled).map((x) => h('option', { value: x.id }, x.name)));
    s.value = sel || '';
    return s;
  }
  function addRow(r) {
    const i = rows.length;
    const p = `oncall-${i}`;
    const who = staffOptions(r.staff_id);
    who.id = `${p}-staff_id`;
    const phone = h('input', { id: `${p}-phone`, type: 'tel', value: r.phone || '', autocomplete: 'off' });
    const email = h('input', { id: `${p}-email`, type: 'email', value: r.email || '', autocomplete: 'off', placeholder: 'their sign-in email' });
    const from = h('input', { id: `${p}-from`, type: 'text', value: r.from || '17:00', class: 'short', inputmode: 'numeric', placeholder: 'HH:MM' });
    const to = h('input', { id: `${p}-to`, type: 'text', value: r.to || '24:00', class: 'short', inputmode: 'numeric', placeholder: 'HH:MM' });
    const days = dayNames.map((d, n) => h('label', { class: 'day-box' },
      h('input', { type: 'checkbox', id: `${p}-day-${n}`, value: String(n), checked: (r.days || []).includes(n) }), d));
    const err = h('p', { class: 'err', role: 'alert', id: `${p}-err`, hidden: true });
    const remove = h('button', { type: 'button', class: 'small danger', id: `${p}-remove` }, 'Remove', h('span', { class: 'vh' }, ` row ${i + 1}`));
    const el = h('fieldset', { class: 'sub-card oncall-row', id: p },
      h('legend', null, `Row ${i + 1}`),
      h('div', { class: 'field' }, h('label', { for: who.id }, 'Who'), who),
      h('div', { class: 'field' }, h('label', { for: phone.id }, 'Mobile number (for texts)'), phone),
      h('div', { class: 'field' }, h('label', { for: email.id }, 'Email for pages (optional)'), email),
      h('div', { class: 'field' }, h('span', { class: 'label' }, 'Days'), h('div', { class: 'day-boxes' }, days)),
      h('div', { class: 'field inline' }, h('label', { for: from.id }, 'From'), from, h('label', { for: to.id }, 'To'), to),
      err, h('div', { class: 'actions' }, remove));
    const row = { el, who, phone, email, from, to, days, err, gone: false };
    remove.addEventListener('click', () => { row.gone = true; el.remove(); });
    rows.push(row);
    add(rowsBox, el);
    return row;
  }
  addBtn.addEventListener('click', () => addRow({ days: [1, 2, 3, 4, 5] }).who.focus());

  // Up to three fallbacks, in order; the owner comes after them anyway.
  const fallSelects = [];
  function paintFallbacks(chosen) {
    fallSelects.length = 0;
    put(fallBox, h('legend', null, 'Then page, in this order (the owner is paged last in any case)'),
      [0, 1, 2].map((n) => {
        const s = staffOptions(chosen[n]);
        s.id = `oncall-fallback-${n}`;
        s.firstChild.textContent = 'Nobody';
        fallSelects.push(s);
        return h('div', { class: 'field' }, h('label', { for: s.id }, ['First', 'Second', 'Third'][n]), s);
      }));
  }

  function values() {
    const live = rows.filter((r) => !r.gone);
    return {
      rota: live.map((r) => ({ staff_id: r.who.value, phone: r.phone.value, email: r.email.value, from: r.from.value.trim(), to: r.to.value.trim(),
        days: r.days.map((l) => l.firstChild).filter((b) => b.checked).map((b) => Number(b.value)) })),
      escalate_minutes: Number(esc.value) || 0,
      fallbacks: fallSelects.map((s) => s.value).filter((v, i, all) => v && all.indexOf(v) === i),
      live,
    };
  }

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    put(msg);
    escErr.hidden = true;
    for (const r of rows) { r.err.hidden = true; r.el.classList.remove('invalid'); }
    const v = values();
    try {
      const r = await api('PUT', '/api/v1/oncall', { rota: v.rota, escalate_minutes: v.escalate_minutes, fallbacks: v.fallbacks });
      if (!ctx.alive()) return;
      const ok = okMessage(`Rota saved: ${r.rota.length} ${r.rota.length === 1 ? 'row' : 'rows'}.`);
      put(msg, ok);
      ok.focus();
    } catch (err) {
      if (!ctx.alive() || err.handled) return;
      const m = /^rota\.(\d+)\.(\w+)$/.exec(err.field || '');
      if (m && v.live[+m[1]]) {
        const row = v.live[+m[1]];
        row.err.textContent = err.message;
        row.err.hidden = false;
        row.el.classList.add('invalid');
        const target = { staff_id: row.who, phone: row.phone, email: row.email, from: row.from, to: row.to }[m[2]] || row.days[0].firstChild;
        target.setAttribute('aria-describedby', row.err.id);
        target.focus();
      } else if (err.field === 'escalate_minutes') {
        escErr.textContent = err.message;
        escErr.hidden = false;
        esc.focus();
      } else {
        put(msg, errorBox(err.message));
      }
    }
  });

  Promise.all([ensureStaff(true), api('GET', '/api/v1/oncall')]).then(([list, oc]) => {
    if (!ctx.alive()) return;
    staff = list || [];
    esc.value = oc.escalate_minutes || 10;
    for (const r of oc.rota || []) addRow(r);
    if (!(oc.rota || []).length) addRow({ days: [1, 2, 3, 4, 5] });
    paintFallbacks(oc.fallbacks || []);
    const on = staff.find((x) => x.id === oc.on_call_now);
    now.textContent = on ? `On call now: ${on.name}.` : 'Nobody is on call right now.';
  }).catch((err) => { if (ctx.alive() && !err.handled) put(msg, errorBox(err.message)); });
  return null;
}
