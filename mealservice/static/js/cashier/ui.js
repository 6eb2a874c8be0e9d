// What the counter page shows and sounds: the big answer, the list of the latest scans,
// money and times in the district's words. Nothing here calls the service: main.js does,
// and hands the answers over.

export const $ = (id) => document.getElementById(id);

// ---- small helpers --------------------------------------------------------------------

export function fill(text, values) {
  return text.replace(/%\((\w+)\)s/g, (_, name) => (name in values ? values[name] : ""));
}

export function yuan(fen) {
  if (fen === null || fen === undefined) return "";
  const sign = fen < 0 ? "-" : "";
  const abs = Math.abs(fen);
  const whole = Math.floor(abs / 100).toLocaleString("en-US");
  return `${sign}¥${whole}.${String(abs % 100).padStart(2, "0")}`;
}

// "12.5" → 1250 without floating point: money is integer fen everywhere.
export function yuanToFen(text) {
  const match = /^\s*(\d{1,7})(?:\.(\d{1,2}))?\s*$/.exec(text);
  if (!match) return null;
  const fen = Number(match[1]) * 100 + Number((match[2] || "0").padEnd(2, "0"));
  return fen > 0 ? fen : null;
}

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "class") node.className = value;
    else if (name === "text") node.textContent = value;
    else node.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children) {
    if (child !== null && child !== undefined) node.append(child);
  }
  return node;
}

export function localTime(iso, timezone) {
  if (!iso) return "";
  return new Intl.DateTimeFormat("zh-CN", {
    timeZone: timezone, hour: "2-digit", minute: "2-digit", hour12: false,
  }).format(new Date(iso));
}

// The district's date, not the device's: a tablet's zone may be set wrong.
export function today(timezone, when = new Date()) {
  return new Intl.DateTimeFormat("en-CA", { timeZone: timezone }).format(new Date(when));
}

// ---- sound: no audio files, so it works offline and needs nothing to load --------------

let audio = null;
export function beep(frequency, start, length) {
  const oscillator = audio.createOscillator();
  const gain = audio.createGain();
  oscillator.type = frequency < 400 ? "square" : "sine";
  oscillator.frequency.value = frequency;
  gain.gain.setValueAtTime(0.25, audio.currentTime + start);
  gain.gain.setValueAtTime(0, audio.currentTime + start + length);
  oscillator.connect(gain).connect(audio.destination);
  oscillator.start(audio.currentTime + start);
  oscillator.stop(audio.currentTime + start + length + 0.05);
}

export function sound(kind) {
  try {
    audio = audio || new (window.AudioContext || window.webkitAudioContext)();
    if (kind === "served") {
      beep(1320, 0, 0.18);
    } else if (kind === "warned") {
      // Served, then a falling call to look at the screen.
      beep(1320, 0, 0.18);
      beep(660, 0.3, 0.3);
    } else {
      beep(180, 0, 0.2);
      beep(180, 0.28, 0.2);
    }
  } catch (error) {
    // No audio device: the screen still says it all.
  }
}

// ---- the big answer -------------------------------------------------------------------

