// The service as the counter page calls it: with the session cookie and the page's CSRF
// token (window.mealservice.api, static/js/app.js), every answer read as JSON.

// fetch rejects only when no answer came back at all; an HTTP error is still an answer.
// { offline: true }, or { status, ok, body } with body null when it is not JSON.
export async function call(path, options) {
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

// The endpoints, from the URLs the page's facts name (counter/pages.py, cashier_facts).
// Scans and top-ups go under an Idempotency-Key the caller keeps, so a repeat records
// nothing new.
export function endpoints(urls) {
  return {
    scan: (body, key) => call(urls.scans,
      { method: "POST", body, headers: { "Idempotency-Key": key } }),
    todaysMeals: (day) => call(`${urls.meals}?date=${day}&per_page=20`),
    todaysConflicts: (day) => call(`${urls.meals}?date=${day}&conflict=true&per_page=50`),
    voidMeal: (mealId, reason) => call(urls.void.replace("{id}", mealId),
      { method: "POST", body: { reason } }),
    cardList: () => call(urls.card_list),
    roster: () => call(urls.roster),
    refusedScans: () => call(urls.refused_scans),
    reportRefused: (body) => call(urls.refused_scans, { method: "POST", body }),
    retryRefused: (id, slot) => call(urls.retry_refused.replace("{id}", id),
      { method: "POST", body: slot ? { slot } : {} }),
    dismissRefused: (id, reason) => call(urls.dismiss_refused.replace("{id}", id),
      { method: "POST", body: { reason } }),
    lookup: (query) => call(`${urls.lookup}?${query}`),
    issueCard: (elderId) => call(urls.issue_card.replace("{id}", elderId),
      { method: "POST", body: {} }),
    printCardUrl: (cardId) => urls.print_card.replace("{id}", cardId),
    topUp: (body, key) => call(urls.top_ups,
      { method: "POST", body, headers: { "Idempotency-Key": key } }),
  };
}
