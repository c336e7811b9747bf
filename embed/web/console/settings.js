// Settings (owner), one section at a time (#/settings/<section>): a list
// of sections that are plain links, and the section on screen with ONE
// form whose Save sends only that section's fields (PUT /api/v1/settings
// takes a partial object). Switching away from unsaved changes asks first.
// The sections about how work flows are in settings_work.js.

import { api } from './api.js';
import { add, doc, errorBox, fieldError, h, icon, makeForm, okMessage, put, viewHead } from './dom.js';
import { formatTime, hourLabel, setClinicZone } from './format.js';
import { loadTables, tables } from './meta.js';
import { enter, refreshMe } from './session.js';
import { httpsCard } from './settings_https.js';
import { hoursCard, queuesCard, sectionCard, targetsCard, templatesCard } from './settings_work.js';
import { outboxCard, textsCard } from './settings_texts.js';
import { state } from './state.js';

// sections is the table of Settings sections, in the order the list shows
// them; the first is shown when the URL names none. Adding a section is one
// entry here (and the import of its module): id is its URL
// (#/settings/<id>), title its name in the list, and build(data, ctx)
// returns its content, usually sectionCard(...) around one form. data holds
// the answers fetched when Settings opens: s (GET /api/v1/settings), backup
// (GET /api/v1/backup/status, or {failed}), templates (GET
// /api/v1/templates) and queues (the queue list of GET /api/v1/workload).
// A section's successful save shows an okMessage (focused): that marks its
// fields saved for the unsaved-changes check.
export const sections = [
  { id: 'clinic', title: 'Clinic', build: (d, ctx) => clinicSection(d.s, ctx) },
  { id: 'hours', title: 'Hours and holidays', build: (d) => hoursCard(d.s) },
  { id: 'targets', title: 'Reply targets', build: (d) => targetsCard(d.s) },
  { id: 'safety', title: 'Urgent words and after hours', build: (d) => wordsCard(d.s) },
  { id: 'queues', title: 'Queues and routing', build: (d) => queuesCard(d.s, d.queues) },
  { id: 'templates', title: 'Reply templates', build: (d) => templatesCard(d.s, d.templates.templates, d.templates.langs) },
  { id: 'email', title: 'Email and reminders', build: (d) => emailCard(d.s) },
  { id: 'backups', title: 'Backups', build: (d) => backupsSection(d.s, d.backup) },
  { id: 'security', title: 'Sign-in and screen lock', build: (d, ctx) => securitySection(d.s, ctx) },
  { id: 'passphrase', title: 'Clinic key passphrase', build: () => passphraseCard() },
  { id: 'https', title: 'HTTPS certificate', build: (d) => httpsCard(d.s, d.backup) },
  { id: 'texts', title: 'Text messages', build: (d) => textsCard(d.s) },
  { id: 'outbox', title: 'Outbox', build: () => outboxCard() },
];

// --- Settings (owner)

export function viewSettings(c, ctx) {
  const cur = sections.find((x) => x.id === ctx.arg) || sections[0];
  const holder = h('div', { class: 'settings-panel', id: `settings-${cur.id}` }, h('p', { class: 'muted' }, 'Loading…'));
  const nav = h('nav', { class: 'toc settings-nav', 'aria-label': 'Settings sections' }, h('ul', null,
    sections.map((x) => h('li', null, h('a', { href: `#/settings/${x.id}`, id: `settings-tab-${x.id}`, 'aria-current': x === cur ? 'page' : null }, x.title)))));
  add(c, viewHead('Settings'), nav, holder);
  Promise.all([
    api('GET', '/api/v1/settings'),
    api('GET', '/api/v1/backup/status').catch((err) => ({ failed: err })),
    api('GET', '/api/v1/templates').catch(() => ({ templates: [] })),
    api('GET', '/api/v1/workload').catch(() => ({ queues: [] })),
    loadTables(),
  ]).then(([s, backup, templates, wl]) => {
    if (!ctx.alive()) return;
    put(holder, cur.build({ s, backup, templates, queues: (wl.queues || []).map((q) => q.queue) }, ctx));
    guardUnsaved(holder, cur, ctx);
  }).catch((err) => {
    if (ctx.alive() && !err.handled) put(holder, errorBox(err.message));
  });
  return null;
}

