// Settings sections for how work flows: office hours, reply targets,
// queues and routing, templates. Each saves only its own part
// (PUT /api/v1/settings takes a partial object).

import { api } from './api.js';
import { doc, fieldError, h, makeForm, okMessage, put } from './dom.js';
import { tables } from './meta.js';
import { memory } from './state.js';
import { typeLabel } from './words.js';

const dayNames = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
// targetWords name the kinds of request a reply target is set for. Which
// kinds have one, and what a new clinic has (settings answer null for a
// part never saved), come from the server's tables.
const targetWords = {
  message: 'Messages', refill: 'Refill requests', appointment: 'Appointment requests', callback: 'Call-back requests',
  billing: 'Billing questions', records: 'Records requests', other: 'Anything else',
};
const placeholders = [
  ['{patient_first_name}', 'the patient\u2019s first name'], ['{staff_name}', 'the name patients see for you'], ['{clinic_phone}', 'the clinic phone'],
  ['{clinic_name}', 'the clinic name'], ['{next_business_day}', 'the next day the office is open'],
];

export function sectionCard(id, title, intro, ...kids) {
  return h('section', { class: 'card wide settings-card', id, 'aria-labelledby': `${id}-title` },
    h('h2', { id: `${id}-title`, tabindex: '-1' }, title), intro ? h('p', { class: 'muted' }, intro) : null, kids);
}

// saver runs a partial save and shows its outcome in msg.
function saver(msg, btn) {
  let busy = false;
  return async (partial, okText) => {
    if (busy) return false;
    busy = true;
    btn.setAttribute('aria-disabled', 'true');
    put(msg);
    try {
      await api('PUT', '/api/v1/settings', partial);
      const m = okMessage(okText);
      put(msg, m);
      m.focus();
      return true;
    } catch (err) {
      if (!err.handled) put(msg, h('p', { class: 'err', role: 'alert' }, err.message));
      return false;
    } finally {
      busy = false;
      btn.removeAttribute('aria-disabled');
    }
  };
}

function errIn(msg, text, focus) {
  put(msg, h('p', { class: 'err', role: 'alert' }, text));
  if (focus) focus.focus();
}

// clockSelect picks a time of day in quarter hours; a closing time may be
// midnight at the end of the day ("24:00"), which a time input cannot show.
function clockSelect(id, value, closing, label) {
  const opts = [];
  for (let m = 0; m <= 24 * 60; m += 15) {
    if (m === 24 * 60 && !closing) break;
    const hh = String(Math.floor(m / 60)).padStart(2, '0');
    const mm = String(m % 60).padStart(2, '0');
    const hr = Math.floor(m / 60) % 24;
    const text = m === 24 * 60 ? 'Midnight (end of day)' : m === 0 ? 'Midnight' : `${hr % 12 || 12}:${mm} ${hr < 12 ? 'AM' : 'PM'}`;
    opts.push([`${hh}:${mm}`, text]);
  }
  if (value && !opts.some(([v]) => v === value)) opts.push([value, value]);
  const sel = h('select', { id, 'aria-label': label }, opts.map(([v, t]) => h('option', { value: v }, t)));
  sel.value = value || (closing ? '17:00' : '09:00');
  return sel;
}

