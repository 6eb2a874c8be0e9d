// The cashier page: a USB scanner types a card's payload into the focused input and
// presses Enter; the page records the meal and shows one big answer. When the network is
// down, scans wait in localStorage and are sent again later, each under its own
// Idempotency-Key so the server records every meal exactly once.
//
// This module wires the page: it reads the `cashier-facts` JSON the template carries (no
// inline script) and sets up the listeners. codec.js reads cards, queue.js keeps the
// offline scans, api.js calls the service, ui.js renders, camera.js reads QR codes.

import "./print.js";
import { endpoints } from "./api.js";
import { createCamera } from "./camera.js";
import { decodeCard } from "./codec.js";
import { cardListKey, offlineRefusal, offlineScans, readStore, writeStore } from "./queue.js";
import {
  $, createAnswer, createScanList, el, entryFromMeal, fill, renderConflicts, today, yuan,
  yuanToFen,
} from "./ui.js";

const PAYMENT_KEY = "mealservice.payment-method";
const RESEND_MS = 15 * 1000;
const CARD_LIST_MS = 5 * 60 * 1000;

const page = $("cashier");
if (page) start(page, JSON.parse($("cashier-facts").textContent));

function start(root, facts) {
  const T = facts.texts;
  const timezone = facts.timezone;
  const CARD_LIST_KEY = cardListKey(facts.canteen.id);
  const api = endpoints(facts.urls);

  const scanInput = $("scan-input");
  const answer = $("answer");
  const { showAnswer, showServed, refusalText, showRefused, showOfflineRecorded } =
    createAnswer({ answer, texts: T, timezone });
  const scans = createScanList({
    list: $("scan-list"), texts: T, timezone, mayVoid: facts.may_void, refusalText, voidMeal,
    focusScan,
  });
  const offline = offlineScans(facts.canteen.id, showBanner);

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

  async function refreshCardList() {
    const result = await api.cardList();
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

  // ---- the list of the latest scans ----------------------------------------------------

  async function voidMeal(entry, reason) {
    const result = await api.voidMeal(entry.mealId, reason);
    if (result.offline) { showRefused(T.network_error); return; }
    if (!result.ok) { showRefused(refusalText(result.body && result.body.error)); return; }
    scans.upsertEntry(entry.key, entryFromMeal(result.body));
    focusScan();
  }

  async function loadTodaysMeals() {
    const result = await api.todaysMeals(today(timezone));
    if (result.ok && result.body) {
      for (const meal of result.body.items) {
        scans.upsertEntry(`meal-${meal.meal_id}`, entryFromMeal(meal));
      }
    }
    scans.renderList();
  }

  async function loadConflicts() {
    const list = $("conflict-list");
    if (!list) return;
    const result = await api.todaysConflicts(today(timezone));
    if (!result.ok || !result.body) return;
    renderConflicts(list, result.body.items, { texts: T, timezone, refusalText });
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
    const result = await api.scan(body, key);
    if (result.offline) {
      queueOffline(key, body, label);
      return;
    }
    if (result.status === 201) {
      showServed(result.body);
      scans.upsertEntry(`meal-${result.body.meal_id}`, entryFromMeal(result.body));
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
    const refusal = navigator.onLine ? null : localRefusal(decodeCard(text));
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

  function showBanner() {
    const waiting = offline.queue().length;
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
    const local = body.qr_payload ? localRefusal(decodeCard(body.qr_payload)) : null;
    if (local) { showRefused(T.refusals[local]); return; }
    const item = offline.queueOffline(key, body, label || cardLabel(body.qr_payload));
    scans.upsertEntry(key, { name: item.label, at: item.body.scanned_at, pending: true });
    showOfflineRecorded(item.label);
  }

  function showQueued() {
    for (const item of offline.queue()) {
      scans.upsertEntry(item.key, { name: item.label, at: item.body.scanned_at, pending: true });
    }
  }

  function resendQueue() {
    return offline.resend({
      send: (item) => api.scan(item.body, item.key),
      served(item, meal) {
        scans.removeEntry(item.key);
        scans.upsertEntry(`meal-${meal.meal_id}`, entryFromMeal(meal));
        if (meal.conflict) loadConflicts();
      },
      recorded(item) {
        scans.removeEntry(item.key);
        loadTodaysMeals();
      },
      refused(item, error) {
        scans.upsertEntry(item.key, { pending: false, refused: refusalText(error) });
      },
      settled() {
        showBanner();
        // The big answer still says "pending" for a scan that is now sent: say so instead.
        if (answer.dataset.state === "pending" && !offline.queue().length) {
          showAnswer("idle", el("p", { class: "answer-hint", text: T.offline_sent }));
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
  showQueued();
  showBanner();
  loadTodaysMeals();
  loadConflicts();
  refreshCardList();
  resendQueue();
  setInterval(resendQueue, RESEND_MS);
  setInterval(refreshCardList, CARD_LIST_MS);
  focusScan();
}