// guardUnsaved asks before leaving a section whose fields changed since it
// was shown or last saved: a click on any console link (another section,
// the nav) opens a dialog, and closing the tab asks the browser's question.
// (The browser's Back button is not asked about.)
function guardUnsaved(panel, cur, ctx) {
  const snapshot = () => [...panel.querySelectorAll('input, select, textarea')].filter((el) => !el.closest('[data-nodirty]'))
    .map((el) => `${el.id}=${el.type === 'checkbox' ? el.checked : el.value}`).join('\n');
  let saved = snapshot();
  const dirty = () => ctx.alive() && snapshot() !== saved;
  panel.addEventListener('focusin', (e) => {
    const t = e.target;
    if (t.classList && t.classList.contains('ok-msg') && !t.closest('[data-nodirty]')) saved = snapshot();
  });
  const onClick = (e) => {
    const a = e.target.closest && e.target.closest('a[href^="#/"]');
    if (!a || a.getAttribute('href') === `#/settings/${cur.id}` || !dirty()) return;
    e.preventDefault();
    e.stopPropagation();
    confirmLeave(cur.title, () => { saved = snapshot(); location.hash = a.getAttribute('href'); });
  };
  const onUnload = (e) => { if (dirty()) { e.preventDefault(); e.returnValue = ''; } };
  doc.addEventListener('click', onClick, true);
  window.addEventListener('beforeunload', onUnload);
  state.hooks.leave = () => {
    doc.removeEventListener('click', onClick, true);
    window.removeEventListener('beforeunload', onUnload);
  };
}

function confirmLeave(title, leave) {
  const before = doc.activeElement;
  const stay = h('button', { type: 'button', class: 'primary', id: 'settings-stay' }, 'Stay and save');
  const go = h('button', { type: 'button', id: 'settings-leave' }, 'Leave without saving');
  const dlg = h('dialog', { class: 'keys', id: 'settings-unsaved', 'aria-labelledby': 'settings-unsaved-title' },
    h('h2', { id: 'settings-unsaved-title' }, 'Unsaved changes'),
    h('p', null, `You changed ${title} but did not save. Leave without saving, and lose the changes?`),
    h('div', { class: 'actions' }, stay, go));
  let leaving = false;
  stay.addEventListener('click', () => dlg.close());
  go.addEventListener('click', () => { leaving = true; dlg.close(); });
  dlg.addEventListener('close', () => {
    dlg.remove();
    if (leaving) leave();
    else if (before && before.isConnected) before.focus();
  });
  add(doc.getElementById('app') || doc.body, dlg);
  dlg.showModal();
  stay.focus();
}

function backupStatus(b) {
  const box = h('div', { id: 'backup-status' });
  if (b.failed) {
    if (!b.failed.handled) add(box, errorBox(`The backup status could not be read: ${b.failed.message}`));
    return box;
  }
  if (b.last_error) {
    add(box, h('div', { class: 'alert-box', role: 'alert' }, h('strong', null, 'The last backup failed. '), b.last_error));
  }
  add(box, h('p', null, 'Last good backup: ',
    b.last_ok ? h('strong', null, h('time', { datetime: b.last_ok }, formatTime(b.last_ok))) : h('strong', null, 'none yet')));
  add(box, auditHead(b.audit_head, b.health));
  return box;
}

// auditHead shows the audit trail's newest event and its fingerprint, for
// the owner to write down: `hearth verify --head SEQ:FINGERPRINT` later
// checks that the trail still holds it. A cut found at a start is an alert.
function auditHead(ah, health) {
  if (!ah) return null;
  const [seq, at] = (ah.last_finding || '').split(' ');
  return [
    ah.last_finding ? h('div', { class: 'alert-box', role: 'alert', id: 'audit-finding' }, h('strong', null, 'The newest audit events may have been cut off. '),
      `When Hearth started${at ? ` (${formatTime(at)})` : ''}, the audit trail's head did not carry its key's seal; event ${seq} in the audit log records it. Run hearth verify --against your latest backup, and call for help.`) : null,
    h('p', { id: 'audit-head' }, 'Audit trail head: ', h('strong', { class: 'mono' }, ah.seq ? `${ah.seq}:${ah.fingerprint}` : 'no events yet'),
      h('span', { class: 'sub' }, 'Write it down with the date now and then. hearth verify --head checks that the trail still holds it; each backup keeps its own beside it.')),
    health && health.recovered_panics ? h('p', { id: 'recovered-panics' }, `Requests that hit a damaged or broken part and were stopped safely since the start: ${health.recovered_panics}.`) : null,
  ];
}