export function hoursCard(s) {
  const hours = s.hours || { weekly: [[], ...[1, 2, 3, 4, 5].map(() => [{ open: '09:00', close: '17:00' }]), []], holidays: [] };
  const weekly = dayNames.map((_, d) => (hours.weekly[d] || []).map((x) => ({ ...x })));
  const table = h('div', { class: 'hours', id: 'hours-days' });
  const msg = h('div', { class: 'form-msg', id: 'hours-msg' });
  const holidays = h('textarea', { id: 'hours-holidays', rows: 3, 'aria-describedby': 'hours-holidays-hint', spellcheck: 'false' });
  holidays.value = (hours.holidays || []).join('\n');
  const save = h('button', { type: 'submit', class: 'primary', id: 'hours-submit' }, 'Save office hours');
  const run = saver(msg, save);
  function paint(focusId) {
    put(table, dayNames.map((name, d) => {
      const spans = weekly[d];
      const addBtn = h('button', { type: 'button', class: 'link small', id: `hours-${d}-add` }, spans.length ? 'Add a period' : 'Open this day',
        h('span', { class: 'vh' }, ` on ${name}`));
      addBtn.addEventListener('click', () => {
        const last = spans[spans.length - 1];
        spans.push(last ? { open: last.close, close: last.close < '17:00' ? '17:00' : last.close } : { open: '09:00', close: '17:00' });
        paint(`hours-${d}-${spans.length - 1}-open`);
      });
      return h('div', { class: 'day', role: 'group', 'aria-labelledby': `hours-${d}-name` },
        h('span', { class: 'day-name', id: `hours-${d}-name` }, name),
        h('div', { class: 'spans' },
          spans.length ? spans.map((sp, i) => {
            const o = clockSelect(`hours-${d}-${i}-open`, sp.open, false, `${name} opens` + (i ? ` (period ${i + 1})` : ''));
            const cl = clockSelect(`hours-${d}-${i}-close`, sp.close, true, `${name} closes` + (i ? ` (period ${i + 1})` : ''));
            o.addEventListener('change', () => { sp.open = o.value; });
            cl.addEventListener('change', () => { sp.close = cl.value; });
            const rm = h('button', { type: 'button', class: 'link small' }, 'Remove', h('span', { class: 'vh' }, ` ${name} period ${i + 1}`));
            rm.addEventListener('click', () => { spans.splice(i, 1); paint(`hours-${d}-add`); });
            return h('div', { class: 'span' }, o, h('span', { 'aria-hidden': 'true' }, 'to'), cl, rm);
          }) : h('span', { class: 'muted closed-day' }, 'Closed'),
          addBtn));
    }));
    if (focusId) { const el = doc.getElementById(focusId); if (el) el.focus(); }
  }
  paint();
  const form = h('form', { novalidate: true, id: 'hours-form', 'aria-label': 'Office hours' }, table,
    h('div', { class: 'field' }, h('label', { for: 'hours-holidays' }, 'Holidays (closed all day)'),
      h('p', { class: 'hint', id: 'hours-holidays-hint' }, 'One date per line, like 2026-12-25.'), holidays),
    msg, h('div', { class: 'actions' }, save));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const clock = /^(([01]\d|2[0-3]):[0-5]\d|24:00)$/;
    for (let d = 0; d < 7; d++) {
      let prevClose = '';
      for (let i = 0; i < weekly[d].length; i++) {
        const sp = weekly[d][i];
        if (!clock.test(sp.open) || sp.open === '24:00' || !clock.test(sp.close)) return errIn(msg, `${dayNames[d]}: give both an opening and a closing time.`, doc.getElementById(`hours-${d}-${i}-open`));
        if (sp.close <= sp.open) return errIn(msg, `${dayNames[d]}: the closing time must come after the opening time.`, doc.getElementById(`hours-${d}-${i}-close`));
        if (prevClose && sp.open < prevClose) return errIn(msg, `${dayNames[d]}: the periods overlap.`, doc.getElementById(`hours-${d}-${i}-open`));
        prevClose = sp.close;
      }
    }
    const hol = holidays.value.split(/[\s,]+/).filter(Boolean);
    const bad = hol.find((x) => !/^\d{4}-\d{2}-\d{2}$/.test(x) || Number.isNaN(new Date(`${x}T00:00:00Z`).getTime()));
    if (bad) return errIn(msg, `“${bad}” is not a date like 2026-12-25.`, holidays);
    run({ hours: { weekly, holidays: hol } }, 'Office hours saved. Due times of new requests follow them.');
  });
  return sectionCard('set-hours', 'Office hours', 'Due times count only open hours, and patients who write while the office is closed are told when it opens.', form);
}

export function targetsCard(s) {
  const defaults = tables.default_targets;
  const t = { ...defaults, ...(s.targets || {}) };
  // The kinds with a target in the order of the item types, then the rest
  // ("other").
  const order = [...tables.item_types.filter((k) => k in defaults), ...Object.keys(defaults).filter((k) => !tables.item_types.includes(k)).sort()];
  const kinds = order.map((k) => [k, targetWords[k] || typeLabel(k)]);
  const f = makeForm('targets', kinds.map(([k, label]) => ({
    name: k, label, type: 'number', value: String(Math.round((t[k] / 60) * 100) / 100),
    attrs: { min: 0.25, max: 240, step: 0.25, inputmode: 'decimal' },
  })), {
    submit: 'Save reply targets', label: 'Reply targets', class: 'grid-form',
    async onSubmit(v) {
      const out = {};
      for (const [k] of kinds) {
        const n = Number(v[k]);
        if (!v[k].trim() || !Number.isFinite(n) || n <= 0) throw fieldError(k, 'Type a number of hours, like 8 or 0.5.');
        out[k] = Math.round(n * 60);
      }
      await api('PUT', '/api/v1/settings', { targets: out });
      const m = okMessage('Reply targets saved. They apply to new requests.');
      f.el.querySelector('.form-msg').replaceChildren(m);
      m.focus();
    },
  });
  return sectionCard('set-targets', 'Reply targets', 'How soon the clinic aims to answer each kind of request, in open office hours (8 = one working day). A request past its target shows as overdue.', f.el);
}

