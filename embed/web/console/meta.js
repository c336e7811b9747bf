// The clinic's domain tables, from the server (GET /api/v1/meta): the item
// types, the statuses, the outcomes that close each type, each type's
// fields in reading order, the appointment import's fields, and what a new
// clinic has until the owner changes it (reply targets, queues, routes),
// and the clinic's time zone, which every time the console shows is in;
// and every audit action with its words, for the owner's action picker.
// app/clinic declares them once; the console keeps no copy of its own.

import { api } from './api.js';
import { setClinicZone } from './format.js';

export const tables = {
  item_types: [],
  statuses: [],
  outcomes: {},
  fields: {},
  import_fields: [],
  default_targets: {},
  default_routes: {},
  default_queues: [],
  urgent_queue: '',
  clinic_zone: '',
  audit_actions: [],
};

let pending = null;

// loadTables fetches the tables once per page load (they change only with
// a new build, which is a new page); a failed fetch is tried again on the
// next call.
export function loadTables() {
  if (!pending) {
    pending = api('GET', '/api/v1/meta').then((t) => {
      Object.assign(tables, t);
      setClinicZone(t.clinic_zone);
      return tables;
    }, (err) => {
      pending = null;
      throw err;
    });
  }
  return pending;
}