// zoneLabel is a time zone as the list shows it: "Chicago (America/Chicago)
// · US, Central (most areas)".
const zoneLabel = (z) => `${z.name} (${z.id})${z.countries ? ` \u00b7 ${z.countries}` : ''}${z.note ? `, ${z.note}` : ''}`;
const fold = (x) => x.toLowerCase().normalize('NFD').replace(/[\u0300-\u036f]/g, '');

// zonePicker fills sel with the server's IANA zone list (GET /api/v1/meta),
// grouped by region, and returns the search box that narrows it. The
// clinic's zone is always offered, even when the list lacks it.
function zonePicker(sel, current) {
  const groups = [...(tables.time_zones || [])];
  if (current && !groups.some((g) => g.zones.some((z) => z.id === current))) {
    groups.push({ region: 'Saved', zones: [{ id: current, name: current.replace(/_/g, ' ') }] });
  }
  const search = h('input', { type: 'search', id: 'settings-tz-search', 'data-nodirty': 'true', spellcheck: 'false', autocomplete: 'off',
    'aria-describedby': 'settings-tz-search-hint', 'aria-controls': 'settings-time_zone' });
  const count = h('p', { class: 'hint', id: 'settings-tz-search-hint', role: 'status' });
  const paint = () => {
    const q = fold(search.value.trim());
    const keep = sel.value || current;
    const shown = groups.map((g) => [g, g.zones.filter((z) => z.id === keep || !q || fold(`${g.region} ${zoneLabel(z)}`).includes(q))])
      .filter(([, zs]) => zs.length);
    put(sel, shown.map(([g, zs]) => h('optgroup', { label: g.region }, zs.map((z) => h('option', { value: z.id }, zoneLabel(z))))));
    sel.value = keep;
    const n = shown.reduce((k, [, zs]) => k + zs.length, 0);
    count.textContent = q ? `${n} ${n === 1 ? 'zone matches' : 'zones match'}. Choose below.` : 'Type a city, a region or a country code to narrow the list.';
  };
  search.addEventListener('input', paint);
  paint();
  return h('div', { class: 'field' }, h('label', { for: 'settings-tz-search' }, 'Find a time zone'), count, search);
}

function clinicSection(s, ctx) {
  const finder = h('div');
  const f = makeForm('settings', [
    { name: 'clinic_name', label: 'Clinic name, as patients know it', value: s.clinic_name, attrs: { maxlength: 120 } },
    { name: 'phone', label: 'Clinic phone', type: 'tel', value: s.phone },
    { name: 'emergency_number', label: 'Emergency number shown to patients', type: 'tel', value: s.emergency_number, hint: 'For example 911.' },
    { node: finder },
    { name: 'time_zone', label: 'Time zone', type: 'select', options: [],
      hint: 'Where the clinic is. Office hours, due times, appointments and the nightly backup use it, and every time in the console is shown in it.' },
    { name: 'public_url', label: 'Address patients use', type: 'url', value: s.public_url,
      hint: 'The link in invitations, like https://portal.mapleclinic.example. Leave empty if patients use the office network only.',
      attrs: { spellcheck: 'false', autocapitalize: 'none' } },
    { name: 'host_names', label: 'Other names for this computer', type: 'textarea', value: (s.host_names || []).join('\n'),
      hint: 'Names staff type to reach Hearth, one per line (for example hearth.local). The computer\u2019s own names always work.',
      attrs: { spellcheck: 'false', autocapitalize: 'none' } },
  ], {
    submit: 'Save clinic details', label: 'Clinic',
    async onSubmit(v) {
      if (!v.time_zone) throw fieldError('time_zone', 'Choose the clinic\u2019s time zone from the list.');
      const saved = await api('PUT', '/api/v1/settings', {
        clinic_name: v.clinic_name, phone: v.phone, emergency_number: v.emergency_number, time_zone: v.time_zone,
        public_url: v.public_url.trim(), host_names: v.host_names.split(/[\s,]+/).filter(Boolean),
      });
      state.clinic = saved.clinic_name;
      setClinicZone(saved.time_zone); // every time in the console follows it at once
      for (const el of doc.querySelectorAll('.top .clinic')) el.textContent = saved.clinic_name;
      if (!ctx.alive()) return;
      const m = okMessage('Clinic details saved.');
      f.el.querySelector('.form-msg').replaceChildren(m);
      m.focus();
    },
  });
  put(finder, zonePicker(f.fields.time_zone.input, s.time_zone));
  return sectionCard('set-clinic', 'Clinic', 'What patients see of the clinic, and where it is.', f.el);
}