export function queuesCard(s, known) {
  const queues = (s.queues && s.queues.length ? s.queues : (known.length ? known : tables.default_queues)).map((q) => ({ ...q, roles: [...(q.roles || [])], saved: true }));
  const routes = { ...tables.default_routes, ...(s.routes || {}) };
  const list = h('div', { id: 'queue-list' });
  const routeBox = h('div', { id: 'route-list', class: 'routes' });
  const msg = h('div', { class: 'form-msg', id: 'queues-msg' });
  const save = h('button', { type: 'submit', class: 'primary', id: 'queues-submit' }, 'Save queues and routing');
  const run = saver(msg, save);
  const addBtn = h('button', { type: 'button', class: 'small', id: 'queue-add' }, '+ Add a queue');
  addBtn.addEventListener('click', () => {
    queues.push({ id: '', name: '', roles: ['frontdesk', 'clinician'], saved: false });
    paint(`queue-${queues.length - 1}-name`);
  });
  function paint(focusId) {
    put(list, h('table', { class: 'data compact', id: 'queue-table' },
      h('thead', null, h('tr', null, ['Queue name', 'Front desk works it', 'Clinicians work it', ''].map((t, i) => h('th', { scope: 'col' }, t || h('span', { class: 'vh' }, i === 3 ? 'Remove' : ''))))),
      h('tbody', null, queues.map((q, i) => {
        const name = h('input', { id: `queue-${i}-name`, value: q.name, 'aria-label': `Name of queue ${i + 1}`, maxlength: 40 });
        name.addEventListener('input', () => { q.name = name.value; });
        name.addEventListener('change', () => paintRoutes());
        const role = (r, label) => {
          const cb = h('input', { type: 'checkbox', id: `queue-${i}-${r}`, checked: q.roles.includes(r), 'aria-label': `${label}: ${q.name || `queue ${i + 1}`}` });
          cb.addEventListener('change', () => { q.roles = cb.checked ? [...new Set([...q.roles, r])] : q.roles.filter((x) => x !== r); });
          return cb;
        };
        const rm = q.id === tables.urgent_queue ? h('span', { class: 'muted small-text' }, 'Urgent requests go here')
          : h('button', { type: 'button', class: 'link small', id: `queue-${i}-remove` }, 'Remove', h('span', { class: 'vh' }, ` ${q.name}`));
        if (rm.tagName === 'BUTTON') {
          rm.addEventListener('click', () => {
            const used = Object.entries(routes).filter(([, v]) => v === q.id && q.id);
            if (used.length) { errIn(msg, `Send ${used.map(([k]) => typeLabel(k).toLowerCase()).join(', ')} to another queue first.`, rm); return; }
            queues.splice(i, 1);
            paint('queue-add');
          });
        }
        return h('tr', null, h('td', null, name), h('td', null, role('frontdesk', 'Front desk works it')), h('td', null, role('clinician', 'Clinicians work it')), h('td', null, rm));
      }))));
    paintRoutes();
    if (focusId) { const el = doc.getElementById(focusId); if (el) el.focus(); }
  }
  function paintRoutes() {
    put(routeBox, tables.item_types.map((t) => {
      const id = `route-${t}`;
      const sel = h('select', { id }, queues.filter((q) => q.name.trim()).map((q, i) => h('option', { value: q.id || `new:${queues.indexOf(q)}` }, q.name)));
      sel.value = routes[t] || 'frontdesk';
      sel.addEventListener('change', () => { routes[t] = sel.value; });
      return h('div', { class: 'field' }, h('label', { for: id }, typeLabel(t)), sel);
    }));
  }
  paint();
  const form = h('form', { novalidate: true, id: 'queues-form', 'aria-label': 'Queues and routing' },
    list, h('div', { class: 'actions' }, addBtn),
    h('h3', null, 'Where each kind of request goes'),
    h('p', { class: 'hint' }, 'Urgent requests always go to Clinical, whatever their kind. Owners see every queue.'),
    routeBox, msg, h('div', { class: 'actions' }, save));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const used = new Set();
    const slug = (x) => x.toLowerCase().normalize('NFKD').replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 30) || 'queue';
    const out = [];
    const newIds = {};
    for (let i = 0; i < queues.length; i++) {
      const q = queues[i];
      if (!q.name.trim()) return errIn(msg, 'Give every queue a name.', doc.getElementById(`queue-${i}-name`));
      if (!q.roles.length) return errIn(msg, `Choose who works ${q.name}.`, doc.getElementById(`queue-${i}-frontdesk`));
      let id = q.id || slug(q.name);
      while (used.has(id)) id += '-2';
      used.add(id);
      if (!q.id) newIds[`new:${i}`] = id;
      out.push({ id, name: q.name.trim(), roles: q.roles });
    }
    if (!used.has(tables.urgent_queue)) return errIn(msg, 'Keep the Clinical queue: urgent requests go there.');
    const outRoutes = {};
    for (const [t, qv] of Object.entries(routes)) outRoutes[t] = newIds[qv] || qv;
    run({ queues: out, routes: outRoutes }, 'Queues and routing saved. New requests follow them.').then((ok) => {
      if (!ok) return;
      out.forEach((q, i) => { queues[i].id = q.id; queues[i].saved = true; });
      for (const [t, qv] of Object.entries(outRoutes)) routes[t] = qv;
      memory.queueInfo = null;
    });
  });
  return sectionCard('set-queues', 'Queues and routing', 'Queues are the shared lists staff work from. Each person sees the queues of their role.', form);
}

