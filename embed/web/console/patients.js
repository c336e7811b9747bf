// Patients: search, one patient's record (requests, portal invitations,
// signed-in devices, who looked at it) and a new patient.

import { api } from './api.js';
import { add, backLink, debounce, errorBox, fact, field, fieldError, h, makeForm, okMessage, put, viewHead } from './dom.js';
import { dueWords, formatDOB, formatTime, formatWhen, langNames, longDate, plural, roleName } from './format.js';
import { memory, state } from './state.js';
import { queueName, rememberRows } from './team.js';
import { accessWords, statusName, typeBadge, urgentBadge } from './words.js';

// --- Patients

export function viewPatients(c, ctx) {
  if (ctx.arg === 'new') return viewPatientNew(c, ctx);
  if (ctx.arg) return viewPatient(c, ctx, ctx.arg);

  const q = field('psearch', {
    name: 'q', label: 'Find a patient', type: 'search', value: memory.patientQuery || '',
    hint: 'First letters of a name (first or last), a birth date like 03/14/1961, or a phone number.',
    attrs: { spellcheck: 'false', autocapitalize: 'none' },
  });
  const status = h('p', { class: 'status-line', role: 'status', id: 'psearch-status', tabindex: '-1' });
  const results = h('div', { id: 'patient-results' });
  const form = h('form', { role: 'search', class: 'search', 'aria-label': 'Patients', novalidate: true,
    onsubmit: (e) => { e.preventDefault(); run(); } }, q.wrap);
  add(c, 
    viewHead('Patients', h('a', { class: 'button primary', href: '#/patients/new', id: 'patient-new' }, '+ New patient')),
    form, status, results);

  let seq = 0;
  const later = debounce(run, 300);
  q.input.addEventListener('input', later);

  async function run() {
    const text = q.input.value.trim();
    memory.patientQuery = text;
    const mine = ++seq;
    q.clear();
    if (text.length < 2) {
      put(results);
      status.textContent = text ? 'Type at least two characters.' : '';
      return;
    }
    try {
      const r = await api('GET', `/api/v1/patients?q=${encodeURIComponent(text)}`);
      if (mine !== seq || !ctx.alive()) return;
      const list = r.patients || [];
      status.textContent = list.length ? `${plural(list.length, 'patient', 'patients')} found.` : 'No patient matches. Check the spelling, or try the birth date or phone number.';
      put(results, list.length ? patientTable(list) : '');
    } catch (err) {
      if (mine !== seq || !ctx.alive() || err.handled) return;
      status.textContent = '';
      put(results);
      if (err.field === 'q') q.setError(err.message);
      else put(results, errorBox(err.message));
    }
  }
  if (memory.patientQuery) run();
  return q.input;
}

function patientTable(list) {
  return h('div', { class: 'table-wrap' }, h('table', { class: 'data', id: 'patient-table' },
    h('caption', { class: 'vh' }, 'Matching patients'),
    h('thead', null, h('tr', null, ['Name', 'Birth date', 'Age', 'Phone'].map((t) => h('th', { scope: 'col' }, t)))),
    h('tbody', null, list.map((p) => {
      const href = `#/patients/${encodeURIComponent(p.id)}`;
      // The whole row opens the record for a mouse; the name link is the
      // keyboard and screen-reader way.
      return h('tr', { class: 'go', onclick: (e) => { if (!e.target.closest('a')) location.hash = href; } },
        h('td', null, h('a', { href }, p.name)),
        h('td', { class: 'nowrap' }, formatDOB(p.dob)),
        h('td', null, String(p.age)),
        h('td', { class: 'nowrap' }, p.phone || '—'));
    }))));
}

