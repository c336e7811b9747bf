// Real time: one websocket, reconnect with catch-up, and the alerts it
// rings (sound, the title count, desktop notifications, banners).

import { api } from './api.js';
import { add, doc, h, icon, put } from './dom.js';
import { plural } from './format.js';
import { state } from './state.js';
import { ensureQueues, queueName } from './team.js';
import { typeWord } from './words.js';

// One websocket per signed-in console. Events carry ids, type, queue and
// priority only (no PHI); views fetch what they show over the API. The
// socket reconnects with backoff (1 s doubling to 30 s, with jitter) and
// asks for what it missed with ?since=LAST_SEQ; a sequence number already
// seen is ignored. Nothing here calls activity(): a socket, its events and
// the refreshes they cause never keep the idle lock away.

export const live = {
  ws: null,
  on: false,
  lastSeq: 0,
  tries: 0,
  timer: 0,
  reset() {
    this.stop();
    this.lastSeq = 0;
  },
  start() {
    if (this.on) return;
    this.on = true;
    this.tries = 0;
    liveStatus(null);
    this.connect();
  },
  stop() {
    this.on = false;
    clearTimeout(this.timer);
    const ws = this.ws;
    this.ws = null;
    if (ws) {
      ws.onclose = null;
      try { ws.close(); } catch { /* already closed */ }
    }
    liveStatus(false);
  },
  connect() {
    const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const since = this.lastSeq ? `?since=${this.lastSeq}` : '';
    let ws;
    try {
      ws = new WebSocket(`${proto}//${location.host}/api/v1/ws${since}`);
    } catch {
      this.retry();
      return;
    }
    this.ws = ws;
    ws.onopen = () => {
      if (this.ws !== ws) return;
      this.tries = 0;
      liveStatus(true);
      if (state.hooks.reopen) state.hooks.reopen();
    };
    ws.onmessage = (e) => {
      if (this.ws !== ws) return;
      let m;
      try { m = JSON.parse(e.data); } catch { return; }
      if (m && typeof m === 'object') onLive(m);
    };
    ws.onclose = () => {
      if (this.ws !== ws) return;
      this.ws = null;
      liveStatus(false);
      if (this.on) this.retry();
    };
  },
  retry() {
    const base = Math.min(30_000, 1000 * 2 ** Math.min(this.tries, 5));
    this.tries++;
    const wait = Math.min(30_000, Math.round(base * (0.8 + Math.random() * 0.4)));
    clearTimeout(this.timer);
    this.timer = setTimeout(() => { if (this.on) this.connect(); }, wait);
    // After repeated failures, ask whether the session itself ended or
    // locked (a socket cannot tell why it was refused).
    if (this.tries === 3 && state.mode === 'shell') api('GET', '/api/v1/session').catch(() => {});
  },
  send(frame) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(frame));
  },
};

// liveStatus shows whether alerts are live, in the top bar.
function liveStatus(up) {
  const el = doc.getElementById('live');
  if (!el) return;
  el.classList.toggle('up', !!up);
  put(el, h('span', { class: 'dot', 'aria-hidden': 'true' }), up ? 'Live' : up === null ? 'Connecting…' : 'Reconnecting…');
  el.setAttribute('title', up ? 'New requests appear here as they arrive.' : 'The live connection dropped; Hearth reconnects by itself and catches up.');
}

function onLive(m) {
  if (m.type === 'presence') {
    if (state.hooks.presence) state.hooks.presence(m);
    return;
  }
  if (typeof m.seq !== 'number') return;
  if (m.seq <= live.lastSeq) return; // a duplicate of a replayed event
  live.lastSeq = m.seq;
  if (state.mode !== 'shell') return;
  // Events older than a minute are catch-up after a reconnect: they refresh
  // the screen but do not ring.
  const fresh = !m.at || Date.now() - new Date(m.at).getTime() < 60_000;
  if ((m.type === 'item.new' || m.type === 'item.queue') && fresh) newItemAlert(m);
  else if (m.type === 'item.escalated' && state.me.staff.role === 'owner') escalationAlert(m);
  else if (m.type === 'sweep') sweepAlert();
  else if (m.type === 'breakglass.opened' && fresh && state.me.staff.role === 'owner') breakGlassAlert(m);
  else if (m.type === 'signin.flood' && fresh && state.me.staff.role === 'owner') signInFloodAlert(m);
  if (state.hooks.event) state.hooks.event(m);
}

