// The practice-system import on the appointments board.

import { api } from './api.js';
import { doc, field, h, okMessage, put } from './dom.js';
import { formatWhen, plural } from './format.js';
import { tables } from './meta.js';
import { memory } from './state.js';

// importFieldInfo: each import field's label, and whether a mapping must
// name it. Which fields there are comes from the server's tables. The
// appointment id is optional: without one, the server knows a row again by
// its patient, start and provider.
const importFieldInfo = {
  external_id: ['Appointment id', false], patient_name: ['Patient name', true], patient_dob: ['Birth date', true],
  date: ['Date', true], time: ['Time', false], minutes: ['Length (minutes)', false], provider: ['Provider', false],
  location: ['Location', false], reason: ['Reason', false],
};
const fieldInfo = (k) => importFieldInfo[k] || [k.replace(/_/g, ' '), false];

// importGuesses: column names a practice system may use for each field.
const importGuesses = {
  external_id: ['id', 'appointmentid', 'apptid', 'externalid', 'visitid', 'encounterid', 'appointmentno', 'apptno', 'bookingid'],
  patient_name: ['patient', 'patientname', 'name', 'fullname', 'patientfullname'],
  patient_dob: ['dob', 'birthdate', 'dateofbirth', 'patientdob', 'birthday', 'born'],
  date: ['date', 'appointmentdate', 'apptdate', 'visitdate', 'day', 'startdate'],
  time: ['time', 'starttime', 'appointmenttime', 'appttime', 'start'],
  minutes: ['minutes', 'length', 'duration', 'mins', 'durationmin', 'durationminutes', 'lengthmin'],
  provider: ['provider', 'doctor', 'clinician', 'physician', 'resource', 'seenby'],
  location: ['location', 'room', 'site', 'office', 'place'],
  reason: ['reason', 'visitreason', 'visittype', 'appointmenttype', 'type', 'purpose'],
};
const importRowNames = { ok: 'Ready', duplicate: 'Already imported', unmatched: 'To resolve', error: 'Error' };

// csvHeader reads a CSV's header row (quotes, commas or semicolons), the
// way the server does, to offer its columns before anything is sent.
function csvHeader(text) {
  const first = (text || '').replace(/^\uFEFF/, '').split(/\r?\n/).find((l) => l.trim()) || '';
  const sep = (first.match(/;/g) || []).length > (first.match(/,/g) || []).length ? ';' : ',';
  const out = [];
  let cur = '';
  let q = false;
  for (let i = 0; i < first.length; i++) {
    const ch = first[i];
    if (q) {
      if (ch === '"' && first[i + 1] === '"') { cur += '"'; i++; } else if (ch === '"') q = false; else cur += ch;
    } else if (ch === '"') q = true;
    else if (ch === sep) { out.push(cur.trim()); cur = ''; } else cur += ch;
  }
  out.push(cur.trim());
  return out.filter(Boolean);
}

function guessColumn(fieldName, columns, taken) {
  const norm = (s) => s.toLowerCase().replace(/[^a-z0-9]/g, '');
  const words = [norm(fieldName), ...(importGuesses[fieldName] || [])];
  const free = columns.filter((c) => !taken.has(c));
  for (const w of words) { const c = free.find((x) => norm(x) === w); if (c) return c; }
  for (const w of words) { if (w.length < 4) continue; const c = free.find((x) => norm(x).includes(w)); if (c) return c; }
  return '';
}