function viewPatient(c, ctx, id) {
  const title = h('h1', { tabindex: '-1', id: 'patient-name' }, 'Patient');
  const body = h('div', { 'aria-busy': 'true' }, h('p', { class: 'muted' }, 'Loading…'));
  const extras = h('div', { id: 'patient-extras' });
  const flash = memory.flash;
  memory.flash = '';
  add(c, backLink('#/patients', 'Back to patients'),
    flash ? okMessage(flash) : null,
    h('section', { class: 'patient-banner', id: 'patient-banner', 'aria-labelledby': 'patient-name' }, title, body), extras);
  api('GET', `/api/v1/patients/${encodeURIComponent(id)}`).then((p) => {
    if (!ctx.alive()) return;
    title.textContent = p.name;
    const facts = h('dl', { class: 'facts' },
      fact('Born', `${formatDOB(p.dob)}`),
      fact('Age', String(p.age)),
      fact('Phone', p.phone ? (p.not_mobile ? `${p.phone} (not a mobile number: no texts)` : p.phone) : 'Not given'),
      fact('Email', p.email || 'Not given'),
      fact('Language', langNames[p.lang] || p.lang || 'English'),
      fact('Texts', textsWords(p)));
    const n = p.same_name || 0;
    put(body,
      n > 0 ? h('div', { class: 'warn-banner', role: 'alert', id: 'same-name' },
        h('span', { class: 'icon', 'aria-hidden': 'true' }, '⚠'),
        h('span', null, n === 1
          ? 'Another patient has the same name — check the birth date.'
          : `${n} other patients have the same name — check the birth date.`)) : null,
      facts);
    body.removeAttribute('aria-busy');
    put(extras, h('p', { class: 'actions' }, h('a', { class: 'button primary', href: `#/write/${encodeURIComponent(p.id)}`, id: 'patient-write' }, `Write to ${p.name}`)),
      patientExtras(ctx, p));
  }).catch((err) => {
    if (!ctx.alive() || err.handled) return;
    title.textContent = err.code === 'not_found' ? 'Patient not found' : 'Patient';
    put(body, errorBox(err.code === 'not_found' ? 'There is no patient record at this address.' : err.message));
    body.removeAttribute('aria-busy');
  });
  return flash ? c.querySelector('.ok-msg') : title;
}

// patientExtras: the patient's requests, portal access (invite letters and
// caregivers), signed-in devices, and who looked at the record.