// setTitle sets the page title; a count of new requests leads it while
// there are some the person has not looked at.
export function setTitle(base) {
  state.titleBase = base;
  doc.title = (state.unseen > 0 ? `(${state.unseen}) ` : '') + base;
  const badge = doc.getElementById('nav-unseen');
  if (badge) {
    badge.hidden = !(state.unseen > 0);
    put(badge, String(state.unseen), h('span', { class: 'vh' }, ' new'));
  }
}

// alertText is what a sound's notification says: the queue and the type
// (a request moved into a queue rings its staff as a new one does).
function alertText(m) {
  const q = queueName(m.queue);
  if (m.type === 'item.queue') return `${m.priority === 'urgent' ? 'An URGENT request' : 'A request'} moved to ${q}`;
  if (m.priority === 'urgent') return `URGENT ${typeWord(m.type)} in ${q}`;
  return `New ${typeWord(m.type)} in ${q}`;
}

async function newItemAlert(m) {
  sound.play(m.priority === 'urgent');
  // Counted until the person touches the keyboard or mouse at the inbox:
  // an inbox on screen at an empty desk is not an inbox someone has seen.
  state.unseen++;
  setTitle(state.titleBase);
  await ensureQueues();
  desktopAlert(alertText(m), `hearth-item-${m.item_id}`);
}

export function clearUnseen() {
  if (!state.unseen) return;
  state.unseen = 0;
  setTitle(state.titleBase);
}

function escalationAlert(m) {
  ensureQueues().then(() => {
    const text = `${m.priority === 'urgent' ? 'An URGENT' : 'A'} ${typeWord(m.type)} in ${queueName(m.queue)} has been overdue for 30 minutes.`;
    showAlert(`esc-${m.item_id}`, 'escalated', text, h('a', { href: `#/inbox/${encodeURIComponent(m.item_id)}`, class: 'button small' }, 'Open it'));
    desktopAlert(text, `hearth-esc-${m.item_id}`);
  });
}

// breakGlassAlert tells the owner that a clinician opened a record outside
// their queues; the audit log says who, whose and why.
function breakGlassAlert(m) {
  const text = 'A clinician opened a patient record outside their queues ("break the glass").';
  showAlert(`bg-${m.seq}`, 'escalated', text, h('a', { href: '#/audit', class: 'button small' }, 'See the audit log'));
  desktopAlert(text, `hearth-bg-${m.seq}`);
}

// signInFloodAlert tells the owner that wrong sign-ins used up a budget:
// an address or an account is held back for 15 minutes; the audit log
// says which address.
function signInFloodAlert(m) {
  const text = 'Many wrong sign-ins: Hearth is holding back an address or an account for 15 minutes. Staff who signed in from their own computer before can still sign in.';
  showAlert(`flood-${m.seq}`, 'escalated', text, h('a', { href: '#/audit', class: 'button small' }, 'See the audit log'));
  desktopAlert(text, `hearth-flood-${m.seq}`);
}

function sweepAlert() {
  api('GET', '/api/v1/sweep').then((r) => {
    const n = (r.items || []).length;
    if (!n || state.mode !== 'shell') return;
    showAlert('sweep', 'sweep', `End of day: ${plural(n, 'item needs', 'items need')} attention.`,
      h('a', { href: '#/sweep', class: 'button small', id: 'sweep-open' }, 'Open the sweep'));
  }).catch(() => {});
}

// showAlert puts a banner above the view (one per key) until dismissed.
function showAlert(key, kind, text, action) {
  const box = state.shell && state.shell.alerts;
  if (!box) return;
  const old = box.querySelector(`[data-key="${CSS.escape(key)}"]`);
  if (old) old.remove();
  const el = h('div', { class: `banner ${kind}`, 'data-key': key, role: 'alert' },
    h('span', { class: 'banner-icon', 'aria-hidden': 'true' }, icon(kind === 'sweep' ? 'clock' : 'alert', 20)),
    h('span', { class: 'banner-text' }, text),
    action,
    h('button', { type: 'button', class: 'link small', onclick: () => { el.remove(); box.hidden = !box.firstChild; } }, 'Dismiss',
      h('span', { class: 'vh' }, ` alert: ${text}`)));
  if (action) action.addEventListener('click', () => { el.remove(); box.hidden = !box.firstChild; });
  add(box, el);
  box.hidden = false;
}