// `answer` is the answer's element; `texts` and `timezone` come from the page's facts.
export function createAnswer({ answer, texts: T, timezone }) {
  function showAnswer(kind, ...children) {
    answer.className = `answer ${kind}`;
    answer.replaceChildren(...children.filter((child) => child !== null));
    answer.dataset.state = kind;
  }

  function headline(kind, word) {
    return el("p", { class: "answer-word" },
      el("span", { class: "icon", "aria-hidden": "true", text: kind === "served" ? "✓" : "✗" }),
      " ", word);
  }

  function dietNote(notes) {
    if (!notes) return null;
    return el("p", { class: "diet-note", "data-testid": "diet-note" },
      el("span", { "aria-hidden": "true", text: "⚠ " }),
      el("strong", { text: `${T.diet_note} ` }), notes);
  }

  // Loud: an allergy or an unmet diet need is something the cashier must act on now.
  function dietWarnings(warnings) {
    if (!warnings || !warnings.length) return null;
    return el("div", { class: "diet-warnings", "data-testid": "diet-warnings", role: "alert" },
      el("p", { class: "diet-warnings-head" },
        el("span", { "aria-hidden": "true", text: "⚠ " }), T.diet_clash),
      el("ul", {}, ...warnings.map((warning) => el("li", { "data-testid": "diet-warning",
        text: warning.reason === "allergy"
          ? fill(T.diet_allergy, { dish: warning.dish || warning.option_name,
            allergy: warning.allergy })
          : fill(T.diet_need, { option: warning.option_name,
            need: T.diet_needs[warning.diet_need] || warning.diet_need }) }))));
  }

  function showServed(meal) {
    const method = meal.payment_method || "cash";
    let collectLabel = T.to_collect;
    if (method === "e_payment") collectLabel = T.to_collect_e_payment;
    if (method === "balance") collectLabel = T.from_balance_label;
    const balanceLine = method === "balance" && meal.balance_after_fen !== undefined
      ? el("p", { class: "balance-line", "data-testid": "balance-line",
        text: fill(T.from_balance, { amount: yuan(meal.to_collect_fen),
          balance: yuan(meal.balance_after_fen) }) })
      : null;
    showAnswer("served",
      headline("served", T.served),
      el("p", { class: "elder-name", "data-testid": "elder-name" }, meal.elder.name,
        el("span", { class: "age", text: ` · ${fill(T.age, { age: meal.elder.age })}` })),
      dietWarnings(meal.diet_warnings),
      el("p", { class: "to-collect" },
        el("span", { class: "to-collect-label", text: collectLabel }),
        el("span", { class: "to-collect-amount", "data-testid": "to-collect",
          text: yuan(meal.to_collect_fen) })),
      balanceLine,
      el("p", { class: "price-line" },
        `${T.price} ${yuan(meal.price_fen)} · ${T.subsidy} ${yuan(meal.subsidy_fen)}`),
      dietNote(meal.elder.diet_notes));
    sound(meal.diet_warnings && meal.diet_warnings.length ? "warned" : "served");
  }

  // The service's error (or only its code) in the cashier's words.
  function refusalText(error) {
    const words = T.refusals;
    const detail = (error && error.detail) || {};
    const code = error ? error.code : "other";
    if (code === "already_served" && detail.canteen_name) {
      return fill(words.already_served_at,
        { canteen: detail.canteen_name, time: localTime(detail.served_at, timezone) });
    }
    if (code === "insufficient_balance" && detail.balance_fen !== undefined) {
      return fill(words.insufficient_balance_of,
        { balance: yuan(detail.balance_fen), needed: yuan(detail.needed_fen) });
    }
    if (code === "validation_error") {
      const fields = error.fields || {};
      if (fields.slot) return words.outside_window;
      if (fields["payment.reference"] || fields.reference) return words.reference_needed;
      const reasons = Object.entries(fields).map(([f, r]) => `${f}: ${r.join(" ")}`).join("; ");
      return fill(words.validation_error, { reasons: reasons || error.message });
    }
    if (words[code]) return words[code];
    return fill(words.other, { message: (error && error.message) || "" });
  }

  // `actions`: [{text, run}] buttons under the reason, e.g. the same scan for another slot.
  function showRefused(text, name, actions = []) {
    showAnswer("refused",
      headline("refused", T.refused),
      name ? el("p", { class: "elder-name", "data-testid": "elder-name", text: name }) : null,
      el("p", { class: "reason", "data-testid": "refusal-reason", text }),
      actionRow(actions));
    sound("refused");
  }

  function actionRow(actions) {
    if (!actions.length) return null;
    return el("p", { class: "answer-actions" }, ...actions.map(({ text, run, testid }) => {
      const button = el("button", { type: "button", text, "data-testid": testid });
      button.addEventListener("click", run);
      return button;
    }));
  }

  // Offline the page answers from the day's roster: the name and the amount are what the
  // service is expected to say, marked as provisional until it does.
  function showOfflineRecorded({ label, slotName, amount }) {
    showAnswer("pending",
      el("p", { class: "answer-word" },
        el("span", { class: "icon", "aria-hidden": "true", text: "↑" }), " ", T.pending),
      el("p", { class: "elder-name", "data-testid": "elder-name", text: label }),
      amount === null || amount === undefined
        ? el("p", { class: "reason", "data-testid": "provisional", text: T.amount_unknown })
        : el("p", { class: "to-collect" },
          el("span", { class: "to-collect-label", text: fill(T.provisional_label, { slot: slotName }) }),
          el("span", { class: "to-collect-amount", "data-testid": "to-collect", text: yuan(amount) }),
          el("span", { class: "provisional", "data-testid": "provisional", text: T.provisional })),
      el("p", { class: "price-line", text: T.offline_recorded }));
    sound("served");
  }

  // Loud and red, before anything is queued: the cashier records it anyway or cancels.
  function showDoubleWarning({ label, time, slotName, record, cancel }) {
    showAnswer("refused",
      headline("refused", T.double_title),
      el("p", { class: "elder-name", "data-testid": "elder-name", text: label }),
      el("p", { class: "reason", "data-testid": "double-warning",
        text: fill(T.double_warning, { time, slot: slotName }) }),
      actionRow([
        { text: T.double_cancel, run: cancel, testid: "double-cancel" },
        { text: T.double_record, run: record, testid: "double-record" },
      ]));
    sound("refused");
  }

  return {
    showAnswer, showServed, refusalText, showRefused, showOfflineRecorded, showDoubleWarning,
  };
}