// templatesCard edits the reply templates: each has a text per language the
// patient pages speak (langs, English first); a reply uses the text in the
// patient's language, or the English one when that is left empty.
export function templatesCard(s, defaults, langs) {
  const others = (langs || []).filter((l) => l.code !== 'en');
  const list = (s.templates || defaults || []).map((t) => ({ ...t, texts: { ...(t.texts || {}) } }));
  const box = h('div', { id: 'template-list' });
  const msg = h('div', { class: 'form-msg', id: 'templates-msg' });
  const save = h('button', { type: 'submit', class: 'primary', id: 'templates-submit' }, 'Save templates');
  const run = saver(msg, save);
  const addBtn = h('button', { type: 'button', class: 'small', id: 'template-add' }, '+ Add a template');
  addBtn.addEventListener('click', () => { list.push({ id: '', name: '', body: '', texts: {} }); paint(`tpl-${list.length - 1}-name`); });
  function paint(focusId) {
    put(box, list.map((t, i) => {
      const name = h('input', { id: `tpl-${i}-name`, value: t.name, maxlength: 80 });
      const body = h('textarea', { id: `tpl-${i}-body`, rows: 3, lang: 'en' });
      body.value = t.body;
      name.addEventListener('input', () => { t.name = name.value; });
      body.addEventListener('input', () => { t.body = body.value; });
      const texts = others.map((l) => {
        const id = `tpl-${i}-text-${l.code}`;
        const area = h('textarea', { id, rows: 3, lang: l.code, 'aria-describedby': `${id}-hint` });
        area.value = t.texts[l.code] || '';
        area.addEventListener('input', () => { t.texts[l.code] = area.value; });
        return h('div', { class: 'field' }, h('label', { for: id }, `Text in ${l.name}`),
          h('p', { class: 'hint', id: `${id}-hint` }, `For patients who read ${l.name}. Left empty, they get the English text.`), area);
      });
      const rm = h('button', { type: 'button', class: 'link small' }, 'Remove', h('span', { class: 'vh' }, ` template ${t.name}`));
      rm.addEventListener('click', () => { list.splice(i, 1); paint('template-add'); });
      return h('fieldset', { class: 'tpl' }, h('legend', { class: 'vh' }, `Template ${i + 1}`),
        h('div', { class: 'field' }, h('label', { for: `tpl-${i}-name` }, 'Name'), name),
        h('div', { class: 'field' }, h('label', { for: `tpl-${i}-body` }, others.length ? 'Text in English' : 'Text'), body), texts, rm);
    }));
    if (focusId) { const el = doc.getElementById(focusId); if (el) el.focus(); }
  }
  paint();
  const form = h('form', { novalidate: true, id: 'templates-form', 'aria-label': 'Reply templates' },
    h('div', { class: 'placeholders' }, h('p', null, h('strong', null, 'Placeholders'), ' are filled in for each request:'),
      h('ul', null, placeholders.map(([p, what]) => h('li', null, h('code', null, p), ` ${what}`)))),
    others.length ? h('p', { class: 'muted' }, 'Inserting a template into a reply uses the text in the patient\u2019s language.') : null,
    box, h('div', { class: 'actions' }, addBtn), msg, h('div', { class: 'actions' }, save));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const used = new Set();
    const out = [];
    for (let i = 0; i < list.length; i++) {
      const t = list[i];
      if (!t.name.trim()) return errIn(msg, 'Give every template a name.', doc.getElementById(`tpl-${i}-name`));
      if (!t.body.trim()) return errIn(msg, `Write the text of “${t.name}”.`, doc.getElementById(`tpl-${i}-body`));
      let id = t.id || t.name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 40) || 'template';
      while (used.has(id)) id += '-2';
      used.add(id);
      t.id = id;
      const texts = {};
      for (const l of others) {
        const x = (t.texts[l.code] || '').trim();
        if (x) texts[l.code] = x;
      }
      out.push({ id, name: t.name.trim(), body: t.body.trim(), texts });
    }
    run({ templates: out }, 'Templates saved.');
  });
  return sectionCard('set-templates', 'Reply templates', 'Ready-made replies staff pick from the Templates menu, then edit before sending.', form);
}