function securitySection(s, ctx) {
  const f = makeForm('security', [
    { name: 'idle_lock_minutes', label: 'Lock idle screens after (minutes)', type: 'number', value: String(s.idle_lock_minutes),
      hint: 'Between 1 and 240. Staff unlock with their PIN or password.', attrs: { min: 1, max: 240, step: 1, inputmode: 'numeric' } },
    { name: 'require_totp', label: 'Require two-step sign-in for everyone', type: 'checkbox', value: s.require_totp,
      hint: 'Staff without it must turn it on at their next sign-in (you too, right away, if yours is off).' },
  ], {
    submit: 'Save sign-in settings', label: 'Sign-in and screen lock',
    async onSubmit(v) {
      const idle = v.idle_lock_minutes.trim() === '' ? 0 : Number(v.idle_lock_minutes);
      if (!Number.isInteger(idle)) throw fieldError('idle_lock_minutes', 'Type a whole number.');
      await api('PUT', '/api/v1/settings', { idle_lock_minutes: idle, require_totp: v.require_totp });
      const me = await refreshMe();
      if (me.must_enroll_totp) { enter(); return; }
      if (!ctx.alive()) return;
      const m = okMessage('Sign-in settings saved.');
      f.el.querySelector('.form-msg').replaceChildren(m);
      m.focus();
    },
  });
  return sectionCard('set-security', 'Sign-in and screen lock', '', f.el);
}

function backupsSection(s, b) {
  const hours = Array.from({ length: 24 }, (_, i) => [String(i), hourLabel(i)]);
  const f = makeForm('backups', [
    { name: 'backup_dir', label: 'Backup folder', value: s.backup_dir,
      hint: 'A folder on another disk or a network share, like /mnt/backup/hearth or D:\\HearthBackups.', attrs: { spellcheck: 'false' } },
    { name: 'backup_keep', label: 'Backups to keep', type: 'number', value: String(s.backup_keep), hint: 'Between 1 and 365.',
      attrs: { min: 1, max: 365, step: 1, inputmode: 'numeric' } },
    { name: 'backup_hour', label: 'Time of the nightly backup', type: 'select', options: hours, value: String(s.backup_hour) },
  ], {
    submit: 'Save backup settings', label: 'Nightly backups',
    async onSubmit(v) {
      const keep = v.backup_keep.trim() === '' ? 0 : Number(v.backup_keep);
      if (!Number.isInteger(keep)) throw fieldError('backup_keep', 'Type a whole number.');
      await api('PUT', '/api/v1/settings', { backup_dir: v.backup_dir.trim(), backup_keep: keep, backup_hour: Number(v.backup_hour) });
      const m = okMessage('Backup settings saved.');
      f.el.querySelector('.form-msg').replaceChildren(m);
      m.focus();
    },
  });
  return sectionCard('set-backups', 'Nightly backups', 'Backups are sealed to the recovery key: only the emergency kit can open them.', backupStatus(b), f.el);
}

// emailCard: the mail server for invitations, sign-in links and
// appointment reminders, and a test send. The password is write-only:
// the server answers smtp_password_set, and an empty field keeps it.
const smtpModes = [['starttls', 'STARTTLS (recommended)'], ['tls', 'TLS'], ['none', 'None \u2014 only for a mail server on this computer']];

