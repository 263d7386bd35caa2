// Sessions list: the whole row opens its session (links inside the row keep their own target;
// Ctrl/Cmd or middle click opens it in a new tab; a text selection is not a click).
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  const open = (row, ev) => {
    if (ev.target.closest("a, button, input, select, label")) return;
    if (String(window.getSelection() || "").length) return;
    const href = row.dataset.href;
    if (!href) return;
    if (ev.ctrlKey || ev.metaKey || ev.button === 1) window.open(href, "_blank", "noopener");
    else window.location.assign(href);
  };
  for (const row of document.querySelectorAll("tr.opens[data-href]")) {
    row.addEventListener("click", (ev) => open(row, ev));
    row.addEventListener("auxclick", (ev) => { if (ev.button === 1) open(row, ev); });
  }
});
