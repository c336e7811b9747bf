// Formatting: dates, times, spans, roles, languages.

const roleNames = { owner: 'Owner', clinician: 'Clinician', frontdesk: 'Front desk' };
export const roleName = (r) => roleNames[r] || r || '';
export const roleOptions = [['frontdesk', 'Front desk'], ['clinician', 'Clinician'], ['owner', 'Owner']];
export const langNames = { en: 'English', es: 'Spanish (Español)' };

const dobFormat = new Intl.DateTimeFormat('en-US', { year: 'numeric', month: 'short', day: 'numeric', timeZone: 'UTC' });
const timeFormat = new Intl.DateTimeFormat('en-US', { dateStyle: 'medium', timeStyle: 'medium' });

// formatDOB shows 1961-03-14 as "Mar 14, 1961": no month/day ambiguity.
export function formatDOB(s) {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(s || '');
  if (!m) return s || '';
  const d = new Date(0);
  d.setUTCFullYear(+m[1], +m[2] - 1, +m[3]);
  return dobFormat.format(d);
}

// formatTime shows an RFC 3339 time in this computer's local time.
export function formatTime(s) {
  const d = new Date(s);
  return Number.isNaN(d.getTime()) ? (s || '') : timeFormat.format(d);
}

// formatWhen is a short local time for threads and lists: "Today, 4:46 PM",
// "Yesterday, 9:02 AM", "Nov 3, 4:46 PM" (the full time is its tooltip).
export const longDate = new Intl.DateTimeFormat('en-US', { dateStyle: 'long' });
export const clockFormat = new Intl.DateTimeFormat('en-US', { hour: 'numeric', minute: '2-digit' });
const dayFormat = new Intl.DateTimeFormat('en-US', { month: 'short', day: 'numeric' });
const dayYearFormat = new Intl.DateTimeFormat('en-US', { month: 'short', day: 'numeric', year: 'numeric' });
export function formatWhen(s) {
  const d = new Date(s);
  if (Number.isNaN(d.getTime())) return s || '';
  const now = new Date();
  const start = new Date(now.getFullYear(), now.getMonth(), now.getDate()).getTime();
  const t = d.getTime();
  let day;
  if (t >= start && t < start + 86_400_000) day = 'Today';
  else if (t >= start - 86_400_000 && t < start) day = 'Yesterday';
  else day = (d.getFullYear() === now.getFullYear() ? dayFormat : dayYearFormat).format(d);
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
