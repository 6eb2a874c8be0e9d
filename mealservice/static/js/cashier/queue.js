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
  function queueOffline(itemKey, body, label) {
    const item = {
      key: itemKey,
      body: Object.assign({}, body, { scanned_at: new Date().toISOString() }),
      label,
    };
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
