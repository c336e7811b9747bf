// Who works where: queue names, the staff list, the assign menus, and
// which patient each listed request belongs to (for break-glass).

import { api } from './api.js';
import { h } from './dom.js';
import { roleName } from './format.js';
import { memory, state } from './state.js';

// queueName is the name of a queue the console has learnt, else its id.
export function queueName(id) {
  const q = memory.queueInfo && memory.queueInfo[id];
  if (q) return q.name;
  return id ? id[0].toUpperCase() + id.slice(1) : 'the inbox';
}

// ensureQueues learns the queues' names and roles without opening any
// record (the workload numbers carry them).
export async function ensureQueues() {
  if (memory.queueInfo && Object.keys(memory.queueInfo).length) return memory.queueInfo;
  try {
    const w = await api('GET', '/api/v1/workload');
    rememberQueues((w.queues || []).map((q) => q.queue));
  } catch { /* names fall back to ids */ }
  return memory.queueInfo || {};
}

export function rememberQueues(list) {
  memory.queueInfo = memory.queueInfo || {};
  for (const q of list || []) if (q && q.id) memory.queueInfo[q.id] = q;
}

// staff: the staff list, for names and the assign menus.
export async function ensureStaff(force) {
  if (memory.staff && !force) return memory.staff;
  const r = await api('GET', '/api/v1/staff');
  memory.staff = r.staff || [];
  memory.staffById = Object.fromEntries(memory.staff.map((s) => [s.id, s]));
  return memory.staff;
}

export function staffName(id) {
  if (!id) return '';
  if (state.me && id === state.me.staff.id) return 'You';
  const s = memory.staffById && memory.staffById[id];
  return s ? s.name : 'a former colleague';
}

// mayWork lists active staff who may work a queue (owners work every queue).
function mayWork(queue) {
  const q = memory.queueInfo && memory.queueInfo[queue];
  return (memory.staff || []).filter((s) => !s.disabled && (s.role === 'owner' || !q || (q.roles || []).includes(s.role)));
}

export function rememberRows(rows) {
  memory.rowPatient = memory.rowPatient || {};
  for (const r of rows) if (r.id && r.patient_id) memory.rowPatient[r.id] = r.patient_id;
}

export function assignMenu(prefix, queue, current, withRole = true) {
  const sel = h('select', { id: `${prefix}-staff`, name: 'staff_id' },
    h('option', { value: '' }, 'Choose a person…'),
    mayWork(queue).map((s) => h('option', { value: s.id, selected: s.id === current },
      `${s.id === state.me.staff.id ? `${s.name} (you)` : s.name}${withRole ? ` · ${roleName(s.role)}` : ''}`)));
  return sel;
}
