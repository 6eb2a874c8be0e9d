// Print buttons on the card and shift-report pages: no inline handlers (CSP).
document.addEventListener("click", (event) => {
  if (event.target.closest("[data-action=print]")) window.print();
});
