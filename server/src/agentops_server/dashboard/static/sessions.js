// Sessions list: the whole row opens its session (links inside the row keep their own target;
// Ctrl/Cmd or middle click opens it in a new tab; a text selection is not a click). Delegated
// from the table, so rows that live updates swap in (live.js) open too.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  const table = document.getElementById("sessions");
  if (!table) return;
  const open = (ev) => {
    const row = ev.target.closest("tr.opens[data-href]");
    if (!row || ev.target.closest("a, button, input, select, label")) return;
    if (String(window.getSelection() || "").length) return;
    if (ev.ctrlKey || ev.metaKey || ev.button === 1) window.open(row.dataset.href, "_blank", "noopener");
    else window.location.assign(row.dataset.href);
  };
  table.addEventListener("click", open);
  table.addEventListener("auxclick", (ev) => { if (ev.button === 1) open(ev); });
});
