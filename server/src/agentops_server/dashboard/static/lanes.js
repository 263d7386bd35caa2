// Session page: "Group by agent", the events of the view in one lane per agent, overlapping
// spans stacked into sub-rows (each sub-row holds spans that do not overlap), every bar
// labelled and selectable by click or keyboard. Shared as window.AgentopsLanes; loaded after
// inspector.js. Values from the server are placed with textContent only.
"use strict";
(function () {
  const { h, fmtMs } = window.AgentopsSession;

  // Spans sorted by start, each put in the first sub-row whose last span ended before it
  // starts (`gap` ms apart, so bars a pixel apart do not touch): rows[i] = [events].
  function pack(list, gap) {
    const rows = [], ends = [];
    for (const ev of [...list].sort((a, b) => a.start_ms - b.start_ms)) {
      const end = ev.end_ms === null ? ev.start_ms : Math.max(ev.end_ms, ev.start_ms);
      let i = ends.findIndex((last) => last + gap <= ev.start_ms);
      if (i < 0) { i = rows.length; rows.push([]); ends.push(-Infinity); }
      rows[i].push(ev);
      ends[i] = end;
    }
    return rows;
  }

  // Draw `events` (the view's, time order) into `host`, lanes in agent order of `agents`
  // ({id, name}), then "no agent". `pct(ms)` places a moment on the view's axis.
  function render(host, events, agents, pct, spanMs, selectedId, onSelect) {
    host.textContent = "";
    const names = new Map(agents.map((a) => [a.id, a.name || a.id]));
    const byAgent = new Map();
    for (const ev of events) {
      const key = ev.agent_id || "";
      if (!byAgent.has(key)) byAgent.set(key, []);
      byAgent.get(key).push(ev);
    }
    const order = [...agents.map((a) => a.id).filter((id) => byAgent.has(id)),
      ...[...byAgent.keys()].filter((id) => id && !names.has(id)), ""].filter((id) => byAgent.has(id));
    if (!order.length) host.appendChild(h("div", "No event in this view.", "muted empty"));
    const width = host.getBoundingClientRect().width || 600;
    const gap = (spanMs / width) * 4;  // about 4 px
    for (const id of order) {
      const list = byAgent.get(id);
      const rows = pack(list, gap);
      const title = id ? names.get(id) || id : "No agent";
      rows.forEach((row, i) => {
        const line = h("div", null, "tree-row subrow");
        line.dataset.agent = id;
        const name = h("div", null, "cell name");
        if (i === 0) {
          name.append(h("strong", title, "label"), h("span", `${list.length} · ${rows.length} row${rows.length === 1 ? "" : "s"}`, "kids"));
          name.title = id ? `${title} (agent ${id}): ${list.length} events in ${rows.length} rows` : title;
        }
        const track = h("div", null, "cell track");
        for (const ev of row) track.appendChild(bar(ev, pct, selectedId, onSelect));
        line.append(name, track, h("div", null, "cell num"), h("div", null, "cell num"));
        host.appendChild(line);
      });
    }
  }

  function bar(ev, pct, selectedId, onSelect) {
    const end = ev.end_ms === null ? ev.start_ms : Math.max(ev.end_ms, ev.start_ms);
    const a = Math.max(0, pct(ev.start_ms)), b = Math.min(100, pct(end));
    const label = ev.name || ev.model || ev.event_type;
    const dur = ev.end_ms === null ? null : end - ev.start_ms;
    const node = h("div", null, `bar lane-${ev.event_type}`);
    node.dataset.eventId = ev.id;
    node.tabIndex = 0;
    node.setAttribute("role", "button");
    node.title = `${ev.event_type}: ${label} · ${fmtMs(dur)}`;
    node.setAttribute("aria-label", node.title);
    node.style.left = `${a}%`;
    node.style.width = `max(3px, ${b - a}%)`;
    node.appendChild(h("span", `${label} · ${fmtMs(dur)}`, "bar-text"));
    if (ev.id === selectedId) node.classList.add("selected");
    node.addEventListener("click", () => onSelect(ev.id));
    node.addEventListener("keydown", (e) => {
      if (e.key === "Enter" || e.key === " ") { e.preventDefault(); onSelect(ev.id); }
    });
    return node;
  }

  window.AgentopsLanes = { pack, render };
})();
