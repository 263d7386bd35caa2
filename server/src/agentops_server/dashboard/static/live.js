// Live pages: running sessions count their elapsed time, the sessions list and a running
// session's page refresh themselves while events arrive, and the first-run page opens the
// list when the first session comes in. Polling (every few seconds, paused while the tab is
// hidden) of the same HTML and JSON the pages are made of: no second template in JavaScript.
// New HTML comes from our own server, already escaped; no script inside it runs.
"use strict";
(function () {
  const LIST_MS = 3000, SESSION_MS = 2000;

  function elapsed(ms) {
    const s = Math.max(0, Math.floor(ms / 1000));
    if (s < 60) return `${s} s`;
    const m = Math.floor(s / 60);
    if (m < 60) return `${m}m ${s % 60}s`;
    return `${Math.floor(m / 60)}h ${m % 60}m`;
  }
  function tick() {
    for (const node of document.querySelectorAll("[data-running-since]")) {
      const since = Date.parse(node.dataset.runningSince);
      if (Number.isNaN(since)) continue;
      const text = elapsed(Date.now() - since);
      if (node.classList.contains("state")) node.textContent = `Running · ${text}`;
      else node.textContent = text;
    }
  }

  async function fetchPage(url) {
    const r = await fetch(url, { credentials: "same-origin", headers: { Accept: "text/html" } });
    if (!r.ok) throw new Error(`${r.status}`);
    return new DOMParser().parseFromString(await r.text(), "text/html");
  }
  function note(text) {
    const el = document.getElementById("live-note");
    if (el) el.textContent = text;
  }
  function every(ms, work) {
    let busy = false;
    const run = async () => {
      if (busy || document.hidden) return;
      busy = true;
      try { if ((await work()) === false) clearInterval(timer); } catch (err) { note(`live updates paused: ${err.message}`); }
      finally { busy = false; }
    };
    const timer = setInterval(run, ms);
  }

  // The first page of the sessions list: its rows are swapped for the server's newest.
  function liveList(table) {
    every(LIST_MS, async () => {
      const doc = await fetchPage(location.href);
      const fresh = doc.querySelector("#sessions tbody");
      const old = table.querySelector("tbody");
      if (!fresh || !old) return;
      if (fresh.innerHTML !== old.innerHTML) {
        const focused = document.activeElement && table.contains(document.activeElement)
          ? document.activeElement.closest("tr")?.dataset.sessionId : null;
        old.replaceWith(document.adoptNode(fresh));
        if (focused) table.querySelector(`tr[data-session-id="${CSS.escape(focused)}"] a`)?.focus();
        tick();
      }
      note(`Live: updated ${new Date().toLocaleTimeString()}`);
    });
  }

  // A running session: summary and waterfall follow it until it ends.
  function liveSession(summary) {
    every(SESSION_MS, async () => {
      const doc = await fetchPage(location.pathname);
      const fresh = doc.getElementById("session-summary");
      const waterfall = doc.getElementById("waterfall");
      if (!fresh) return;
      const details = summary.querySelector("details.env");
      const wasOpen = details && details.open;
      summary.replaceWith(document.adoptNode(fresh));
      summary = fresh;
      if (wasOpen) summary.querySelector("details.env")?.setAttribute("open", "");
      const state = doc.getElementById("session-state");
      if (state) document.getElementById("session-state").replaceWith(document.adoptNode(state));
      tick();
      if (waterfall && window.AgentopsWaterfall) {
        await window.AgentopsWaterfall.extend(Number(waterfall.dataset.endMs));
      }
      return summary.dataset.running === "true";  // false: ended, stop polling
    });
  }

  // No session yet: open the list as soon as the first one is recorded.
  function liveFirstRun(box) {
    every(LIST_MS, async () => {
      const r = await fetch(`${box.dataset.sessions}?format=json&limit=1`, { credentials: "same-origin" });
      if (!r.ok) return;
      if ((await r.json()).data.length) {
        location.assign(box.dataset.sessions);
        return false;
      }
    });
  }

  document.addEventListener("DOMContentLoaded", () => {
    tick();
    setInterval(tick, 1000);
    const table = document.querySelector("#sessions[data-live=on]");
    if (table) liveList(table);
    const summary = document.getElementById("session-summary");
    if (summary && summary.dataset.running === "true") liveSession(summary);
    const first = document.getElementById("first-run");
    if (first) liveFirstRun(first);
  });
})();
