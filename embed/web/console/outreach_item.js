// What one request shows about reaching out: for a conversation staff
// started, who wrote it, where the patient was told and when they read it;
// for an urgent request after hours, the on-call page and its "I've got
// it" button.

import { api } from './api.js';
import { h, put } from './dom.js';
import { formatTime } from './format.js';
import { staffName } from './team.js';

const kindWords = { message: 'Message', results: 'Results ready', recall: 'Recall', billing: 'Billing', other: 'Other' };

// pageWords is the timeline line of a page or its answer.
export function pageWords(body, who) {
  const name = who || 'a colleague';
  if (body === 'oncall.paged') return `Paged ${name} (on call): urgent request after hours.`;
  if (body === 'oncall.ack') return `${name} took it (“I\u2019ve got it”). Nobody else will be paged.`;
  if (body === 'oncall.unanswered') return 'Nobody took the page, the owner included. Call the patient as soon as you can.';
  return body;
}

export function outreachNotes(x) {
  const it = x.v.item;
  const out = [];
  const o = it.outreach;
  if (o) {
    const told = (o.channels || []).length ? `The patient was told by ${o.channels.join(' and ')}.` : 'Nobody could be told (no email on file or not wanted): call the patient.';
    out.push(h('div', { class: 'sub-card', id: 'item-outreach' },
      h('p', null, h('strong', null, `${kindWords[o.kind] || 'Message'} from the clinic`), ` — written by ${staffName(o.by)}. ${told}`),
      h('p', { id: 'item-read' }, o.read_at ? `Read by the patient at ${formatTime(o.read_at)}.` : 'Not read by the patient yet.')));
  }
  const pg = x.v.page;
  if (pg) {
    const msg = h('p', { id: 'page-msg', role: 'status' });
    const box = h('div', { class: 'urgent-box', id: 'item-page' },
      h('p', null, pg.ack_by ? `${staffName(pg.ack_by)} took the on-call page at ${formatTime(pg.ack_at)}.`
        : pg.next_at ? `The on-call page has not been taken. The next person is paged at ${formatTime(pg.next_at)}.`
          : 'Nobody took the on-call page.'), msg);
    if (!pg.ack_by) {
      const btn = h('button', { type: 'button', class: 'primary', id: 'page-ack' }, 'I\u2019ve got it');
      btn.addEventListener('click', async () => {
        try {
          await api('POST', `/api/v1/items/${x.enc}/oncall/ack`);
          x.load(false);
        } catch (err) { if (!err.handled) put(msg, err.message); }
      });
      box.append(btn);
    }
    out.push(box);
  }
  return out;
}