function emailCard(s) {
  let pwSet = !!s.smtp_password_set;
  const pwHint = () => (pwSet ? 'Saved. Leave empty to keep it; type a new one to replace it.' : 'The password of the mail account, if the server asks for one.');
  const f = makeForm('email', [
    { group: 'Mail server', items: [
      { name: 'smtp_host', label: 'Mail server (SMTP host)', value: s.smtp_host || '', hint: 'Like smtp.example.com, from your email provider.',
        attrs: { spellcheck: 'false', autocapitalize: 'none' } },
      { name: 'smtp_port', label: 'Port', type: 'number', value: s.smtp_port ? String(s.smtp_port) : '',
        hint: 'Leave empty for the usual port of the security you choose (587 for STARTTLS, 465 for TLS).',
        attrs: { min: 1, max: 65535, step: 1, inputmode: 'numeric' } },
      { name: 'smtp_mode', label: 'Security', type: 'select', options: smtpModes, value: s.smtp_mode || 'starttls' },
      { name: 'smtp_user', label: 'User name', value: s.smtp_user || '', autocomplete: 'off', attrs: { spellcheck: 'false', autocapitalize: 'none' } },
      { name: 'smtp_password', label: 'Password', type: 'password', autocomplete: 'new-password', hint: pwHint(),
        attrs: { placeholder: pwSet ? '\u2022\u2022\u2022\u2022\u2022\u2022 (saved)' : null } },
      { name: 'mail_from', label: 'Sender address', type: 'email', value: s.mail_from || '', hint: 'The From address patients see, like frontdesk@mapleclinic.example.',
        attrs: { spellcheck: 'false', autocapitalize: 'none' } },
    ] },
    { group: 'Appointment reminders', items: [
      { name: 'reminder_hours', label: 'Send reminders this many hours before', value: (s.reminder_hours || [48, 24]).join(', '),
        hint: 'Hours, separated by commas, like 48, 24. Leave empty to send no reminders.', attrs: { inputmode: 'numeric', spellcheck: 'false' } },
    ] },
  ], {
    submit: 'Save email settings', label: 'Email settings',
    async onSubmit(v) {
      const port = v.smtp_port.trim();
      if (port && !/^\d+$/.test(port)) throw fieldError('smtp_port', 'Type a whole number, like 587, or leave it empty.');
      const parts = v.reminder_hours.split(/[\s,;]+/).filter(Boolean);
      const bad = parts.find((x) => !/^\d+$/.test(x) || Number(x) < 1 || Number(x) > 336);
      if (bad !== undefined) throw fieldError('reminder_hours', `\u201c${bad}\u201d is not a number of hours between 1 and 336 (14 days).`);
      const out = {
        smtp_host: v.smtp_host.trim(), smtp_port: port ? Number(port) : 0, smtp_mode: v.smtp_mode, smtp_user: v.smtp_user.trim(),
        mail_from: v.mail_from.trim(), reminder_hours: [...new Set(parts.map(Number))].sort((a, b) => b - a),
      };
      if (v.smtp_password) out.smtp_password = v.smtp_password;
      const saved = await api('PUT', '/api/v1/settings', out);
      pwSet = !!saved.smtp_password_set;
      const pw = f.fields.smtp_password.input;
      pw.value = '';
      if (pwSet) pw.setAttribute('placeholder', '\u2022\u2022\u2022\u2022\u2022\u2022 (saved)');
      else pw.removeAttribute('placeholder');
      const hint = doc.getElementById('email-smtp_password-hint');
      if (hint) hint.textContent = pwHint();
      f.fields.reminder_hours.input.value = (saved.reminder_hours || []).join(', ');
      const m = okMessage('Email settings saved.');
      f.el.querySelector('.form-msg').replaceChildren(m);
      m.focus();
    },
  });

  const answer = h('div', { class: 'mail-answer', id: 'mailtest-answer' });
  const t = makeForm('mailtest', [
    { name: 'to', label: 'Send it to', type: 'email', value: (state.me && state.me.email) || '', autocomplete: 'email',
      hint: 'Save the settings above first: the test uses the saved ones.', attrs: { spellcheck: 'false', autocapitalize: 'none' } },
  ], {
    submit: 'Send a test email', submitClass: 'mail-test-btn', label: 'Send a test email',
    // Every refusal is the mail server's answer: show it in the answer box.
    onError(err) {
      if (err.field === 'to') return false;
      put(answer, h('div', { class: 'alert-box', role: 'alert' }, h('strong', null, 'The test email was not sent. '), err.message));
      return true;
    },
    async onSubmit(v) {
      put(answer);
      const to = v.to.trim();
      if (!to || !/^[^\s@]+@[^\s@]+$/.test(to)) throw fieldError('to', 'Type an email address, like you@example.com.');
      const r = await api('POST', '/api/v1/settings/test-email', { to });
      const m = h('p', { class: 'ok-msg', role: 'status', tabindex: '-1' }, (r && r.answer) || 'The mail server accepted the message.');
      put(answer, m);
      m.focus();
    },
  });
  // The answer sits right above the button, where the eye already is.
  t.el.insertBefore(answer, t.el.querySelector('.form-msg'));
  t.el.dataset.nodirty = 'true'; // a test send changes no setting

  return sectionCard('set-email', 'Email', '',
    h('p', { class: 'muted', id: 'email-privacy' }, 'Emails carry only the patient\u2019s first name and the clinic\u2019s name, with a link to sign in. Patients choose whether to receive them.'),
    f.el, h('h3', { id: 'mailtest-title' }, 'Send a test email'), t.el);
}