function patientExtras(ctx, p) {
  const pid = encodeURIComponent(p.id);
  const items = h('section', { class: 'card', 'aria-labelledby': 'pi-title', id: 'patient-items' },
    h('h2', { id: 'pi-title' }, 'Requests'), h('p', { class: 'muted' }, 'Loading…'));
  const access = h('section', { class: 'card', 'aria-labelledby': 'pa-title', id: 'patient-access' });
  const devices = h('section', { class: 'card', 'aria-labelledby': 'pd-title', id: 'patient-devices' });
  const report = h('section', { class: 'card', 'aria-labelledby': 'pr-title', id: 'patient-report' });
  const letterWrap = h('div', { class: 'letter-wrap', id: 'letter-wrap', hidden: true });

  api('GET', `/api/v1/patients/${pid}/items`).then((r) => {
    if (!ctx.alive()) return;
    const rows = r.items || [];
    rememberRows(rows);
    put(items, h('h2', { id: 'pi-title' }, 'Requests'),
      rows.length ? h('div', { class: 'table-wrap flat' }, h('table', { class: 'data', id: 'patient-items-table' },
        h('thead', null, h('tr', null, ['Received', 'Request', 'Status', 'Due'].map((t) => h('th', { scope: 'col' }, t)))),
        h('tbody', null, rows.map((it) => {
          const d = dueWords(it);
          return h('tr', null,
            h('td', { class: 'nowrap' }, h('time', { datetime: it.created_at, title: formatTime(it.created_at) }, formatWhen(it.created_at))),
            h('td', null, h('div', { class: 'req-line' }, it.priority === 'urgent' ? urgentBadge() : null, typeBadge(it.type)),
              h('a', { href: `#/inbox/${encodeURIComponent(it.id)}` }, it.subject || `In ${queueName(it.queue)} (a queue you do not work)`)),
            h('td', null, h('span', { class: `status s-${it.status}` }, statusName(it.status))),
            h('td', { class: 'nowrap' }, h('span', { class: d.cls }, d.text)));
        }))))
        : h('p', { class: 'muted' }, 'No requests yet.'));
  }).catch((err) => { if (ctx.alive() && !err.handled) put(items, h('h2', { id: 'pi-title' }, 'Requests'), errorBox(err.message)); });

  // Invitations.
  const accessMsg = h('div', { id: 'invite-msg' });
  const printBtn = h('button', { type: 'button', class: 'primary', id: 'invite-print' }, 'Print invite letter');
  const cgToggle = h('button', { type: 'button', id: 'invite-caregiver', 'aria-expanded': 'false', 'aria-controls': 'caregiver-form' }, 'Invite a caregiver');
  const cgForm = makeForm('caregiver', [
    { name: 'caregiver', label: 'Caregiver\u2019s name', hint: `Someone ${p.name.split(' ')[0]} allows to write and read on their behalf, like a parent or an adult child.`, attrs: { maxlength: 120 } },
  ], {
    submit: 'Make the caregiver letter', label: 'Invite a caregiver',
    async onSubmit(v) {
      if (!v.caregiver.trim()) throw fieldError('caregiver', 'Write the caregiver\u2019s name.');
      await invite(v.caregiver.trim());
    },
  });
  const cgBox = h('div', { id: 'caregiver-form', hidden: true, class: 'sub-card' }, cgForm.el);
  cgToggle.addEventListener('click', () => {
    const show = cgBox.hidden;
    cgBox.hidden = !show;
    cgToggle.setAttribute('aria-expanded', String(show));
    if (show) cgForm.fields.caregiver.input.focus();
  });
  printBtn.addEventListener('click', () => invite('').catch((err) => { if (!err.handled) put(accessMsg, inviteError(err)); }));
  // Texting the invite: the link and the code go to the patient's mobile
  // (only for a patient who agreed to texts; the server says what is missing).
  const textBtn = h('button', { type: 'button', id: 'invite-text' }, 'Text the invite');
  textBtn.addEventListener('click', () => {
    put(accessMsg);
    api('POST', `/api/v1/patients/${pid}/invites`, { text: true }).then(() => {
      if (!ctx.alive()) return;
      const m = okMessage('The invite (the link and the code) is on its way to the patient’s mobile. It waits until 8 am if it is night.');
      put(accessMsg, m);
      m.focus();
      loadDevices();
    }).catch((err) => { if (!err.handled) put(accessMsg, inviteError(err)); });
  });
  add(access, h('h2', { id: 'pa-title' }, 'Patient portal'),
    h('p', { class: 'muted' }, 'A letter with a code lets the patient (or a caregiver) sign in from their own phone or computer. Each letter has its own code, which works once and expires.'),
    accessMsg, h('div', { class: 'actions' }, printBtn, textBtn, cgToggle), cgBox);

  // inviteError: a letter refused because patients have no address to go
  // to yet says where the owner sets it (the owner gets the link).
  function inviteError(err) {
    if (err.code !== 'conflict' || err.field !== 'public_url') return errorBox(err.message);
    const owner = state.me && state.me.staff && state.me.staff.role === 'owner';
    const box = h('div', { class: 'alert-box', role: 'alert', id: 'letter-blocked', tabindex: '-1' },
      h('strong', null, 'The letter cannot be printed yet. '), err.message,
      owner ? h('p', null, h('a', { href: '#/settings', id: 'letter-blocked-settings' }, 'Open Settings')) : null);
    setTimeout(() => box.focus(), 0);
    return box;
  }

  async function invite(caregiver) {
    put(accessMsg);
    const r = await api('POST', `/api/v1/patients/${pid}/invites`, caregiver ? { caregiver, letter: true } : { letter: true });
    if (!ctx.alive()) return;
    cgBox.hidden = true;
    cgToggle.setAttribute('aria-expanded', 'false');
    cgForm.el.reset();
    showLetter(r, caregiver);
    loadDevices();
  }

  // urlParts breaks the sign-in address only between the clinic's address
  // and the code's path, never inside either.
  function urlParts(url) {
    const at = url.lastIndexOf('/i/');
    if (at <= 0) return [h('span', { class: 'nowrap' }, url)];
    return [h('span', { class: 'nowrap' }, url.slice(0, at)), h('wbr'), h('span', { class: 'nowrap' }, url.slice(at))];
  }

  // showLetter lays out the letter the server wrote, in the patient's
  // language; the bar above it speaks to staff and is not printed.
  function showLetter(r, caregiver) {
    const L = r.letter || {};
    const until = longDate.format(new Date(r.expires_at));
    const qr = typeof r.qr === 'string' && r.qr.startsWith('data:image/png;base64,') ? r.qr : '';
    const title = h('h2', { id: 'letter-title', tabindex: '-1' }, caregiver ? 'Caregiver letter ready' : 'Invite letter ready');
    const printIt = h('button', { type: 'button', class: 'primary', id: 'letter-print' }, 'Print');
    printIt.addEventListener('click', () => window.print());
    const closeIt = h('button', { type: 'button', id: 'letter-close' }, 'Done');
    closeIt.addEventListener('click', () => { letterWrap.hidden = true; put(letterWrap); printBtn.focus(); });
    const lang = L.lang && L.lang !== 'en' ? ` It is written in ${langNames[L.lang] || L.lang}, the patient\u2019s language.` : '';
    put(letterWrap,
      h('div', { class: 'letter-bar noprint' }, title,
        h('p', { class: 'muted' }, `Print it and hand it over in person. The code expires ${until}.${lang}`),
        h('div', { class: 'actions' }, printIt, closeIt)),
      h('article', { class: 'letter', id: 'letter', lang: L.lang || 'en', 'aria-label': L.label },
        h('header', { class: 'letter-head' }, h('span', { class: 'logo', 'aria-hidden': 'true' }, 'H'), h('span', null, L.clinic)),
        h('p', { class: 'letter-to' }, L.to),
        h('h3', { class: 'letter-title' }, L.title),
        h('p', null, L.lead),
        h('div', { class: 'letter-grid' },
          qr ? h('img', { class: 'letter-qr', src: qr, alt: L.qr_alt, width: 220, height: 220 }) : null,
          h('ol', { class: 'letter-steps' },
            h('li', null, qr ? L.step_scan : L.step_type, h('span', { class: 'letter-url', id: 'letter-url' }, urlParts(L.url || r.url))),
            h('li', null, L.step_code, h('span', { class: 'letter-code', id: 'letter-code' }, L.code)),
            h('li', null, L.step_dob))),
        h('p', { class: 'letter-small' }, L.private),
        h('p', { class: 'letter-small', id: 'letter-emergency' }, L.emergency)));
    letterWrap.hidden = false;
    title.focus();
  }

  // Devices.
  function loadDevices(message) {
    api('GET', `/api/v1/patients/${pid}/devices`).then((r) => {
      if (!ctx.alive()) return;
      const ds = r.devices || [];
      const m = message ? okMessage(message) : null;
      put(devices, h('h2', { id: 'pd-title' }, 'Signed-in devices'), m,
        ds.length ? h('ul', { class: 'plain devices', id: 'device-list' }, ds.map((d) => h('li', null,
          h('span', null, h('strong', null, d.label || 'A device'),
            h('span', { class: 'sub' }, d.caregiver ? `Caregiver: ${d.caregiver} · ` : '', d.shared ? 'Shared computer · ' : '',
              'since ', h('time', { datetime: d.created }, formatTime(d.created)))),
          h('button', { type: 'button', class: 'small danger', onclick: async () => {
            if (!window.confirm(`Sign out ${d.label || 'this device'}? ${d.caregiver ? `${d.caregiver} will need a new letter to sign in again.` : 'It will need a new letter to sign in again.'}`)) return;
            try {
              await api('DELETE', `/api/v1/devices/${encodeURIComponent(d.id)}`);
              loadDevices('Device signed out.');
            } catch (err) { if (!err.handled) put(devices, errorBox(err.message)); }
          } }, 'Sign out', h('span', { class: 'vh' }, ` ${d.label || 'device'}`)))))
          : h('p', { class: 'muted' }, 'No device is signed in to the portal.'));
      if (m) m.focus();
    }).catch((err) => { if (ctx.alive() && !err.handled) put(devices, h('h2', { id: 'pd-title' }, 'Signed-in devices'), errorBox(err.message)); });
  }
  loadDevices();

  // Access report.
  api('GET', `/api/v1/patients/${pid}/access`).then((r) => {
    if (!ctx.alive()) return;
    const evs = (r.events || []).slice().reverse();
    put(report, h('h2', { id: 'pr-title' }, 'Who looked at this record'),
      h('p', { class: 'muted' }, `Every time staff opened or changed it, newest first. ${p.name.split(' ')[0]} can see this list too.`),
      evs.length ? h('div', { class: 'table-wrap flat scroll', tabindex: '0', role: 'region', 'aria-label': 'Access report, scrollable' }, h('table', { class: 'data compact', id: 'access-table' },
        h('thead', null, h('tr', null, ['When', 'Who', 'What'].map((t) => h('th', { scope: 'col' }, t)))),
        h('tbody', null, evs.map((e) => h('tr', null,
          h('td', { class: 'nowrap' }, h('time', { datetime: e.at, title: formatTime(e.at) }, formatWhen(e.at))),
          h('td', null, e.actor_name, e.actor_role ? h('span', { class: 'sub' }, roleName(e.actor_role)) : null),
          h('td', null, accessWords[e.action] || e.action))))))
        : h('p', { class: 'muted' }, 'Nobody yet.'));
  }).catch((err) => { if (ctx.alive() && !err.handled) put(report, h('h2', { id: 'pr-title' }, 'Who looked at this record'), errorBox(err.message)); });

  return [letterWrap, h('div', { class: 'patient-grid' }, items, access, devices, report)];
}