// ---- scans refused after the outage: a person resolves each -----------------------------

// `items` from queue.js refusedScans; `slots` the district's slots, nearest first for each
// item's time; `retry(item, slot)` and `dismiss(item, reason)` call the service.
export function renderRefusedScans(panel, items, { texts: T, timezone, refusalText, slotsFor,
  retry, dismiss }) {
  panel.hidden = !items.length;
  const list = panel.querySelector("ol");
  panel.querySelector("[data-count]").textContent = String(items.length);
  list.replaceChildren(...items.map((item) => {
    const row = el("li", { class: "scan-entry refused-scan", "data-testid": "refused-scan" },
      el("span", { class: "when", text: localTime(item.at, timezone) }),
      el("span", { class: "who", text: item.label }),
      el("span", { class: "tag conflict", text: refusalText(item.error) }));
    const actions = el("div", { class: "actions" }, ...slotsFor(item).map((slot) => {
      const button = el("button", { type: "button", text: fill(T.record_as, { slot: T.slots[slot] }) });
      button.addEventListener("click", () => retry(item, slot));
      return button;
    }));
    const drop = el("button", { type: "button", class: "cancel", text: T.dismiss });
    drop.addEventListener("click", () => {
      const id = `dismiss-${item.key}`;
      const input = el("input", { id, type: "text", maxlength: "200", required: true });
      const form = el("form", { class: "void-form" },
        el("label", { for: id, text: T.dismiss_reason }), input,
        el("button", { type: "submit", text: T.dismiss_confirm }));
      form.addEventListener("submit", (event) => {
        event.preventDefault();
        if (input.value.trim()) dismiss(item, input.value.trim());
        else input.focus();
      });
      row.append(form);
      input.focus();
    });
    actions.append(drop);
    row.append(actions);
    if (item.problem) row.append(el("p", { class: "reason", role: "status", text: item.problem }));
    return row;
  }));
}

// ---- the list of the latest scans -----------------------------------------------------