function wordsCard(s) {
  const f = makeForm('urgent', [
    { name: 'urgent_words', label: 'Extra urgent words', type: 'textarea', rows: 5, value: (s.urgent_words || []).join('\n'),
      hint: 'One phrase per line. A request containing one is marked urgent and goes to Clinical. Optionally start with a category and a colon, like “cardiac: pressure in my chest”. Hearth\u2019s built-in lists stay on.',
      attrs: { spellcheck: 'false' } },
    { name: 'crisis_line', label: 'Crisis line', type: 'tel', value: s.crisis_line || '',
      hint: 'Shown beside the emergency number when a patient\u2019s words read as self-harm. 988 where the emergency number is 911; leave empty for none.' },
    { name: 'after_hours_phone', label: 'After-hours line', type: 'tel', value: s.after_hours_phone || '',
      hint: 'A number patients can call while the office is closed, such as an answering service. Leave empty if there is none.' },
    { name: 'after_hours_text', label: 'After-hours message', type: 'textarea', rows: 3, value: s.after_hours_text || '',
      hint: 'Added to what patients read when they write while the office is closed. Hearth always says that the office is closed, when it opens, the after-hours line and the emergency number.' },
  ], {
    submit: 'Save', label: 'Urgent words, crisis line and after hours',
    async onSubmit(v) {
      const words = v.urgent_words.split('\n').map((x) => x.trim()).filter(Boolean);
      await api('PUT', '/api/v1/settings', { urgent_words: words, crisis_line: v.crisis_line.trim(),
        after_hours_phone: v.after_hours_phone.trim(), after_hours_text: v.after_hours_text.trim() });
      const m = okMessage('Saved. New requests are checked with these words.');
      f.el.querySelector('.form-msg').replaceChildren(m);
      m.focus();
    },
  });
  return sectionCard('set-words', 'Urgent words, crisis line and after hours', '', f.el);
}

function passphraseCard() {
  const status = h('div', { id: 'passphrase-status' });
  const off = h('button', { type: 'button', class: 'danger', id: 'passphrase-off' }, 'Turn the passphrase off');
  const f = makeForm('passphrase', [
    { name: 'password', label: 'Your password', type: 'password', autocomplete: 'current-password', hint: 'To confirm it is you.' },
    { name: 'passphrase', label: 'Clinic passphrase', type: 'password', autocomplete: 'new-password',
      hint: 'At least 12 characters: several unrelated words. It guards every record. Write it down and keep it with the emergency kit.' },
    { name: 'passphrase_again', label: 'Clinic passphrase again', type: 'password', autocomplete: 'new-password' },
  ], {
    submit: 'Protect with this passphrase', label: 'Clinic passphrase', secondary: off,
    async onSubmit(v) {
      if (!v.password) throw fieldError('password', 'Type your password.');
      if (!v.passphrase) throw fieldError('passphrase', 'Choose a passphrase.');
      if (v.passphrase !== v.passphrase_again) throw fieldError('passphrase_again', 'The two passphrases are not the same.');
      await api('POST', '/api/v1/settings/passphrase', { password: v.password, passphrase: v.passphrase });
      f.el.reset();
      const m = okMessage('The clinic key is now protected by the passphrase. After a restart, someone must type it before staff can work.');
      put(status, m);
      m.focus();
    },
  });
  off.addEventListener('click', () => f.run(async (v) => {
    if (!v.password) throw fieldError('password', 'Type your password to turn the passphrase off.');
    if (!window.confirm('Turn the passphrase off? Hearth will start unlocked after a restart, and a stolen disk would open without it.')) return;
    await api('POST', '/api/v1/settings/passphrase', { password: v.password, passphrase: '' });
    f.el.reset();
    const m = okMessage('The passphrase is off. Hearth starts unlocked after a restart.');
    put(status, m);
    m.focus();
  }));
  return sectionCard('set-passphrase', 'Protect the clinic key with a passphrase', '',
    h('p', null, 'With a passphrase, the key that opens every record is stored only in a form the passphrase unlocks, so a stolen computer or disk reveals nothing.'),
    h('p', { class: 'warn-banner' }, h('span', { class: 'icon', 'aria-hidden': 'true' }, icon('alert', 20)),
      h('span', null, 'After every restart of Hearth (a power cut, an update), someone must type the passphrase on the sign-in page before staff can work. Patients can still send messages meanwhile.')),
    status, f.el);
}
