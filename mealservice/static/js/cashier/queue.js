// Offline: scans wait in localStorage and are sent again later, each under its own
// Idempotency-Key so the server records every meal exactly once; the card list kept there
// lets the page refuse revoked and superseded cards, and those of elders gone, on its
// own. No DOM: the page passes in what to show (main.js).

export function readStore(key, fallback) {
  try {
    const value = JSON.parse(localStorage.getItem(key));
    return value === null ? fallback : value;
  } catch (error) {
    return fallback;
  }
}

export function writeStore(key, value) {
  localStorage.setItem(key, JSON.stringify(value));
}

export const queueKey = (canteenId) => `mealservice.offline-scans.${canteenId}`;
export const cardListKey = (canteenId) => `mealservice.card-list.${canteenId}`;

// What the page refuses without the server, for a card decoded by codec.js (null: not a
// card), the stored card list (null: none yet) and the district's date: a refusal code,
// or null when the scan may go (or wait in the queue).
export function offlineRefusal(card, list, today) {
  if (!card) return "card_invalid";
  if (list) {
    const on = (entries) => (entries || []).some((e) => e.card_id === card.cardId);
    if (on(list.revoked)) return "card_revoked";
    if (on(list.superseded)) return "card_superseded";
    if (on(list.inactive)) return "elder_inactive";
  }
  if (card.expiresOn < today) return "card_expired";
  return null;
}

// A refusal is the server's last word; a busy key, a lost login or a server fault is not.
export function errorCode(result) {
  return result.body && result.body.error && result.body.error.code;
}

export function isFinal(result) {
  if (result.status >= 500 || result.status === 401 || result.status === 403) return false;
  return errorCode(result) !== "idempotency_in_progress";
}

// The canteen's queue of scans made offline; `onChange` runs after every change.
export function offlineScans(canteenId, onChange) {
  const key = queueKey(canteenId);
  let resending = false;

  function queue() {
    return readStore(key, []);
  }

  function setQueue(items) {
    writeStore(key, items);
    onChange();
  }

  function forget(itemKey) {
    setQueue(queue().filter((item) => item.key !== itemKey));
  }

  // The scan as it waits: its body carries the moment it was made.
  // `extra` is what the page judged offline (the elder, the expected amount), not sent.
  function queueOffline(itemKey, body, label, extra = {}) {
    const item = Object.assign({}, extra, {
      key: itemKey,
      body: Object.assign({}, body, { scanned_at: new Date().toISOString() }),
      label,
    });
    setQueue([...queue(), item]);
    return item;
  }

  // Oldest first, each under its original key: a repeat of a scan the server already has
  // returns that first answer and records nothing new. `send(item)` answers as api.call;
  // the page is told of each outcome before the item leaves the queue:
  // served(item, meal), recorded(item) when the first try reached the service and only
  // its answer was lost, refused(item, error); settled() when the round is over.
  async function resend({ send, served, recorded, refused, settled }) {
    if (resending || !queue().length) return;
    resending = true;
    try {
      for (const item of queue()) {
        const result = await send(item);
        if (result.offline) break;
        if (result.status === 201) {
          served(item, result.body);
          forget(item.key);
        } else if (errorCode(result) === "idempotency_key_reused") {
          // The queued copy carries scanned_at, so the key no longer matches the first
          // try's body. The meal is recorded.
          recorded(item);
          forget(item.key);
        } else if (isFinal(result)) {
          refused(item, result.body && result.body.error);
          forget(item.key);
        }
      }
    } finally {
      resending = false;
      settled();
    }
  }

  return { queue, setQueue, forget, queueOffline, resend };
}

export const rosterKey = (canteenId) => `mealservice.offline-roster.${canteenId}`;
export const servedKey = (canteenId) => `mealservice.served-today.${canteenId}`;
export const attentionKey = (canteenId) => `mealservice.needs-attention.${canteenId}`;

// ---- the day's roster: who a card belongs to and what they pay, for offline answers ----

