// The cashier page: a USB scanner types a card's payload into the focused input and
// presses Enter; the page records the meal and shows one big answer. When the network is
// down, scans wait in localStorage and are sent again later, each under its own
// Idempotency-Key so the server records every meal exactly once.
//
// Offline the page still answers: the day's roster names the card's elder and the
// amount expected, the page warns before a second meal in a slot, and a scan the service
// refuses later stays under "To resolve" until a person resolves it. A service worker
// keeps the page and its scripts, so a reload or a cold start without network still scans.
//
// This module wires the page: it reads the `cashier-facts` JSON the template carries (no
// inline script) and sets up the listeners. codec.js reads cards, queue.js keeps the
// offline scans, api.js calls the service, ui.js renders, camera.js reads QR codes,
// slots.js reads the district's meal windows.

import "./print.js";
import { endpoints } from "./api.js";
import { createCamera } from "./camera.js";
import { decodeCard, signatureHolds } from "./codec.js";
import {
  cardListKey, earlierMeal, expectedToPay, offlineRefusal, offlineScans, readStore,
  refusedScans, rosterEntry, rosterKey, servedLog, writeStore,
} from "./queue.js";
import { localHHMM, nearestSlot, slotAt, slotsByNearness } from "./slots.js";
import {
  $, createAnswer, createScanList, el, entryFromMeal, fill, localTime, renderConflicts,
  renderRefusedScans, today, yuan, yuanToFen,
} from "./ui.js";

const PAYMENT_KEY = "mealservice.payment-method";
const RESEND_MS = 15 * 1000;
const CARD_LIST_MS = 5 * 60 * 1000;
const SLOT_CLOCK_MS = 30 * 1000;

const page = $("cashier");
if (page) start(page, JSON.parse($("cashier-facts").textContent));

