// The cashier page: a USB scanner types a card's payload into the focused input and
// presses Enter; the page records the meal and shows one big answer. When the network is
// down, scans wait in localStorage and are sent again later, each under its own
// Idempotency-Key so the server records every meal exactly once.
"use strict";

(function () {
  // Print buttons on the card and shift-report pages: no inline handlers (CSP).
  document.addEventListener("click", (event) => {
    if (event.target.closest("[data-action=print]")) window.print();
  });

  const root = document.getElementById("cashier");
  if (!root) return;

  const facts = JSON.parse(document.getElementById("cashier-facts").textContent);
  const T = facts.texts;
  const canteenId = facts.canteen.id;
  const QUEUE_KEY = `mealservice.offline-scans.${canteenId}`;
  const CARD_LIST_KEY = `mealservice.card-list.${canteenId}`;
  const PAYMENT_KEY = "mealservice.payment-method";
  const RESEND_MS = 15 * 1000;
  const CARD_LIST_MS = 5 * 60 * 1000;

  const $ = (id) => document.getElementById(id);
  const scanInput = $("scan-input");
  const answer = $("answer");

  // ---- small helpers ------------------------------------------------------------------

  function fill(text, values) {
    return text.replace(/%\((\w+)\)s/g, (_, name) => (name in values ? values[name] : ""));
  }

  function yuan(fen) {
    if (fen === null || fen === undefined) return "";
    const sign = fen < 0 ? "-" : "";
    const abs = Math.abs(fen);
    const whole = Math.floor(abs / 100).toLocaleString("en-US");
    return `${sign}¥${whole}.${String(abs % 100).padStart(2, "0")}`;
  }

  // "12.5" → 1250 without floating point: money is integer fen everywhere.
  function yuanToFen(text) {
    const match = /^\s*(\d{1,7})(?:\.(\d{1,2}))?\s*$/.exec(text);
    if (!match) return null;
    const fen = Number(match[1]) * 100 + Number((match[2] || "0").padEnd(2, "0"));
    return fen > 0 ? fen : null;
  }

  function el(tag, attrs = {}, ...children) {
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

  function localTime(iso) {
    if (!iso) return "";
    return new Intl.DateTimeFormat("zh-CN", {
      timeZone: facts.timezone, hour: "2-digit", minute: "2-digit", hour12: false,
    }).format(new Date(iso));
  }

  // The district's date, not the device's: a tablet's zone may be set wrong.
  function today() {
    return new Intl.DateTimeFormat("en-CA", { timeZone: facts.timezone }).format(new Date());
  }

  function readStore(key, fallback) {
    try {
      const value = JSON.parse(localStorage.getItem(key));
      return value === null ? fallback : value;
    } catch (error) {
      return fallback;
    }
  }

  function writeStore(key, value) {
    localStorage.setItem(key, JSON.stringify(value));
  }

  // fetch rejects only when no answer came back at all; an HTTP error is still an answer.
  async function call(path, options) {
    let response;
    try {
      response = await window.mealservice.api(path, options);
    } catch (error) {
      return { offline: true };
    }
    let body = null;
    try {
      body = await response.json();
    } catch (error) {
      body = null;
    }
    return { status: response.status, ok: response.ok, body };
  }

  // ---- sound: no audio files, so it works offline and needs nothing to load ------------

  let audio = null;
  function beep(frequency, start, length) {
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

  function sound(kind) {
    try {
      audio = audio || new (window.AudioContext || window.webkitAudioContext)();
      if (kind === "served") {
        beep(1320, 0, 0.18);
      } else {
        beep(180, 0, 0.2);
        beep(180, 0.28, 0.2);
      }
    } catch (error) {
      // No audio device: the screen still says it all.
    }
  }

  // ---- the scan input keeps the focus, so a scanner always types into it ----------------

  function refocus() {
    const active = document.activeElement;
    // Other inputs (look-up, top-up, void reason) keep the focus while someone types.
    if (!active || active === document.body) scanInput.focus();
  }

  function focusScan() {
    scanInput.focus();
  }

  scanInput.addEventListener("blur", () => setTimeout(refocus, 0));
  document.addEventListener("click", () => setTimeout(refocus, 0));

  // ---- the card payload, read without the server ---------------------------------------

  const BASE45 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";
  const EPOCH_MS = Date.UTC(2020, 0, 1);

  function base45Decode(text) {
    const bytes = [];
    for (let i = 0; i < text.length; i += 3) {
      const chunk = text.slice(i, i + 3);
      const digits = [...chunk].map((c) => BASE45.indexOf(c));
      if (digits.some((d) => d < 0) || chunk.length === 1) return null;
      const value = digits.reduce((sum, d, n) => sum + d * 45 ** n, 0);
      if (chunk.length === 3) {
        if (value > 0xffff) return null;
        bytes.push(value >> 8, value & 0xff);
      } else {
        if (value > 0xff) return null;
        bytes.push(value);
      }
    }
    return bytes;
  }

  // MS1: + Base45 of [version, key id, card id (8), generation u16, expiry days u16] and a
  // 64-byte signature. Only the server can check the signature; offline we check the rest.
  function decodeCard(payload) {
    const text = payload.trim();
    if (!text.startsWith("MS1:")) return null;
    const bytes = base45Decode(text.slice(4));
    if (!bytes || bytes.length !== 14 + 64 || bytes[0] !== 1) return null;
    const hex = bytes.slice(2, 10).map((b) => b.toString(16).padStart(2, "0")).join("");
    const days = (bytes[12] << 8) | bytes[13];
    return {
      cardId: hex,
      generation: (bytes[10] << 8) | bytes[11],
      expiresOn: new Date(EPOCH_MS + days * 86400000).toISOString().slice(0, 10),
    };
  }

  function offlineRefusal(card) {
    if (!card) return "card_invalid";
    const list = readStore(CARD_LIST_KEY, null);
    if (list) {
      const on = (entries) => (entries || []).some((e) => e.card_id === card.cardId);
      if (on(list.revoked)) return "card_revoked";
      if (on(list.superseded)) return "card_superseded";
    }
    if (card.expiresOn < today()) return "card_expired";
    return null;
  }

  async function refreshCardList() {
    const result = await call(facts.urls.card_list);
    if (result.ok && result.body) writeStore(CARD_LIST_KEY, result.body);
  }

  // ---- payment, chosen before the scan and kept for the next one -----------------------

  function paymentMethod() {
    return root.querySelector("input[name=payment]:checked").value;
  }

  function showReference() {
    $("reference-box").hidden = paymentMethod() !== "e_payment";
  }

  function restorePayment() {
    const saved = readStore(PAYMENT_KEY, "cash");
    const radio = root.querySelector(`input[name=payment][value="${saved}"]`);
    if (radio) radio.checked = true;
    showReference();
  }

  root.querySelectorAll("input[name=payment]").forEach((radio) => {
    radio.addEventListener("change", () => {
      writeStore(PAYMENT_KEY, paymentMethod());
      showReference();
      if (paymentMethod() === "e_payment") $("payment-reference").focus();
      else focusScan();
    });
  });

  // A scanner presses Enter after the reference too: go back to the card input.
  $("payment-reference").addEventListener("keydown", (event) => {
    if (event.key === "Enter") {
      event.preventDefault();
      focusScan();
    }
  });

  function paymentBody() {
    const method = paymentMethod();
    const payment = { method };
    if (method === "e_payment") payment.reference = $("payment-reference").value.trim();
    return payment;
  }

  // ---- the big answer ------------------------------------------------------------------

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
      el("p", { class: "to-collect" },
        el("span", { class: "to-collect-label", text: collectLabel }),
        el("span", { class: "to-collect-amount", "data-testid": "to-collect",
          text: yuan(meal.to_collect_fen) })),
      balanceLine,
      el("p", { class: "price-line" },
        `${T.price} ${yuan(meal.price_fen)} · ${T.subsidy} ${yuan(meal.subsidy_fen)}`),
      dietNote(meal.elder.diet_notes));
    sound("served");
  }

  function refusalText(error) {
    const words = T.refusals;
    const detail = (error && error.detail) || {};
    const code = error ? error.code : "other";
    if (code === "already_served" && detail.canteen_name) {
      return fill(words.already_served_at,
        { canteen: detail.canteen_name, time: localTime(detail.served_at) });
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

  function showRefused(text, name) {
    showAnswer("refused",
      headline("refused", T.refused),
      name ? el("p", { class: "elder-name", text: name }) : null,
      el("p", { class: "reason", "data-testid": "refusal-reason", text }));
    sound("refused");
  }

  function showOfflineRecorded(label) {
    showAnswer("pending",
      el("p", { class: "answer-word" },
        el("span", { class: "icon", "aria-hidden": "true", text: "↑" }), " ", T.pending),
      el("p", { class: "elder-name", text: label }),
      el("p", { class: "reason", text: T.offline_recorded }));
    sound("served");
  }

  // ---- the list of the latest scans ----------------------------------------------------

  // meal_id or the queued scan's key → the entry shown; newest first.
  const entries = new Map();

  function upsertEntry(key, entry) {
    entries.set(key, Object.assign(entries.get(key) || {}, entry, { key }));
    renderList();
  }

  function entryFromMeal(meal) {
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

  function renderList() {
    const list = $("scan-list");
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
      el("span", { class: "when", text: localTime(entry.at) }),
      el("span", { class: "who", text: entry.name }),
      el("span", { class: "amount", text: entry.amount === undefined ? "" : yuan(entry.amount) }),
      entry.method && entry.amount ? el("span", { class: "muted", text: T.payment[entry.method] || entry.method }) : null,
      ...tags);
    if (facts.may_void && entry.mealId && !entry.voided && !entry.pending) {
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
      const result = await call(facts.urls.void.replace("{id}", entry.mealId),
        { method: "POST", body: { reason: input.value.trim() } });
      if (result.offline) { showRefused(T.network_error); return; }
      if (!result.ok) { showRefused(refusalText(result.body && result.body.error)); return; }
      upsertEntry(entry.key, entryFromMeal(result.body));
      focusScan();
    });
    item.append(form);
    input.focus();
  }

  async function loadTodaysMeals() {
    const result = await call(`${facts.urls.meals}?date=${today()}&per_page=20`);
    if (result.ok && result.body) {
      for (const meal of result.body.items) upsertEntry(`meal-${meal.meal_id}`, entryFromMeal(meal));
    }
    renderList();
  }

  async function loadConflicts() {
    const list = $("conflict-list");
    if (!list) return;
    const result = await call(`${facts.urls.meals}?date=${today()}&conflict=true&per_page=50`);
    if (!result.ok || !result.body) return;
    const conflicts = result.body.items.filter((meal) => meal.conflict);
    list.replaceChildren(...(conflicts.length
      ? conflicts.map((meal) => el("li", { class: "scan-entry" },
        el("span", { class: "when", text: localTime(meal.served_at) }),
        el("span", { class: "who", text: meal.elder.name }),
        el("span", { class: "amount", text: yuan(meal.to_collect_fen) }),
        el("span", { class: "tag conflict", text: refusalText({ code: meal.conflict }) })))
      : [el("li", { class: "muted", text: T.no_conflicts })]));
  }

  // ---- scanning ------------------------------------------------------------------------

  // `label` names a scan without a card in the pending list; it is not sent.
  async function submitScan(fields, label) {
    const payment = paymentBody();
    if (payment.method === "e_payment" && !payment.reference) {
      showRefused(T.refusals.reference_needed);
      $("payment-reference").focus();
      return;
    }
    const key = crypto.randomUUID();
    const body = Object.assign({}, fields, { payment });
    showAnswer("busy", el("p", { class: "answer-hint", text: T.sending }));
    const result = await call(facts.urls.scans,
      { method: "POST", body, headers: { "Idempotency-Key": key } });
    if (result.offline) {
      queueOffline(key, body, label);
      return;
    }
    if (result.status === 201) {
      showServed(result.body);
      upsertEntry(`meal-${result.body.meal_id}`, entryFromMeal(result.body));
      $("payment-reference").value = "";
      return;
    }
    const error = result.body && result.body.error;
    const name = error && error.detail && error.detail.elder_name;
    showRefused(refusalText(error), name);
  }

  async function judgeScan(text) {
    // Online the service judges every card; offline the page checks what it can itself:
    // the payload's form, its expiry and the card list.
    const refusal = navigator.onLine ? null : offlineRefusal(decodeCard(text));
    if (refusal) showRefused(T.refusals[refusal]);
    else await submitScan({ qr_payload: text });
  }

  // A scanner can read the next card before the last answer came: scans wait their turn
  // rather than being dropped.
  let scanning = Promise.resolve();
  function onScan(payload) {
    const text = payload.trim();
    if (!text) return scanning;
    scanning = scanning.then(() => judgeScan(text)).catch(() => {}).then(focusScan);
    return scanning;
  }

  // Enter is handled on the input itself: the form holds other fields too, and a form with
  // several text fields and no submit button is not submitted by Enter.
  scanInput.addEventListener("keydown", (event) => {
    if (event.key !== "Enter") return;
    event.preventDefault();
    const payload = scanInput.value;
    scanInput.value = "";
    onScan(payload);
  });
  $("scan-form").addEventListener("submit", (event) => event.preventDefault());

  // ---- the offline queue ---------------------------------------------------------------

  function queue() {
    return readStore(QUEUE_KEY, []);
  }

  function setQueue(items) {
    writeStore(QUEUE_KEY, items);
    showBanner();
  }

  function showBanner() {
    const waiting = queue().length;
    const banner = $("offline-banner");
    banner.hidden = waiting === 0 && navigator.onLine;
    banner.textContent = fill(T.offline_banner, { n: waiting });
  }

  function cardLabel(payload) {
    const card = payload ? decodeCard(payload) : null;
    return card ? fill(T.card, { id: card.cardId.slice(0, 6) }) : "";
  }

  function queueOffline(key, body, label) {
    // The network went down between the check in onScan and the call: check again.
    const local = body.qr_payload ? offlineRefusal(decodeCard(body.qr_payload)) : null;
    if (local) { showRefused(T.refusals[local]); return; }
    const item = {
      key,
      body: Object.assign({}, body, { scanned_at: new Date().toISOString() }),
      label: label || cardLabel(body.qr_payload),
    };
    setQueue([...queue(), item]);
    upsertEntry(key, { name: item.label, at: item.body.scanned_at, pending: true });
    showOfflineRecorded(item.label);
  }

  function showQueued() {
    for (const item of queue()) {
      upsertEntry(item.key, { name: item.label, at: item.body.scanned_at, pending: true });
    }
  }

  let resending = false;

  // Oldest first, each under its original key: a repeat of a scan the server already has
  // returns that first answer and records nothing new.
  async function resendQueue() {
    if (resending || !queue().length) return;
    resending = true;
    try {
      for (const item of queue()) {
        const result = await call(facts.urls.scans,
          { method: "POST", body: item.body, headers: { "Idempotency-Key": item.key } });
        if (result.offline) break;
        if (result.status === 201) {
          entries.delete(item.key);
          upsertEntry(`meal-${result.body.meal_id}`, entryFromMeal(result.body));
          forget(item.key);
          if (result.body.conflict) loadConflicts();
        } else if (errorCode(result) === "idempotency_key_reused") {
          // The first try reached the service and only its answer was lost; the queued
          // copy carries scanned_at, so the key no longer matches. The meal is recorded.
          entries.delete(item.key);
          forget(item.key);
          loadTodaysMeals();
        } else if (isFinal(result)) {
          const error = result.body && result.body.error;
          upsertEntry(item.key, { pending: false, refused: refusalText(error) });
          forget(item.key);
        }
      }
    } finally {
      resending = false;
      showBanner();
      // The big answer still says "pending" for a scan that is now sent: say so instead.
      if (answer.dataset.state === "pending" && !queue().length) {
        showAnswer("idle", el("p", { class: "answer-hint", text: T.offline_sent }));
      }
    }
  }

  // A refusal is the server's last word; a busy key, a lost login or a server fault is not.
  function errorCode(result) {
    return result.body && result.body.error && result.body.error.code;
  }

  function isFinal(result) {
    if (result.status >= 500 || result.status === 401 || result.status === 403) return false;
    return errorCode(result) !== "idempotency_in_progress";
  }

  function forget(key) {
    setQueue(queue().filter((item) => item.key !== key));
  }

  // The "online" event can come a moment before requests get through again; a couple of
  // early retries spare the cashier the wait for the 15-second timer.
  window.addEventListener("online", () => {
    showBanner();
    for (const delay of [0, 1000, 3000]) setTimeout(resendQueue, delay);
    refreshCardList();
  });
  window.addEventListener("offline", showBanner);

  // ---- look-up, serving without a card, new cards ---------------------------------------

  let topUpTarget = null;

  $("lookup-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const name = $("lookup-name").value.trim();
    const phone = $("lookup-phone").value.trim();
    const reason = $("lookup-reason").value;
    const message = $("lookup-message");
    const query = new URLSearchParams({ name, phone_last4: phone, reason });
    const result = await call(`${facts.urls.lookup}?${query}`);
    $("lookup-results").replaceChildren();
    if (result.offline) { message.textContent = T.network_error; return; }
    if (!result.ok) { message.textContent = refusalText(result.body && result.body.error); return; }
    message.textContent = result.body.items.length ? "" : T.lookup_none;
    $("lookup-results").replaceChildren(...result.body.items.map((elder) => lookupResult(elder, reason)));
  });

  function lookupResult(elder, reason) {
    const serve = el("button", { type: "button", text: T.serve_without_card });
    serve.addEventListener("click", async () => {
      await submitScan({ elder_id: elder.id, no_card_reason: reason }, elder.name);
      focusScan();
    });
    const topUp = el("button", { type: "button", text: T.top_up_for });
    topUp.addEventListener("click", () => {
      setTopUpTarget({ elder_id: elder.id }, elder.name);
      $("topup-panel").open = true;
      $("topup-amount").focus();
    });
    const item = el("li", { class: "lookup-result" },
      el("strong", { text: elder.name }),
      el("span", { text: ` · ${fill(T.age, { age: elder.age })}` }),
      el("span", { class: "muted", text: ` · ${elder.id_number_masked || ""}` }),
      el("div", { class: "actions" }, serve, topUp));
    if (facts.may_reissue) {
      const reissue = el("button", { type: "button", text: T.reissue });
      reissue.addEventListener("click", () => reissueCard(elder, item));
      item.querySelector(".actions").append(reissue);
    }
    return item;
  }

  async function reissueCard(elder, item) {
    const result = await call(facts.urls.issue_card.replace("{id}", elder.id), { method: "POST", body: {} });
    if (result.offline) { showRefused(T.network_error); return; }
    if (!result.ok) { showRefused(refusalText(result.body && result.body.error), elder.name); return; }
    const url = facts.urls.print_card.replace("{id}", result.body.card_id);
    item.append(el("p", { class: "card-issued", role: "status" }, `${T.card_issued} `,
      el("a", { href: url, target: "_blank", rel: "noopener", text: T.print_card })));
    window.open(url, "_blank", "noopener");
  }

  // ---- top-ups -------------------------------------------------------------------------

  function setTopUpTarget(target, name) {
    topUpTarget = Object.assign({}, target, { name });
    $("topup-target").textContent = fill(T.top_up_target, { name });
  }

  $("topup-card").addEventListener("keydown", (event) => {
    if (event.key !== "Enter") return;
    event.preventDefault();
    const text = $("topup-card").value.trim();
    const card = decodeCard(text);
    if (!card) { $("topup-message").textContent = T.refusals.card_invalid; return; }
    setTopUpTarget({ qr_payload: text }, cardLabel(text));
    $("topup-amount").focus();
  });

  root.querySelectorAll("input[name=topup-method]").forEach((radio) => {
    radio.addEventListener("change", () => {
      $("topup-reference-box").hidden = topUpMethod() !== "e_payment";
    });
  });

  function topUpMethod() {
    return root.querySelector("input[name=topup-method]:checked").value;
  }

  $("topup-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const message = $("topup-message");
    const cardText = $("topup-card").value.trim();
    if (cardText && (!topUpTarget || topUpTarget.qr_payload !== cardText)) {
      topUpTarget = decodeCard(cardText) ? { qr_payload: cardText, name: cardLabel(cardText) } : null;
    }
    if (!topUpTarget) { message.textContent = T.target_needed; return; }
    const amount = yuanToFen($("topup-amount").value);
    if (amount === null) { message.textContent = T.amount_invalid; return; }
    const { name: targetName, ...target } = topUpTarget;
    const body = Object.assign(target, { amount_fen: amount, method: topUpMethod() });
    if (body.method === "e_payment") {
      body.reference = $("topup-reference").value.trim();
      if (!body.reference) { message.textContent = T.refusals.reference_needed; return; }
    }
    const result = await call(facts.urls.top_ups,
      { method: "POST", body, headers: { "Idempotency-Key": crypto.randomUUID() } });
    if (result.offline) { message.textContent = T.network_error; return; }
    if (!result.ok) { message.textContent = refusalText(result.body && result.body.error); return; }
    message.textContent = fill(T.top_up_done, { amount: yuan(result.body.amount_fen),
      name: result.body.elder.name || targetName, balance: yuan(result.body.balance_after_fen) });
    $("topup-card").value = "";
    $("topup-amount").value = "";
    $("topup-reference").value = "";
    topUpTarget = null;
  });

  // ---- the camera ----------------------------------------------------------------------

  let stream = null;

  function loadJsQR() {
    if (window.jsQR) return Promise.resolve(window.jsQR);
    return new Promise((resolve, reject) => {
      const script = el("script", { src: facts.urls.jsqr });
      script.onload = () => resolve(window.jsQR);
      script.onerror = reject;
      document.head.append(script);
    });
  }

  async function qrReader() {
    if ("BarcodeDetector" in window) {
      try {
        const formats = await window.BarcodeDetector.getSupportedFormats();
        if (formats.includes("qr_code")) {
          const detector = new window.BarcodeDetector({ formats: ["qr_code"] });
          return async (video) => {
            const found = await detector.detect(video);
            return found.length ? found[0].rawValue : null;
          };
        }
      } catch (error) {
        // Fall through to jsQR.
      }
    }
    const jsQR = await loadJsQR();
    const canvas = document.createElement("canvas");
    const context = canvas.getContext("2d", { willReadFrequently: true });
    return async (video) => {
      canvas.width = video.videoWidth;
      canvas.height = video.videoHeight;
      if (!canvas.width) return null;
      context.drawImage(video, 0, 0);
      const image = context.getImageData(0, 0, canvas.width, canvas.height);
      const code = jsQR(image.data, image.width, image.height, { inversionAttempts: "dontInvert" });
      return code ? code.data : null;
    };
  }

  async function openCamera() {
    const video = $("camera-video");
    $("camera").hidden = false;
    $("camera-status").textContent = T.camera_hint;
    try {
      stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } });
      video.srcObject = stream;
      await video.play();
      const read = await qrReader();
      watch(video, read);
    } catch (error) {
      $("camera-status").textContent = T.camera_failed;
      closeCamera(false);
    }
  }

  function watch(video, read) {
    const tick = async () => {
      if (!stream) return;
      let payload = null;
      try {
        payload = await read(video);
      } catch (error) {
        payload = null;
      }
      if (payload) {
        closeCamera(true);
        onScan(payload);
      } else {
        setTimeout(tick, 150);
      }
    };
    tick();
  }

  function closeCamera(hide) {
    if (stream) stream.getTracks().forEach((track) => track.stop());
    stream = null;
    if (hide) $("camera").hidden = true;
    focusScan();
  }

  $("camera-button").addEventListener("click", openCamera);
  $("camera-close").addEventListener("click", () => closeCamera(true));

  // A counter tablet runs the page full screen: nothing else to tap by mistake.
  const fullScreen = $("fullscreen-button");
  if (document.fullscreenEnabled) {
    fullScreen.hidden = false;
    fullScreen.addEventListener("click", async () => {
      if (document.fullscreenElement) await document.exitFullscreen();
      else await document.documentElement.requestFullscreen();
      focusScan();
    });
  }

  // ---- start ---------------------------------------------------------------------------

  restorePayment();
  showQueued();
  showBanner();
  loadTodaysMeals();
  loadConflicts();
  refreshCardList();
  resendQueue();
  setInterval(resendQueue, RESEND_MS);
  setInterval(refreshCardList, CARD_LIST_MS);
  focusScan();
})();
