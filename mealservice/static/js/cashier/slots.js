// Meal slots by the district's windows (`{lunch: ["10:30", "13:30"], ...}`), read on the
// district's clock: the page sends the slot a cashier means, and offline it keeps a scan
// made outside every window with the nearest one, as the service does.

export const SLOTS = ["breakfast", "lunch", "dinner"];

export function localHHMM(timezone, when = new Date()) {
  return new Intl.DateTimeFormat("en-GB", {
    timeZone: timezone, hour: "2-digit", minute: "2-digit", hourCycle: "h23",
  }).format(when);
}

function minutes(hhmm) {
  const [hours, mins] = hhmm.split(":").map(Number);
  return hours * 60 + mins;
}

// The slot whose window holds the time (ends included), or null.
export function slotAt(windows, hhmm) {
  return SLOTS.find((slot) => windows[slot] && windows[slot][0] <= hhmm
    && hhmm <= windows[slot][1]) || null;
}

// The slot whose window is nearest the time, within the same day; the earlier on a tie.
export function nearestSlot(windows, hhmm) {
  const at = minutes(hhmm);
  let best = null;
  let bestDistance = Infinity;
  for (const slot of SLOTS) {
    const window = windows[slot];
    if (!window) continue;
    const [start, end] = window.map(minutes);
    const distance = at < start ? start - at : at > end ? at - end : 0;
    if (distance < bestDistance) {
      best = slot;
      bestDistance = distance;
    }
  }
  return best;
}

// The slots in the order a cashier would want them for a meal outside every window:
// the nearest first.
export function slotsByNearness(windows, hhmm) {
  const at = minutes(hhmm);
  const distance = (slot) => {
    const [start, end] = windows[slot].map(minutes);
    return at < start ? start - at : at > end ? at - end : 0;
  };
  return SLOTS.filter((slot) => windows[slot]).sort((a, b) => distance(a) - distance(b));
}