function start(root, facts) {
  const T = facts.texts;
  const timezone = facts.timezone;
  const CARD_LIST_KEY = cardListKey(facts.canteen.id);
  const ROSTER_KEY = rosterKey(facts.canteen.id);
  const windows = facts.slot_windows;
  const api = endpoints(facts.urls);

  const scanInput = $("scan-input");
  const answer = $("answer");
  const {
    showAnswer, showServed, refusalText, showRefused, showOfflineRecorded, showDoubleWarning,
  } = createAnswer({ answer, texts: T, timezone });
  const scans = createScanList({
    list: $("scan-list"), texts: T, timezone, mayVoid: facts.may_void, refusalText, voidMeal,
    focusScan,
  });
  const offline = offlineScans(facts.canteen.id, showBanner);
  const refused = refusedScans(facts.canteen.id, showRefusedScans);
  const served = servedLog(facts.canteen.id);

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

  // ---- the card, judged without the server ---------------------------------------------

  function localRefusal(card) {
    return offlineRefusal(card, readStore(CARD_LIST_KEY, null), today(timezone));
  }

  function roster() {
    const kept = readStore(ROSTER_KEY, null);
    return kept && kept.date === today(timezone) ? kept : null;
  }

  // The card list, the roster (names, amounts, the day's meals, the signing keys) and the
  // open refused scans stay fresh while online, for the next outage.
  async function refreshCardList() {
    const [list, day] = await Promise.all([api.cardList(), api.roster()]);
    if (list.ok && list.body) writeStore(CARD_LIST_KEY, list.body);
    if (day.ok && day.body) writeStore(ROSTER_KEY, day.body);
  }

  // ---- the meal: the window's by the clock, or the one the cashier picked ----------------

  function pickedSlot() {
    return root.querySelector("input[name=slot]:checked").value || null;
  }

  function nowHHMM() {
    return localHHMM(timezone);
  }

  // The slot a scan now is for: the picked one, else the window's (null outside them all).
  function scanSlot() {
    return pickedSlot() || slotAt(windows, nowHHMM());
  }

  let clockSlot = slotAt(windows, nowHHMM());
  function showClockSlot() {
    const now = slotAt(windows, nowHHMM());
    // A pick is for a late or early meal: when the next window opens, the clock rules again.
    if (now && now !== clockSlot && pickedSlot()) {
      root.querySelector("input[name=slot][value='']").checked = true;
    }
    clockSlot = now;
    const label = $("slot-auto");
    label.textContent = now ? fill(T.slot_auto, { slot: T.slots[now] }) : T.slot_auto_outside;
    label.classList.toggle("outside", !now);
  }

  root.querySelectorAll("input[name=slot]").forEach((radio) => {
    radio.addEventListener("change", focusScan);
  });

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

  // ---- the list of the latest scans ----------------------------------------------------

  async function voidMeal(entry, reason) {
    const result = await api.voidMeal(entry.mealId, reason);
    if (result.offline) { showRefused(T.network_error); return; }
    if (!result.ok) { showRefused(refusalText(result.body && result.body.error)); return; }
    scans.upsertEntry(entry.key, entryFromMeal(result.body));
    noteServed(result.body);
    refreshCardList();  // the roster's meals of the day, without the one undone
    focusScan();
  }

  async function loadTodaysMeals() {
    const result = await api.todaysMeals(today(timezone));
    if (result.ok && result.body) {
      for (const meal of result.body.items) {
        scans.upsertEntry(`meal-${meal.meal_id}`, entryFromMeal(meal));
        noteServed(meal);
      }
    }
    scans.renderList();
  }

  // A meal the service recorded, remembered for the day's double-scan warning, with the
  // card it was scanned from when this page scanned it.
  function noteServed(meal, payload) {
    if (meal.voided_at) { served.forget(today(timezone), meal.meal_id); return; }
    if (!meal.elder) return;
    const card = payload ? decodeCard(payload) : null;
    served.add(today(timezone), { id: meal.meal_id, elder_id: meal.elder.id,
      card_id: card ? card.cardId : null, slot: meal.slot, served_at: meal.served_at });
  }

  async function loadConflicts() {
    const list = $("conflict-list");
    if (!list) return;
    const result = await api.todaysConflicts(today(timezone));
    if (!result.ok || !result.body) return;
    renderConflicts(list, result.body.items, { texts: T, timezone, refusalText });
  }

  // ---- scanning ------------------------------------------------------------------------

  // `label` names a scan without a card in the pending list; it is not sent. `slot` is the
  // cashier's one-tap answer to a scan refused for its hour.
  async function submitScan(fields, label, slot = scanSlot()) {
    const payment = paymentBody();
    if (payment.method === "e_payment" && !payment.reference) {
      showRefused(T.refusals.reference_needed);
      $("payment-reference").focus();
      return;
    }
    const key = crypto.randomUUID();
    const body = Object.assign({}, fields, { payment }, slot ? { slot } : {});
    showAnswer("busy", el("p", { class: "answer-hint", text: T.sending }));
    const result = await api.scan(body, key);
    if (result.offline) {
      await queueOffline(key, body, label);
      return;
    }
    if (result.status === 201) {
      showServed(result.body);
      scans.upsertEntry(`meal-${result.body.meal_id}`, entryFromMeal(result.body));
      noteServed(result.body, body.qr_payload);
      $("payment-reference").value = "";
      return;
    }
    const error = result.body && result.body.error;
    const name = error && error.detail && error.detail.elder_name;
    if (error && error.code === "validation_error" && (error.fields || {}).slot) {
      // Outside every window: the same scan for the meal the cashier means is one tap.
      showRefused(`${refusalText(error)} ${T.slot_pick}`, name,
        slotsByNearness(windows, nowHHMM()).map((choice) => ({
          text: fill(T.record_as, { slot: T.slots[choice] }),
          testid: `record-as-${choice}`,
          run: () => { scanning = scanning.then(() => submitScan(fields, label, choice)); },
        })));
      return;
    }
    showRefused(refusalText(error), name);
  }

  async function judgeScan(text) {
    // Online the service judges every card; offline the page checks what it can itself:
    // the payload's form and signature, its expiry and the card list.
    if (navigator.onLine) {
      await submitScan({ qr_payload: text });
      return;
    }
    const refusal = await offlineCardRefusal(text);
    if (refusal) showRefused(T.refusals[refusal]);
    else await submitScan({ qr_payload: text });
  }

  async function offlineCardRefusal(text) {
    const card = decodeCard(text);
    const refusal = localRefusal(card);
    if (refusal) return refusal;
    const day = roster();
    const holds = await signatureHolds(text, day && day.keys);
    return holds === false ? "card_invalid" : null;
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

  function showBanner() {
    const waiting = offline.queue().length;
    const toResolve = refused.list().length;
    const banner = $("offline-banner");
    banner.hidden = waiting === 0 && toResolve === 0 && navigator.onLine;
    const parts = [];
    if (waiting || !navigator.onLine) parts.push(fill(T.offline_banner, { n: waiting }));
    if (toResolve) parts.push(fill(T.refused_banner, { n: toResolve }));
    banner.textContent = parts.join(" · ");
  }

  function cardLabel(payload) {
    const card = payload ? decodeCard(payload) : null;
    return card ? fill(T.card, { id: card.cardId.slice(0, 6) }) : "";
  }

  async function queueOffline(key, body, label) {
    // The network went down between the check in onScan and the call: check again.
    const local = body.qr_payload ? await offlineCardRefusal(body.qr_payload) : null;
    if (local) { showRefused(T.refusals[local]); return; }
    // Kept whatever the hour: outside every window, with the nearest window's meal.
    const slot = body.slot || nearestSlot(windows, nowHHMM());
    const queued = Object.assign({}, body, slot ? { slot } : {});
    const card = body.qr_payload ? decodeCard(body.qr_payload) : null;
    const day = roster();
    const entry = rosterEntry(day, { cardId: card && card.cardId, elderId: body.elder_id });
    const elderId = entry ? entry.elder_id : body.elder_id || null;
    const name = (entry && entry.name) || label || cardLabel(body.qr_payload);
    const amount = expectedToPay(day, entry, slot);
    const cardId = card ? card.cardId : null;
    const record = () => {
      const item = offline.queueOffline(key, queued, name, { elderId, cardId, amount });
      scans.upsertEntry(key, { name, at: item.body.scanned_at, pending: true, amount });
      showOfflineRecorded({ label: name, slotName: T.slots[slot] || "", amount });
    };
    const earlier = earlierMeal({
      elderId, cardId, slot, day: today(timezone),
      served: [...((day && day.served) || []), ...served.read(today(timezone))],
      queued: offline.queue(), dayOf: (iso) => today(timezone, iso),
    });
    if (!earlier) { record(); return; }
    // Nothing is queued until the cashier says so: a second meal offline would become a
    // full-price conflict the cashier never collected.
    await new Promise((decided) => {
      showDoubleWarning({
        label: name, slotName: T.slots[slot], time: localTime(earlier, timezone),
        record: () => { record(); decided(); focusScan(); },
        cancel: () => {
          showAnswer("idle", el("p", { class: "answer-hint", "data-testid": "double-cancelled",
            text: T.double_cancelled }));
          decided();
          focusScan();
        },
      });
    });
  }

  function showQueued() {
    for (const item of offline.queue()) {
      scans.upsertEntry(item.key, { name: item.label, at: item.body.scanned_at, pending: true,
        amount: item.amount === null ? undefined : item.amount });
    }
  }

  // ---- scans the service refused after the outage -----------------------------------------

  function showRefusedScans() {
    renderRefusedScans($("refused-scans"), refused.list(), {
      texts: T, timezone, refusalText,
      slotsFor: (item) => slotsByNearness(windows, localHHMM(timezone, new Date(item.at))),
      retry: retryRefused, dismiss: dismissRefused,
    });
    showBanner();
  }

  // Each refused scan is told to the service once (under its queue key), so the manager
  // sees it too; until then it waits here, and is told again on the next round.
  async function reportRefused() {
    for (const item of refused.list().filter((known) => !known.serverId)) {
      const result = await api.reportRefused({
        key: item.key, label: item.label, scan: item.body,
        error: { code: (item.error && item.error.code) || "other",
          message: (item.error && item.error.message) || "" },
      });
      if (result.offline) return;
      if (result.ok) refused.update(item.key, { serverId: result.body.id, reportedAt: Date.now() });
    }
  }

  async function loadRefused() {
    await reportRefused();
    const askedAt = Date.now();
    const result = await api.refusedScans();
    if (result.ok && result.body) refused.merge(result.body.items, askedAt);
  }

  async function retryRefused(item, slot) {
    await reportRefused();
    const current = refused.list().find((known) => known.key === item.key);
    if (!current || !current.serverId) {
      refused.update(item.key, { problem: T.network_error });
      return;
    }
    const result = await api.retryRefused(current.serverId, slot);
    if (result.offline) { refused.update(item.key, { problem: T.network_error }); return; }
    if (result.status === 201) {
      refused.remove(item.key);
      showServed(result.body.meal);
      scans.upsertEntry(`meal-${result.body.meal.meal_id}`, entryFromMeal(result.body.meal));
      noteServed(result.body.meal);
      return;
    }
    const error = result.body && result.body.error;
    if (error && error.code === "scan_resolved") { loadRefused(); return; }
    refused.update(item.key, { problem: refusalText(error) });
  }

  async function dismissRefused(item, reason) {
    await reportRefused();
    const current = refused.list().find((known) => known.key === item.key);
    if (!current || !current.serverId) {
      refused.update(item.key, { problem: T.network_error });
      return;
    }
    const result = await api.dismissRefused(current.serverId, reason);
    if (result.offline) { refused.update(item.key, { problem: T.network_error }); return; }
    const error = result.body && result.body.error;
    if (result.ok || (error && error.code === "scan_resolved")) {
      refused.remove(item.key);
      loadRefused();
      focusScan();
      return;
    }
    refused.update(item.key, { problem: refusalText(error) });
  }

  function resendQueue() {
    return offline.resend({
      send: (item) => api.scan(item.body, item.key),
      served(item, meal) {
        scans.removeEntry(item.key);
        scans.upsertEntry(`meal-${meal.meal_id}`, entryFromMeal(meal));
        noteServed(meal, item.body.qr_payload);
        if (meal.conflict) loadConflicts();
      },
      recorded(item) {
        scans.removeEntry(item.key);
        loadTodaysMeals();
      },
      refused(item, error) {
        // The meal was handed out: it leaves the queue only into "To resolve".
        scans.removeEntry(item.key);
        refused.add({ key: item.key, body: item.body, label: item.label,
          at: item.body.scanned_at, error: error || { code: "other" } });
      },
      settled() {
        showBanner();
        reportRefused();
        // The big answer still says "pending" for a scan that is now sent: say so instead.
        if (answer.dataset.state === "pending" && !offline.queue().length) {
          const toResolve = refused.list().length;
          showAnswer("idle", el("p", { class: "answer-hint", "data-testid": "offline-settled",
            text: toResolve ? fill(T.offline_sent_refused, { n: toResolve }) : T.offline_sent }));
        }
      },
    });
  }

  // The "online" event can come a moment before requests get through again; a couple of
  // early retries spare the cashier the wait for the 15-second timer.
  window.addEventListener("online", () => {
    showBanner();
    for (const delay of [0, 1000, 3000]) setTimeout(resendQueue, delay);
    refreshCardList();
    loadRefused();
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
    const result = await api.lookup(query);
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
    const result = await api.issueCard(elder.id);
    if (result.offline) { showRefused(T.network_error); return; }
    if (!result.ok) { showRefused(refusalText(result.body && result.body.error), elder.name); return; }
    const url = api.printCardUrl(result.body.card_id);
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
    const result = await api.topUp(body, crypto.randomUUID());
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

  const camera = createCamera({ texts: T, jsqr: facts.urls.jsqr, onScan, focusScan });
  $("camera-button").addEventListener("click", camera.openCamera);
  $("camera-close").addEventListener("click", () => camera.closeCamera(true));

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
  showClockSlot();
  showQueued();
  showRefusedScans();
  loadTodaysMeals();
  loadConflicts();
  refreshCardList();
  loadRefused();
  resendQueue();
  setInterval(resendQueue, RESEND_MS);
  setInterval(refreshCardList, CARD_LIST_MS);
  setInterval(showClockSlot, SLOT_CLOCK_MS);
  keepForOutages(facts.urls);
  focusScan();
}

// The service worker keeps the page and its files for a reload or a start without network.
// On the first visit the page was fetched before the worker was there: keep it now.
async function keepForOutages(urls) {
  if (!("serviceWorker" in navigator)) return;
  try {
    const controlled = Boolean(navigator.serviceWorker.controller);
    await navigator.serviceWorker.register(urls.offline_worker, { scope: urls.offline_scope });
    if (!controlled) await (await caches.open("cashier-pages")).add(window.location.href);
  } catch (error) {
    // No worker (a private window, an old browser): the page works online as before.
  }
}
