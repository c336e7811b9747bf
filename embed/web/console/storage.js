// Storage trouble: when the disk that holds Hearth's data is full, or
// refuses a write, Hearth saves nothing (and so refuses whatever needs
// saving, many reads included: they write an audit event). Nothing saved
// earlier is lost. A banner above every view says so and what to do, from
// the moment an answer carries storage_full or storage_failed, or /healthz
// names that fault, until /healthz says writes go through again. /healthz
// is asked when the shell opens and every minute; asking is not activity
// (the idle lock runs on).

import { h, icon, put } from './dom.js';
import { formatTime } from './format.js';
import { state } from './state.js';

const faults = new Set(['storage_full', 'storage_failed']);
let timer = 0;

// isStorageProblem: the API's error code says the disk refused a write.
export function isStorageProblem(code) {
  return faults.has(code);
}

// storageProblem shows the banner for an API answer's code.
export function storageProblem(code) {
  show(code, '');
}

// watchStorage asks /healthz now and every minute while the shell is up.
export function watchStorage() {
  clearInterval(timer);
  check();
  timer = setInterval(() => {
    if (state.mode === 'shell') check();
    else clearInterval(timer);
  }, 60_000);
}

async function check() {
  let health;
  try {
    const res = await fetch('/healthz', { cache: 'no-store', credentials: 'same-origin', headers: { Accept: 'application/json' } });
    health = await res.json();
  } catch {
    return; // unreachable: the live status says so
  }
  if (health && faults.has(health.fault)) show(health.fault, health.since || '');
  else hide();
}

function box() {
  return state.shell && state.shell.alerts;
}

function hide() {
  const b = box();
  const el = b && b.querySelector('#storage-banner');
  if (!el) return;
  el.remove();
  b.hidden = !b.firstChild;
}

function show(code, since) {
  const b = box();
  if (!b) return;
  const full = code === 'storage_full';
  const owner = !!(state.me && state.me.staff && state.me.staff.role === 'owner');
  const old = b.querySelector('#storage-banner');
  if (old && old.dataset.fault === code && !since) return; // already said; keep its time
  const what = full
    ? 'Hearth cannot save anything, so whatever needs saving is refused: new requests, replies, changes, and opening a request. Nothing saved earlier is lost, and patients who try to write are told their message was NOT sent and to call.'
    : 'Hearth cannot save anything: the disk may be failing. Whatever needs saving is refused; nothing saved earlier is lost, and patients who try to write are told their message was NOT sent and to call.';
  let todo;
  if (!owner) {
    todo = full
      ? 'Tell the owner now: they must free space on the computer that runs Hearth. Meanwhile, take calls and call patients back by phone.'
      : 'Tell the owner now: they must check the disk of the computer that runs Hearth. Meanwhile, take calls and call patients back by phone.';
  } else if (full) {
    todo = 'What to do: free space on the disk that holds Hearth\u2019s data folder (remove or move large files that are not Hearth\u2019s, such as old downloads or copies of old backups; never delete inside the data folder), or move the data folder to a bigger disk (docs/OPERATIONS.md, \u201cThe disk is full\u201d). Hearth takes writes again by itself within a minute once there is space.';
  } else {
    todo = 'What to do: check the disk (its health report and the system log) and that it has free space. If the errors go on, stop Hearth and restore the newest backup onto a healthy disk (docs/OPERATIONS.md, \u201cThe disk refuses writes\u201d).';
  }
  const el = old || h('div', { class: 'banner storage', id: 'storage-banner', role: 'alert' });
  el.dataset.fault = code;
  put(el,
    h('span', { class: 'banner-icon', 'aria-hidden': 'true' }, icon('alert', 20)),
    h('span', { class: 'banner-text' },
      h('strong', null, full ? 'Storage is full. ' : 'The disk refused a write. '),
      since ? `Since ${formatTime(since)}. ` : '',
      what, ' ', h('span', { class: 'banner-todo' }, todo)));
  if (!old) b.prepend(el);
  b.hidden = false;
}