// textsWords says whether the patient gets texts, and since when and how
// they said so; an opt-out by STOP comes first.
const consentHow = { staff: 'told staff', invite: 'on the invite page', me: 'on their page', text: 'by text' };
function textsWords(p) {
  if (p.sms_stopped) return `Off: the patient texted STOP on ${formatTime(p.sms_stopped)}. Nothing is texted until they text START or agree again.`;
  const c = p.sms_consent;
  if (!c) return 'Not asked yet';
  const how = `${consentHow[c.how] || c.how}, ${formatTime(c.at)}`;
  return `${c.on ? 'Yes' : 'No'} (${how})${c.words ? `: “${c.words}”` : ''}`;
}

function viewPatientNew(c, ctx) {
  const f = makeForm('patientnew', [
    { name: 'name', label: 'Full name', attrs: { maxlength: 120, spellcheck: 'false' } },
    { name: 'dob', label: 'Birth date', hint: 'Month/day/year, like 03/14/1961.', attrs: { maxlength: 10 } },
    { name: 'phone', label: 'Phone (optional)', type: 'tel', hint: 'With the area code, like 555-201-3344.' },
    { name: 'email', label: 'Email (optional)', type: 'email', attrs: { spellcheck: 'false', autocapitalize: 'none' } },
    { name: 'lang', label: 'Language for messages', type: 'select', options: Object.entries(langNames), value: 'en' },
    { name: 'sms', label: 'The patient agrees to texts', type: 'checkbox', value: false,
      hint: 'Reply notices and reminders by text, to the phone above (a mobile). Ask the patient first.' },
    { name: 'sms_words', label: 'The patient’s words (when they agree to texts)', hint: 'What they said, like “yes, text me”.', attrs: { maxlength: 500 } },
  ], {
    submit: 'Create patient', label: 'New patient',
    secondary: h('a', { class: 'button', href: '#/patients' }, 'Cancel'),
    async onSubmit(v) {
      const r = await api('POST', '/api/v1/patients', { name: v.name, dob: v.dob, phone: v.phone, email: v.email, lang: v.lang,
        sms: v.sms, sms_words: v.sms_words.trim() });
      if (!ctx.alive()) return;
      memory.flash = 'Patient record created.';
      location.hash = `#/patients/${encodeURIComponent(r.id)}`;
    },
  });
  add(c, backLink('#/patients', 'Back to patients'), viewHead('New patient'), h('div', { class: 'card wide' }, f.el));
  return f.fields.name.input;
}
