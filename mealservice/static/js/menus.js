// The kitchen page's Print button: no inline script, so it is wired here.
document.addEventListener("click", (event) => {
  if (event.target.closest("[data-action=print]")) window.print();
});
