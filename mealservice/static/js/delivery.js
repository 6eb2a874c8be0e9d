// Delivery pages: the Print button of the route sheet and labels, and the manager page's
// live status. No inline script: the page's data attributes carry the URL and the words.
document.addEventListener("click", (event) => {
  if (event.target.closest("[data-action=print]")) window.print();
});

(() => {
  const page = document.getElementById("deliveries");
  if (!page || !page.dataset.refreshUrl) return;
  const url = page.dataset.refreshUrl;
  const stageWords = JSON.parse(page.dataset.stageWords || "{}");
  const failureWords = JSON.parse(page.dataset.failureWords || "{}");
  const timeFormat = new Intl.DateTimeFormat("zh-CN", {
    hour: "2-digit",
    minute: "2-digit",
    hour12: false,
    timeZone: page.dataset.timezone || undefined,
  });
  const EVERY_MS = 5000;

  function stageOf(item) {
    return item.status === "dispatched" && item.delivery_stage ? item.delivery_stage : item.status;
  }

  function detailOf(item) {
    if (item.status === "delivered" && item.delivered_at) {
      return timeFormat.format(new Date(item.delivered_at));
    }
    if (item.status === "failed" && item.failure_reason) {
      return failureWords[item.failure_reason] || item.failure_reason;
    }
    return "";
  }

  function update(items) {
    for (const item of items) {
      const row = page.querySelector(`tr[data-order-id="${item.order_id}"]`);
      if (!row) continue;
      const stage = stageOf(item);
      const label = row.querySelector("[data-role=stage]");
      if (label && label.dataset.stage !== stage) {
        label.textContent = stageWords[stage] || stage;
        label.className = `stage ${stage}`;
        label.dataset.stage = stage;
      }
      const detail = row.querySelector("[data-role=stage-detail]");
      if (detail) detail.textContent = detailOf(item);
      const redispatch = row.querySelector("[data-role=redispatch]");
      if (redispatch) redispatch.hidden = item.status !== "failed";
    }
  }

  async function refresh() {
    if (document.hidden) return;
    try {
      const response = await fetch(url, {
        headers: { Accept: "application/json" },
        credentials: "same-origin",
      });
      if (response.ok) update((await response.json()).items || []);
    } catch {
      // Offline for a moment: the next tick tries again.
    }
  }

  setInterval(refresh, EVERY_MS);
})();