// importPanel reads the practice system's CSV export, maps its columns,
// previews every row, then imports all good rows at once.
export function importPanel(ctx, onImported) {
  let columns = [];
  let mapping = {};
  let preview = null;
  const fileId = 'import-file';
  const file = h('input', { type: 'file', id: fileId, accept: '.csv,text/csv,text/plain', 'aria-describedby': 'import-file-hint' });
  const text = field('import', { name: 'csv', label: 'Or paste the export here', type: 'textarea', rows: 4,
    hint: 'The first line must name the columns.', attrs: { spellcheck: 'false' } });
  text.input.classList.add('mono');
  const readBtn = h('button', { type: 'button', id: 'import-read' }, 'Next: match the columns');
  const mapBox = h('div', { id: 'import-mapping', hidden: true });
  const out = h('div', { id: 'import-result' });
  const msg = h('div', { id: 'import-msg', class: 'form-msg' });

  file.addEventListener('change', () => {
    const fl = file.files && file.files[0];
    if (!fl) return;
    const rd = new FileReader();
    rd.onload = () => { text.input.value = String(rd.result || ''); readColumns(); };
    rd.onerror = () => put(msg, h('p', { class: 'err', role: 'alert' }, 'The file could not be read. Export it again as CSV and try once more.'));
    rd.readAsText(fl);
  });
  readBtn.addEventListener('click', readColumns);

  async function readColumns() {
    put(msg); put(out); text.clear();
    preview = null;
    const csv = text.input.value;
    columns = csvHeader(csv);
    if (!csv.trim() || !columns.length) { text.setError('Choose the export file, or paste its text, first.'); text.input.focus(); return; }
    // The remembered mapping (from the last import), where it fits this file.
    let remembered = memory.importMapping || null;
    if (!remembered) {
      try {
        const r = await api('POST', '/api/v1/appointments/import', { csv, commit: false }, { quiet: false });
        remembered = r.mapping || null;
      } catch (err) {
        if (err.handled) return;
        remembered = null; // nothing remembered yet, or it does not fit: guess
      }
    }
    if (!ctx.alive()) return;
    mapping = {};
    const taken = new Set();
    for (const k of tables.import_fields) {
      const r = remembered && remembered[k];
      const hit = r && columns.find((c) => c.toLowerCase() === String(r).toLowerCase());
      if (hit) { mapping[k] = hit; taken.add(hit); }
    }
    for (const k of tables.import_fields) {
      if (mapping[k]) continue;
      const g = guessColumn(k, columns, taken);
      if (g) { mapping[k] = g; taken.add(g); }
    }
    paintMapping();
    const first = mapBox.querySelector('h3');
    if (first) first.focus();
  }

  function paintMapping() {
    const selects = tables.import_fields.map((k) => {
      const [label, need] = fieldInfo(k);
      const id = `map-${k}`;
      const s = h('select', { id, name: k }, h('option', { value: '' }, need ? 'Choose a column' : '(not in the file)'),
        columns.map((col) => h('option', { value: col }, col)));
      s.value = mapping[k] || '';
      s.addEventListener('change', () => { mapping[k] = s.value; preview = null; put(out); });
      return h('div', { class: 'field' }, h('label', { for: id }, label, need ? h('span', { class: 'req' }, ' (needed)') : null), s);
    });
    const pv = h('button', { type: 'button', class: 'primary', id: 'import-preview' }, 'Preview');
    pv.addEventListener('click', () => send(false));
    put(mapBox, h('h3', { tabindex: '-1', id: 'import-map-title' }, 'Which column holds what'),
      h('p', { class: 'hint' }, `The file has ${plural(columns.length, 'column', 'columns')}. Hearth filled in what it recognised; check each one.`),
      h('p', { class: 'hint', id: 'import-id-hint' }, 'No appointment id in the file? Leave it out: a row with the same patient, time and provider as one already imported is skipped.'),
      h('div', { class: 'map-grid' }, selects), h('div', { class: 'actions' }, pv));
    mapBox.hidden = false;
  }

  let busy = false;
  async function send(commit) {
    if (busy) return;
    for (const k of tables.import_fields) {
      const [label, need] = fieldInfo(k);
      if (need && !mapping[k]) {
        put(msg, h('p', { class: 'err', role: 'alert' }, `Choose the column that holds the ${label.toLowerCase()}.`));
        doc.getElementById(`map-${k}`).focus();
        return;
      }
    }
    busy = true;
    put(msg);
    const m = {};
    for (const [k, v] of Object.entries(mapping)) if (v) m[k] = v;
    try {
      const r = await api('POST', '/api/v1/appointments/import', { csv: text.input.value, mapping: m, commit });
      if (!ctx.alive()) return;
      if (commit) {
        memory.importMapping = m;
        const left = r.rows.filter((x) => x.status === 'unmatched').length;
        const ok = okMessage(`Imported ${plural(r.imported, 'appointment', 'appointments')}.${left ? ` ${plural(left, 'row', 'rows')} to resolve ${left === 1 ? 'was' : 'were'} left out: add or correct ${left === 1 ? 'that patient' : 'those patients'}, then import the file again (rows already imported are skipped).` : ''}`);
        ok.id = 'import-ok';
        preview = null;
        put(out, ok, warningList(r.rows, 'Imported, but check'));
        ok.focus();
        onImported();
        return;
      }
      preview = r;
      paintPreview(r);
    } catch (err) {
      if (!ctx.alive() || err.handled) return;
      if (err.status === 422 && err.body && err.body.rows) {
        preview = err.body;
        paintPreview(err.body, true);
        return;
      }
      if (err.field === 'csv' || err.field === 'file') { text.setError(err.message); text.input.focus(); return; }
      const box = h('p', { class: 'err', role: 'alert', tabindex: '-1' }, err.message);
      put(msg, box);
      box.focus();
    } finally {
      busy = false;
    }
  }

  // warningList names each row imported (or to be imported) with a warning,
  // such as an appointment on a day the clinic is closed.
  function warningList(rows, title) {
    const warned = (rows || []).filter((x) => x.warning);
    if (!warned.length) return null;
    return h('div', { class: 'warn-banner import-warnings', id: 'import-warnings' },
      h('div', null, h('strong', null, `${title}: `),
        h('ul', null, warned.map((x) => h('li', { 'data-line': x.line }, h('strong', null, `Line ${x.line}`),
          ` (${x.name || 'no name'}${x.starts_at ? `, ${formatWhen(x.starts_at)}` : ''}): ${x.warning}`)))));
  }

  function paintPreview(r, refused) {
    const count = (s) => r.rows.filter((x) => x.status === s).length;
    const ok = count('ok');
    const bad = r.rows.filter((x) => x.status === 'error');
    const unmatched = r.rows.filter((x) => x.status === 'unmatched');
    const head = refused
      ? h('div', { class: 'alert-box', role: 'alert', id: 'import-refused', tabindex: '-1' },
        h('strong', null, 'Nothing was imported: '),
        `fix ${bad.map((x) => `line ${x.line} (${x.reason})`).join(', ')} in the file, then preview again.`)
      : h('p', { class: 'import-sum', id: 'import-summary', tabindex: '-1' },
        h('strong', null, `${plural(r.rows.length, 'row', 'rows')} read: `),
        [ok ? `${ok} ready` : '', unmatched.length ? `${unmatched.length} to resolve` : '', count('duplicate') ? `${count('duplicate')} already imported` : '',
          bad.length ? `${plural(bad.length, 'error', 'errors')}` : '',
          r.warned ? `${plural(r.warned, 'warning', 'warnings')}` : ''].filter(Boolean).join(' · ') || 'nothing to import');
    const resolve = unmatched.length ? h('div', { class: 'resolve', id: 'import-resolve' },
      h('h4', null, 'To resolve'),
      h('p', { class: 'hint' }, 'No single patient matches these rows by name and birth date. They are left out of the import: add or correct the patient, then import the file again.'),
      h('ul', null, unmatched.map((x) => h('li', null, h('strong', null, `Line ${x.line}: `), `“${x.name || 'no name'}” — ${x.reason}`)))) : null;
    const tbl = h('div', { class: 'table-wrap scroll', tabindex: '0', role: 'region', 'aria-label': 'Rows of the file' }, h('table', { class: 'data compact import-rows', id: 'import-table' },
      h('caption', { class: 'vh' }, 'Each row of the file and what will happen to it'),
      h('thead', null, h('tr', null, ['Line', 'Patient as written', 'When', 'Status', 'Why'].map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', null, r.rows.map((x) => h('tr', { class: `ir-${x.status}`, 'data-line': x.line },
        h('td', { class: 'num' }, String(x.line)),
        h('td', null, x.name || '—'),
        h('td', { class: 'nowrap' }, x.starts_at ? formatWhen(x.starts_at) : '—'),
        h('td', null, h('span', { class: `import-status is-${x.status}` }, importRowNames[x.status] || x.status)),
        h('td', null, x.reason || '', x.warning ? h('span', { class: 'import-warn' }, x.warning) : null))))));
    let go = null;
    if (!refused && ok > 0 && bad.length === 0) {
      go = h('button', { type: 'button', class: 'primary', id: 'import-commit' }, `Import ${plural(ok, 'appointment', 'appointments')}`);
      go.addEventListener('click', () => send(true));
    }
    const note = !refused && bad.length ? h('p', { class: 'warn-banner', id: 'import-blocked' },
      'Nothing can be imported while a row has an error: fix the lines marked Error in the file, then preview again.') : null;
    put(out, head, note, resolve, refused ? null : warningList(r.rows, 'Check before importing'), tbl, go ? h('div', { class: 'actions' }, go) : null);
    head.focus();
  }

  return h('section', { class: 'card board-panel', id: 'board-import-panel', 'aria-labelledby': 'import-title' },
    h('h2', { id: 'import-title' }, 'Import from the practice system'),
    h('p', { class: 'hint', id: 'import-file-hint' }, 'Export the day\u2019s appointments as CSV. Patients are matched by name and birth date; nothing is guessed, and rows already imported are skipped.'),
    h('div', { class: 'field' }, h('label', { for: fileId }, 'Export file (CSV)'), file),
    text.wrap, h('div', { class: 'actions' }, readBtn), msg, mapBox, out);
}