export function entryFromMeal(meal) {
  return {
    mealId: meal.meal_id,
    name: meal.elder.name,
    at: meal.served_at,
    amount: meal.to_collect_fen,
    method: meal.payment_method,
    voided: Boolean(meal.voided_at),
    conflict: meal.conflict || null,
    pending: false,
  };
}

// `list` is the list's element. With `mayVoid`, a served meal has an Undo button whose
// form hands the reason to `voidMeal(entry, reason)`; `focusScan` gives the scan input its
// focus back.
export function createScanList({ list, texts: T, timezone, mayVoid, refusalText, voidMeal,
  focusScan }) {
  // meal_id or the queued scan's key → the entry shown; newest first.
  const entries = new Map();

  function upsertEntry(key, entry) {
    entries.set(key, Object.assign(entries.get(key) || {}, entry, { key }));
    renderList();
  }

  // Shown no more from the next rendering on.
  function removeEntry(key) {
    entries.delete(key);
  }

  function renderList() {
    const shown = [...entries.values()].sort((a, b) => (b.at || "").localeCompare(a.at || ""));
    if (!shown.length) {
      list.replaceChildren(el("li", { class: "muted", text: T.no_scans }));
      return;
    }
    list.replaceChildren(...shown.slice(0, 30).map(renderEntry));
  }

  function renderEntry(entry) {
    const tags = [];
    if (entry.pending) tags.push(el("span", { class: "tag pending", text: T.pending }));
    if (entry.conflict) {
      tags.push(el("span", { class: "tag conflict",
        text: `${T.conflict}: ${refusalText({ code: entry.conflict })}` }));
    }
    if (entry.voided) tags.push(el("span", { class: "tag voided", text: T.voided }));
    if (entry.refused) {
      tags.push(el("span", { class: "tag conflict", text: `${T.refused_later}: ${entry.refused}` }));
    }
    const item = el("li", { class: "scan-entry", "data-key": entry.key },
      el("span", { class: "when", text: localTime(entry.at, timezone) }),
      el("span", { class: "who", text: entry.name }),
      el("span", { class: "amount", text: entry.amount === undefined ? "" : yuan(entry.amount) }),
      entry.method && entry.amount ? el("span", { class: "muted", text: T.payment[entry.method] || entry.method }) : null,
      ...tags);
    if (mayVoid && entry.mealId && !entry.voided && !entry.pending) {
      const undo = el("button", { type: "button", class: "undo", text: T.undo });
      undo.addEventListener("click", () => openVoidForm(item, entry));
      item.append(undo);
    }
    return item;
  }

  function openVoidForm(item, entry) {
    const id = `void-reason-${entry.mealId}`;
    const input = el("input", { id, type: "text", maxlength: "200", required: true });
    const form = el("form", { class: "void-form" },
      el("label", { for: id, text: T.void_reason }), input,
      el("button", { type: "submit", text: T.void_confirm }),
      el("button", { type: "button", class: "cancel", text: T.cancel }));
    form.querySelector(".cancel").addEventListener("click", () => { renderList(); focusScan(); });
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      if (!input.value.trim()) { input.focus(); return; }
      await voidMeal(entry, input.value.trim());
    });
    item.append(form);
    input.focus();
  }

  return { upsertEntry, removeEntry, renderList };
}

// Today's meals the service flagged in conflict (a manager's page only), into `list`.
export function renderConflicts(list, meals, { texts: T, timezone, refusalText }) {
  const conflicts = meals.filter((meal) => meal.conflict);
  list.replaceChildren(...(conflicts.length
    ? conflicts.map((meal) => el("li", { class: "scan-entry" },
      el("span", { class: "when", text: localTime(meal.served_at, timezone) }),
      el("span", { class: "who", text: meal.elder.name }),
      el("span", { class: "amount", text: yuan(meal.to_collect_fen) }),
      el("span", { class: "tag conflict", text: refusalText({ code: meal.conflict }) })))
    : [el("li", { class: "muted", text: T.no_conflicts })]));
}
