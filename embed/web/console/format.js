// Formatting: dates, times, spans, roles, languages.

const roleNames = { owner: 'Owner', clinician: 'Clinician', frontdesk: 'Front desk' };
export const roleName = (r) => roleNames[r] || r || '';
export const roleOptions = [['frontdesk', 'Front desk'], ['clinician', 'Clinician'], ['owner', 'Owner']];
export const langNames = { en: 'English', es: 'Spanish (Español)' };

const dobFormat = new Intl.DateTimeFormat('en-US', { year: 'numeric', month: 'short', day: 'numeric', timeZone: 'UTC' });

// Every time the console shows is in the clinic's time zone (GET
// /api/v1/meta says which), never the computer's: a 10:15 visit reads 10:15
// on a laptop set to another zone too. Until the zone is known (or if the
// browser does not know it) times show in the computer's zone.
export let clinicZone;
const fmt = (o) => new Intl.DateTimeFormat('en-US', clinicZone ? { ...o, timeZone: clinicZone } : o);
let timeFormat;
let partsFormat;
export let longDate;
export let clockFormat;
let dayFormat;
let dayYearFormat;
function makeFormats() {
  timeFormat = fmt({ dateStyle: 'medium', timeStyle: 'medium' });
  partsFormat = fmt({ year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
  longDate = fmt({ dateStyle: 'long' });
  clockFormat = fmt({ hour: 'numeric', minute: '2-digit' });
  dayFormat = fmt({ month: 'short', day: 'numeric' });
  dayYearFormat = fmt({ month: 'short', day: 'numeric', year: 'numeric' });
}
makeFormats();

// setClinicZone makes zone (an IANA name) the one every time is shown in.
export function setClinicZone(zone) {
  if (!zone || zone === clinicZone) return;
  try {
    Intl.DateTimeFormat('en-US', { timeZone: zone });
  } catch {
    return; // a zone this browser does not know: keep the computer's
  }
  clinicZone = zone;
  makeFormats();
}

// clinicParts is the clinic's wall clock at instant d: { y, m, d, hh, mm }.
export function clinicParts(d) {
  const p = {};
  for (const x of partsFormat.formatToParts(d)) p[x.type] = x.value;
  return { y: +p.year, m: +p.month, d: +p.day, hh: +p.hour % 24, mm: +p.minute };
}

// clinicDay is the clinic's calendar day at instant d, "2026-12-01".
export function clinicDay(d) {
  const p = clinicParts(d);
  return `${p.y}-${String(p.m).padStart(2, '0')}-${String(p.d).padStart(2, '0')}`;
}

// dayAfter is the calendar day n days after day ("2026-12-01", 1 ->
// "2026-12-02"), with no time zone involved.
export function dayAfter(day, n) {
  const [y, m, d] = day.split('-').map(Number);
  const t = new Date(Date.UTC(y, m - 1, d + n));
  return t.toISOString().slice(0, 10);
}

// dayName is a calendar day in words, "Tuesday, Dec 1".
const dayWords = new Intl.DateTimeFormat('en-US', { weekday: 'long', month: 'short', day: 'numeric', timeZone: 'UTC' });
export function dayName(day) {
  return dayWords.format(new Date(`${day}T12:00:00Z`));
}

// formatDOB shows 1961-03-14 as "Mar 14, 1961": no month/day ambiguity.
export function formatDOB(s) {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(s || '');
  if (!m) return s || '';
  const d = new Date(0);
  d.setUTCFullYear(+m[1], +m[2] - 1, +m[3]);
  return dobFormat.format(d);
}

// formatTime shows an RFC 3339 time in the clinic's time zone.
export function formatTime(s) {
  const d = new Date(s);
  return Number.isNaN(d.getTime()) ? (s || '') : timeFormat.format(d);
}

// formatWhen is a short clinic time for threads and lists: "Today, 4:46 PM",
// "Yesterday, 9:02 AM", "Nov 3, 4:46 PM" (the full time is its tooltip);
// today is the clinic's today.
export function formatWhen(s) {
  const d = new Date(s);
  if (Number.isNaN(d.getTime())) return s || '';
  const today = clinicDay(new Date());
  const k = clinicDay(d);
  let day;
  if (k === today) day = 'Today';
  else if (k === dayAfter(today, -1)) day = 'Yesterday';
  else day = (k.slice(0, 4) === today.slice(0, 4) ? dayFormat : dayYearFormat).format(d);
  return `${day}, ${clockFormat.format(d)}`;
}

export function hourLabel(hr) {
  return `${hr % 12 || 12}:00 ${hr < 12 ? 'AM' : 'PM'}`;
}

export function plural(n, one, many) {
  return `${n} ${n === 1 ? one : many}`;
}

// span says how long ms is in words a glance can read.
function spanWords(ms) {
  const min = Math.max(1, Math.round(Math.abs(ms) / 60_000));
  if (min < 60) return `${min} min`;
  const hr = Math.round(min / 60);
  if (hr < 48) return `${hr} h`;
  return `${Math.round(hr / 24)} days`;
}

// dueWords: "due in 2 h", "overdue 35 min".
export function dueWords(row, now = Date.now()) {
  if (row.status === 'closed') return { text: 'Closed', cls: 'due closed' };
  const due = new Date(row.due_at).getTime();
  if (Number.isNaN(due)) return { text: '', cls: 'due' };
  const diff = due - now;
  if (row.overdue || diff < 0) return { text: `overdue ${spanWords(diff)}`, cls: 'due overdue' };
  return { text: `due in ${spanWords(diff)}`, cls: diff < 60 * 60_000 ? 'due soon' : 'due' };
}

export function ago(s) {
  const t = new Date(s).getTime();
  if (Number.isNaN(t)) return '';
  const d = Date.now() - t;
  if (d < 60_000) return 'just now';
  return `${spanWords(d)} ago`;
}

export function initials(name) {
  return (name || '?').split(/\s+/).filter(Boolean).slice(0, 2).map((w) => w[0].toUpperCase()).join('');
}