// The roster's entry for a scan's card (or its card-less elder), or null.
export function rosterEntry(roster, { cardId, elderId }) {
  if (!roster || !roster.elders) return null;
  return roster.elders.find((entry) => (cardId ? entry.card_id === cardId
    : entry.elder_id === elderId)) || null;
}

// What the elder is expected to pay for the slot's meal here (null: not known offline).
export function expectedToPay(roster, entry, slot) {
  if (!entry || !roster || !roster.menus || !roster.menus[slot]) return null;
  const pays = entry.pays_fen && entry.pays_fen[slot];
  return pays === undefined ? null : pays;
}

// The day's meals this page knows of, to warn before a second one in a slot: the roster's
// (as the service had them) and those this page saw served since, for one district day.
export function servedLog(canteenId) {
  const key = servedKey(canteenId);

  function read(day) {
    const log = readStore(key, null);
    return log && log.day === day ? log.items : [];
  }

  // A meal seen again (in the day's list, after its scan) keeps the card it was scanned from.
  function add(day, item) {
    const known = read(day);
    const prior = known.find((meal) => item.id && meal.id === item.id);
    const items = known.filter((meal) => meal !== prior);
    const card = item.card_id || (prior && prior.card_id) || null;
    writeStore(key, { day, items: [...items, Object.assign({}, item, { card_id: card })] });
  }

  // An undone meal warns of nothing.
  function forget(day, id) {
    writeStore(key, { day, items: read(day).filter((known) => known.id !== id) });
  }

  return { read, add, forget };
}

// When the elder already has a meal in the slot on the day, as this page knows it: the
// moment (ISO) of the earliest, or null. The elder is known by the roster, or only by the
// card (a card this page saw served); `served` are meals ({elder_id, card_id?, slot,
// served_at}), `queued` the offline queue's items, each with the elder and card it was
// judged to belong to (item.elderId, item.cardId).
export function earlierMeal({ elderId, cardId, slot, day, served, queued, dayOf }) {
  const same = (elder, card) => Boolean((elderId && elder === elderId) || (cardId && card === cardId));
  const moments = [
    ...served.filter((meal) => same(meal.elder_id, meal.card_id) && meal.slot === slot)
      .map((meal) => meal.served_at),
    ...queued.filter((item) => same(item.elderId, item.cardId) && item.body.slot === slot
      && dayOf(item.body.scanned_at) === day).map((item) => item.body.scanned_at),
  ].filter(Boolean).sort();
  return moments.length ? moments[0] : null;
}

// ---- scans the service refused after the page had queued them ------------------------

// Kept until a person resolves them (retry with a slot, or dismiss with a reason): they
// survive reloads here and, once reported, are on the service for the manager to see.
export function refusedScans(canteenId, onChange) {
  const key = attentionKey(canteenId);

  function list() {
    return readStore(key, []);
  }

  function save(items) {
    writeStore(key, items);
    onChange();
  }

  function add(item) {
    if (list().some((known) => known.key === item.key)) return;
    save([...list(), item]);
  }

  function update(itemKey, patch) {
    save(list().map((item) => (item.key === itemKey ? Object.assign({}, item, patch) : item)));
  }

  function remove(itemKey) {
    save(list().filter((item) => item.key !== itemKey));
  }

  // The service's open list, as asked for at `askedAt` (ms), is the truth for what was
  // reported before: one reported from another tab or tablet is added; one reported here
  // before the question but no longer open was resolved elsewhere. One reported since the
  // question was asked is not in the answer yet, and stays.
  function merge(open, askedAt) {
    const openKeys = new Set(open.map((row) => row.key));
    const kept = list().filter((item) => !item.serverId || openKeys.has(item.key)
      || item.reportedAt >= askedAt);
    const known = new Set(kept.map((item) => item.key));
    const added = open.filter((row) => !known.has(row.key)).map((row) => ({
      key: row.key,
      serverId: row.id,
      label: row.label,
      at: row.scanned_at,
      error: { code: row.error_code, message: row.error_message },
    }));
    save([...kept.map((item) => {
      const row = open.find((r) => r.key === item.key);
      return row ? Object.assign({}, item, { serverId: row.id }) : item;
    }), ...added]);
  }

  return { list, add, update, remove, merge };
}