// --- Sound (Web Audio: no files). Browsers allow sound only after the
// person has pressed a key or clicked, so the first such press unlocks it.

export const sound = {
  ctx: null,
  get on() {
    try { return localStorage.getItem('hearth.sound') !== 'off'; } catch { return true; }
  },
  set on(v) {
    try { localStorage.setItem('hearth.sound', v ? 'on' : 'off'); } catch { /* private mode */ }
  },
  unlock() {
    if (this.ctx) {
      if (this.ctx.state === 'suspended') this.ctx.resume().catch(() => {});
      return;
    }
    const AC = window.AudioContext || window.webkitAudioContext;
    if (!AC) return;
    try { this.ctx = new AC(); } catch { this.ctx = null; }
  },
  // play: a soft two-note chime for a new request; for an urgent one, four
  // louder, harsher alternating beeps that cannot be mistaken for it.
  play(urgent) {
    if (!this.on || !this.ctx || this.ctx.state !== 'running') return;
    const c = this.ctx;
    const t0 = c.currentTime + 0.02;
    const notes = urgent
      ? [[988, 0, 0.16], [1319, 0.2, 0.16], [988, 0.4, 0.16], [1319, 0.6, 0.26]]
      : [[660, 0, 0.14], [880, 0.16, 0.24]];
    const peak = urgent ? 0.55 : 0.16;
    for (const [f, at, d] of notes) {
      const o = c.createOscillator();
      const g = c.createGain();
      o.type = urgent ? 'square' : 'sine';
      o.frequency.value = f;
      g.gain.setValueAtTime(0.0001, t0 + at);
      g.gain.exponentialRampToValueAtTime(peak, t0 + at + 0.015);
      g.gain.exponentialRampToValueAtTime(0.0001, t0 + at + d);
      o.connect(g).connect(c.destination);
      o.start(t0 + at);
      o.stop(t0 + at + d + 0.03);
    }
  },
};

// --- Desktop notifications: asked for only from a click, and their text
// names the queue and the type, never the patient.

function desktopAlert(text, tag) {
  if (!('Notification' in window) || Notification.permission !== 'granted') return;
  if (doc.visibilityState === 'visible' && doc.hasFocus()) return;
  try {
    const n = new Notification(state.clinic, { body: text, tag, silent: true });
    n.onclick = () => { window.focus(); n.close(); };
  } catch { /* some browsers allow notifications only from a service worker */ }
}

// alertControls are the inbox's "Turn on desktop alerts" and sound switch.
export function alertControls() {
  const wrap = h('div', { class: 'alert-controls' });
  const soundBtn = h('button', { type: 'button', class: 'small', id: 'sound-toggle' });
  const paint = () => {
    soundBtn.setAttribute('aria-pressed', String(sound.on));
    put(soundBtn, h('span', { 'aria-hidden': 'true' }, icon(sound.on ? 'sound' : 'mute', 18)), 'Sound alerts');
  };
  soundBtn.addEventListener('click', () => {
    sound.on = !sound.on;
    sound.unlock();
    paint();
    if (sound.on) sound.play(false);
  });
  paint();
  add(wrap, soundBtn);
  if ('Notification' in window) {
    const note = h('span', { class: 'muted small-text', id: 'desktop-alerts-state', role: 'status' });
    const btn = h('button', { type: 'button', class: 'small', id: 'desktop-alerts' },
      h('span', { 'aria-hidden': 'true' }, icon('bell', 18)), 'Turn on desktop alerts');
    const show = () => {
      const p = Notification.permission;
      btn.hidden = p !== 'default';
      note.textContent = p === 'granted' ? 'Desktop alerts on' : p === 'denied' ? 'Desktop alerts are blocked in this browser\u2019s settings' : '';
    };
    btn.addEventListener('click', () => {
      Promise.resolve(Notification.requestPermission()).then(show, show).then(() => { if (btn.hidden) note.focus(); });
    });
    note.setAttribute('tabindex', '-1');
    show();
    add(wrap, btn, note);
  }
  return wrap;
}
