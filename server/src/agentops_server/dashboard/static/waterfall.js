// Session page: the waterfall, a tree of the session's events with a time bar per row on one
// shared time axis, a density overview of the whole session, zoom, and the inspector on click.
// Large sessions are never loaded whole: the top level and each node's children come from the
// server a page at a time (`/tree`), children only when their parent is first expanded.
// Every value from the server is placed with textContent or setAttribute: never as markup.
"use strict";
(function () {
  const S = window.AgentopsSession;
  const { h, getJSON, fmtMs, fmtCost } = S;
  const SVG = "http://www.w3.org/2000/svg";
  const LANES = ["llms", "tools", "actions", "errors"];
  const PAGE = 200, BUCKETS = 200, INDENT = 14;

  let base = "", full = { start: 0, end: 1 }, view = { start: 0, end: 1 };
  let body = null, top = null, selectedId = null, density = null, drawToken = 0;
  let mode = "tree", alt = null, filterLevel = null, filters = {}, agents = [], laneToken = 0;
  const nodeOf = new WeakMap();  // row element -> node

  function q(params) { return new URLSearchParams(params).toString(); }
  // "12", or "1,000+" when the server stopped counting
  function kids(ev) { return ev.child_count.toLocaleString() + (ev.child_count_exact === false ? "+" : ""); }
  function svgEl(name, attrs, parent) {
    const node = document.createElementNS(SVG, name);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, String(v));
    if (parent) parent.appendChild(node);
    return node;
  }
  function pct(ms) { return ((ms - view.start) / (view.end - view.start)) * 100; }
  function state(value) { document.getElementById("waterfall").dataset.state = value; }

  // --- levels and nodes ------------------------------------------------------------------------
  // A level is the rows under one parent (parentId null: the top level), loaded page by page;
  // `total` is the parent's child count as shown ("230", "1,000+"), null at the top.
  // `fromMs` is where its first page started (null: the session's start).
  function newLevel(parentId, container, depth, total) {
    return { parentId, container, depth, total, nodes: [], cursor: null, fromMs: null, token: 0, more: null };
  }

  function makeNode(ev, level) {
    const depth = level.depth;
    const row = h("div", null, "tree-row node");
    row.setAttribute("role", "treeitem");
    row.setAttribute("aria-level", String(depth + 1));
    row.tabIndex = 0;
    row.dataset.eventId = ev.id;
    if (ev.id === selectedId) row.classList.add("selected");

    const name = h("div", null, "cell name");
    name.style.paddingLeft = `min(${depth * INDENT + 2}px, 55%)`;
    const toggle = h(ev.child_count > 0 ? "button" : "span", null, "toggle");
    if (ev.child_count > 0) {
      toggle.type = "button";
      toggle.textContent = "▸";
      toggle.setAttribute("aria-label", `Expand (${kids(ev)} children)`);
      row.setAttribute("aria-expanded", "false");
    }
    const label = h("span", ev.name || ev.model || ev.event_type, "label");
    label.title = ev.name || ev.model || ev.event_type;  // the full name when cut
    name.append(toggle, h("span", null, `swatch lane-${ev.event_type}`), label);
    if (ev.child_count > 0) name.appendChild(h("span", kids(ev), "kids"));
    if (ev.orphan) {
      const badge = h("span", "parent missing", "orphan");
      badge.title = `its parent event ${ev.parent_id} was not received`;
      name.appendChild(badge);
    }

    const track = h("div", null, "cell track");
    const bar = h("div", null, `bar lane-${ev.event_type}`);
    bar.dataset.eventId = ev.id;
    track.appendChild(bar);
    const dur = ev.end_ms === null ? null : Math.max(0, ev.end_ms - ev.start_ms);
    bar.appendChild(h("span", fmtMs(dur), "bar-text"));
    const tokens = ev.prompt_tokens === null && ev.completion_tokens === null ? ""
      : ` · ${ev.prompt_tokens ?? "?"} / ${ev.completion_tokens ?? "?"} tokens`;
    row.title = `${ev.event_type}: ${ev.name || ev.model || ev.id} · +${fmtMs(ev.start_ms - full.start)}`
      + ` · ${fmtMs(dur)}${tokens}`;
    row.append(name, track, h("div", fmtMs(dur), "cell num"),
      costCell(ev));

    const node = { ev, row, track, bar, toggle, group: null, level: null, expanded: false, depth };
    nodeOf.set(row, node);
    place(node);
    toggle.addEventListener("click", (e) => { e.stopPropagation(); toggleNode(node).catch(showError); });
    row.addEventListener("click", () => select(ev.id).catch(showError));
    row.addEventListener("keydown", (e) => onKey(e, node));
    return node;
  }

  function costCell(ev) {
    const cell = h("div", ev.event_type === "llms" ? fmtCost(ev.cost_nanos, ev.cost_source) : "", "cell num");
    if (ev.event_type === "llms" && ev.cost_nanos !== null) cell.title = S.usdFromNanos(ev.cost_nanos);
    return cell;
  }

  // The bar of a row on the view's time axis; rows outside the view are dimmed, with a marker
  // on the side where their event lies.
  function place(node) {
    const s = node.ev.start_ms, e = node.ev.end_ms === null ? s : Math.max(node.ev.end_ms, s);
    const left = pct(s), right = pct(e);
    const outside = right < 0 || left > 100;
    node.row.classList.toggle("outside", outside);
    node.track.classList.toggle("before", right < 0);
    node.track.classList.toggle("after", left > 100);
    node.bar.hidden = outside;
    if (outside) return;
    const a = Math.max(0, left), b = Math.min(100, right);
    node.bar.style.left = `${a}%`;
    node.bar.style.width = `max(3px, ${b - a}%)`;
  }

  async function loadPage(level, reset) {
    const params = { limit: PAGE };
    if (level.parentId !== null) params.parent_id = level.parentId;
    if (!reset && level.cursor) params.cursor = level.cursor;
    else if (level.fromMs !== null) params.from_ms = Math.floor(level.fromMs);
    const token = reset ? ++level.token : level.token;
    const page = await getJSON(`${base}/tree?${q(params)}`);
    if (token !== level.token) return;  // a newer reload of this level won
    if (reset) {
      level.container.textContent = "";
      level.nodes = [];
      level.more = null;
    }
    addPage(level, page);
  }

  function addPage(level, page) {
    const fragment = document.createDocumentFragment();
    for (const ev of page.data) {
      const node = makeNode(ev, level);
      level.nodes.push(node);
      fragment.appendChild(node.row);
    }
    if (level.more) level.more.remove();
    level.container.appendChild(fragment);
    level.cursor = page.next_cursor;
    level.more = level.cursor ? moreRow(level) : null;
    if (level.more) level.container.appendChild(level.more);
  }

  function moreRow(level) {
    const row = h("div", null, "tree-row more");
    const cell = h("div", null, "cell name");
    cell.style.paddingLeft = `min(${level.depth * INDENT + 20}px, 55%)`;
    const button = h("button", `Show ${PAGE} more`, "secondary small");
    button.type = "button";
    const shown = level.nodes.length.toLocaleString();
    const count = level.total ? `${shown} of ${level.total} shown` : `${shown} shown`;
    cell.append(button, h("span", count, "muted"));
    row.appendChild(cell);
    button.addEventListener("click", () => {
      button.disabled = true;
      (level.load ? level.load(false) : loadPage(level, false)).catch((err) => {
        button.disabled = false;
        showError(err);
      });
    });
    return row;
  }

  async function toggleNode(node) {
    if (!(node.ev.child_count > 0)) return;
    if (node.expanded) return collapse(node);
    node.expanded = true;
    node.row.setAttribute("aria-expanded", "true");
    node.toggle.textContent = "▾";
    node.toggle.setAttribute("aria-label", "Collapse");
    if (!node.group) {
      node.group = h("div", null, "tree-group");
      node.group.setAttribute("role", "group");
      node.row.after(node.group);
      node.level = newLevel(node.ev.id, node.group, node.depth + 1, kids(node.ev));
      node.level.fromMs = listStart();
      try {
        await loading(node, loadPage(node.level, true));
      } catch (err) {  // forget the failed level: the next expand asks again
        node.group.remove();
        node.group = node.level = null;
        collapse(node);
        throw err;
      }
    } else {
      node.group.hidden = false;
      if (!covers(node.level)) await loading(node, reload(node.level));
    }
  }
  function collapse(node) {
    node.expanded = false;
    node.row.setAttribute("aria-expanded", "false");
    node.toggle.textContent = "▸";
    node.toggle.setAttribute("aria-label", `Expand (${kids(node.ev)} children)`);
    if (node.group) node.group.hidden = true;
  }
  async function loading(node, work) {
    node.row.dataset.loading = "true";
    try { await work; } finally { delete node.row.dataset.loading; }
  }

  // --- zoom: lists that do not reach the view re-read from its start -------------------------
  function listStart() { return view.start > full.start ? view.start : null; }
  function covers(level) {
    if ((level.fromMs ?? -Infinity) > view.start) return false;
    if (level.cursor === null) return true;
    const last = level.nodes[level.nodes.length - 1];
    return last !== undefined && last.ev.start_ms >= view.start;
  }
  function reload(level) {
    level.fromMs = listStart();
    return loadPage(level, true);
  }
  function openLevels(level, out) {
    out.push(level);
    for (const node of level.nodes) if (node.expanded && node.level) openLevels(node.level, out);
    return out;
  }

  function zoomTo(start, end) {
    start = Math.max(full.start, start);
    end = Math.min(full.end, end);
    if (end - start < 1) end = start + 1;
    view = { start, end };
    redraw().catch(showError);
  }
  function zoomBy(factor) {
    const mid = (view.start + view.end) / 2, half = ((view.end - view.start) * factor) / 2;
    zoomTo(mid - half, mid + half);
  }

  async function redraw() {
    const token = ++drawToken;
    state("loading");  // "ready" once every open list reaches the view (tests wait on it)
    drawAxis();
    drawOverview();
    for (const row of document.querySelectorAll("#tree .node")) place(nodeOf.get(row));
    writeUrl();
    if (mode === "lanes") await drawLanes();
    const stale = openLevels(top, []).filter((level) => !covers(level));
    await Promise.all(stale.map(reload));
    if (token !== drawToken) return;  // a later zoom is drawing
    const late = openLevels(top, []).some((level) => level.fromMs !== null);
    document.getElementById("waterfall-note").textContent = late
      ? `Long lists start at +${fmtMs(view.start - full.start)}, the view's start, with what is still running then.`
      : "";
    state("ready");
  }

  // --- axis and overview -----------------------------------------------------------------------
  function drawAxis() {
    const axis = document.getElementById("tree-axis");
    axis.textContent = "";
    // about one tick per 100 px; the rows' grid lines (CSS --grid) fall on the same fractions
    const n = Math.max(2, Math.min(10, Math.floor(axis.getBoundingClientRect().width / 100)));
    document.getElementById("tree").style.setProperty("--grid", `${100 / n}%`);
    for (let i = 0; i <= n; i++) {
      const t = view.start + ((view.end - view.start) * i) / n;
      const tick = h("span", "+" + fmtMs(t - full.start), "tick");
      tick.style.left = `${(i * 100) / n}%`;
      if (i === 0) tick.classList.add("first");
      if (i === n) tick.classList.add("last");
      axis.appendChild(tick);
    }
    document.getElementById("waterfall-range").textContent =
      `+${fmtMs(view.start - full.start)} → +${fmtMs(view.end - full.start)}`;
  }

  // The whole session's events per lane and time slice, with the view marked on it.
  function drawOverview() {
    const host = document.getElementById("overview");
    host.textContent = "";
    const W = 1000, LANE = 7, H = LANE * LANES.length + 2;
    const svg = svgEl("svg", { viewBox: `0 0 ${W} ${H}`, preserveAspectRatio: "none", height: H }, host);
    const span = full.end - full.start, xAt = (ms) => ((ms - full.start) / span) * W;
    if (density) {
      const max = Math.max(1, ...density.buckets.map((b) => b.count));
      for (const b of density.buckets) {
        const lane = LANES.indexOf(b.event_type);
        const s = density.start_ms + b.index * density.bucket_ms;
        const opacity = 0.25 + (0.75 * b.count) / max;
        svgEl("rect", {
          x: xAt(s), y: 1 + Math.max(0, lane) * LANE, width: Math.max(1, xAt(s + density.bucket_ms) - xAt(s)),
          height: LANE - 1, class: `bucket lane-${b.event_type}`, opacity: opacity.toFixed(2),
        }, svg);
      }
    }
    svgEl("rect", {
      x: xAt(view.start), y: 0, width: Math.max(2, xAt(view.end) - xAt(view.start)), height: H,
      class: "view-window",
    }, svg);
  }

  // Drag across `target` to pick a span, `done(fromFraction, toFraction)`; a click without a
  // drag calls `clicked(fraction)` when given.
  function brush(target, done, clicked) {
    target.addEventListener("mousedown", (ev) => {
      if (ev.button !== 0) return;
      const rect = target.getBoundingClientRect();
      const frac = (e) => Math.min(1, Math.max(0, (e.clientX - rect.left) / rect.width));
      const from = frac(ev);
      const shade = h("div", null, "brush");
      target.appendChild(shade);
      const move = (e) => {
        const a = Math.min(from, frac(e)), b = Math.max(from, frac(e));
        shade.style.left = `${a * 100}%`;
        shade.style.width = `${(b - a) * 100}%`;
      };
      const up = (e) => {
        window.removeEventListener("mousemove", move);
        window.removeEventListener("mouseup", up);
        shade.remove();
        const a = Math.min(from, frac(e)), b = Math.max(from, frac(e));
        if ((b - a) * rect.width > 4) done(a, b);
        else if (clicked) clicked(from);
      };
      window.addEventListener("mousemove", move);
      window.addEventListener("mouseup", up);
      ev.preventDefault();
    });
  }

  // --- selection and keys ----------------------------------------------------------------------
  async function select(id) {
    selectedId = id;
    document.querySelectorAll("#waterfall .selected").forEach((n) => n.classList.remove("selected"));
    document.querySelectorAll(`#tree .node[data-event-id="${CSS.escape(id)}"], #tree .bar[data-event-id="${CSS.escape(id)}"]`)
      .forEach((n) => n.classList.add("selected"));
    writeUrl();
    const box = document.getElementById("inspector");
    const ev = await S.inspect(`${base}/events/${encodeURIComponent(id)}`, box, {
      agents, open: (other) => reveal(other).catch(showError),
    });
    current = ev;
    if (ev.end_timestamp) {
      const start = Date.parse(ev.init_timestamp), end = Date.parse(ev.end_timestamp);
      const zoom = h("button", "Zoom to this event", "secondary small");
      zoom.type = "button";
      zoom.id = "zoom-to-event";
      const pad = Math.max(1, (end - start) * 0.1);
      zoom.addEventListener("click", () => zoomTo(start - pad, end + pad));
      box.insertBefore(zoom, box.children[1] || null);
    }
  }

  function onKey(e, node) {
    if (e.target !== node.row) return;
    const rows = () => [...document.querySelectorAll("#tree .node")].filter((r) => r.offsetParent !== null);
    const down = e.key === "ArrowDown" || e.key === "j", up = e.key === "ArrowUp" || e.key === "k";
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    if (e.key === "Enter" || e.key === " ") select(node.ev.id).catch(showError);
    else if (e.key === "ArrowRight" && node.ev.child_count > 0 && !node.expanded) toggleNode(node).catch(showError);
    else if (e.key === "ArrowLeft" && node.expanded) collapse(node);
    else if (e.key === "ArrowLeft" && node.depth > 0) {  // to the parent's row
      const parent = node.row.parentElement.previousElementSibling;
      if (parent && parent.classList.contains("node")) parent.focus();
    } else if (down || up) {
      const list = rows(), i = list.indexOf(node.row) + (down ? 1 : -1);
      if (list[i]) list[i].focus();
    } else if (e.key === "Home" || e.key === "End") {
      const list = rows();
      (e.key === "Home" ? list[0] : list[list.length - 1])?.focus();
    } else return;
    e.preventDefault();
  }

  // --- the address: selected event, zoom, filters and grouping, so a link opens the same view ---
  function writeUrl() {
    const params = new URLSearchParams();
    if (selectedId) params.set("event", selectedId);
    if (view.start > full.start || view.end < full.end) {
      params.set("from", String(Math.round(view.start - full.start)));
      params.set("to", String(Math.round(view.end - full.start)));
    }
    for (const [k, v] of Object.entries(filters)) if (v) params.set(k, v);
    if (document.getElementById("group-agents").checked) params.set("group", "agent");
    const query = params.toString();
    history.replaceState(null, "", query ? `${location.pathname}?${query}` : location.pathname);
  }

  function focusRow(node) {
    node.row.scrollIntoView({ block: "nearest" });
    node.row.focus({ preventScroll: true });
  }

  // Open the tree down to an event (its ancestors expanded, each level read from the moment
  // the next one starts when that row is not loaded yet), then select it.
  async function reveal(id) {
    const detail = async (eventId) => (await getJSON(`${base}/events/${encodeURIComponent(eventId)}`)).data;
    const target = await detail(id);
    const chain = [target];
    for (let cur = target; cur.parent_id && chain.length < 64;) {
      try { cur = await detail(cur.parent_id); } catch (err) { break; }  // a lost parent: an orphan at the top
      chain.unshift(cur);
    }
    const end = target.end_timestamp ? Date.parse(target.end_timestamp) : Date.parse(target.init_timestamp);
    if (Date.parse(target.init_timestamp) > view.end || end < view.start) {
      const pad = Math.max(1, (end - Date.parse(target.init_timestamp)) * 0.5);
      zoomTo(Date.parse(target.init_timestamp) - pad, end + pad);
    }
    if (mode === "tree") {
      let level = top;
      for (const anc of chain) {
        let node = level.nodes.find((n) => n.ev.id === anc.id);
        if (!node) {
          level.fromMs = Math.max(full.start, Date.parse(anc.init_timestamp));
          await loadPage(level, true);
          node = level.nodes.find((n) => n.ev.id === anc.id);
        }
        if (!node) break;
        if (anc === target) { focusRow(node); break; }
        if (!node.expanded) await toggleNode(node);
        if (!node.level) break;
        level = node.level;
      }
    }
    await select(id);
    const shown = document.querySelector(`#tree [data-event-id="${CSS.escape(id)}"]`);
    if (shown && mode !== "tree") shown.focus();
  }

  let current = null;  // the inspected event's JSON
  async function nextError() {
    const note = document.getElementById("waterfall-note");
    const from = current ? Date.parse(current.init_timestamp) : full.start;
    const ask = async (startMs) => (await getJSON(`${base}/events?${q({
      start_ms: Math.floor(startMs), end_ms: Math.ceil(full.end) + 1, limit: 50, type: "errors",
    })}`)).data;
    let list = await ask(from);
    let i = list.findIndex((e) => e.id === selectedId);
    let found = i >= 0 ? list[i + 1] : list.find((e) => e.id !== selectedId);
    if (!found && from > full.start) {  // wrap around to the first error
      list = await ask(full.start);
      found = list.find((e) => e.id !== selectedId);
    }
    if (!found) { note.textContent = "No error in this session."; return; }
    note.textContent = "";
    await reveal(found.id);
  }

  function closeInspector() {
    if (!selectedId) return;
    const id = selectedId;
    selectedId = null;
    current = null;
    document.querySelectorAll("#waterfall .selected").forEach((n) => n.classList.remove("selected"));
    const box = document.getElementById("inspector");
    box.textContent = "";
    box.appendChild(h("p", "Select an event in the waterfall to inspect it.", "muted"));
    writeUrl();
    document.querySelector(`#tree [data-event-id="${CSS.escape(id)}"]`)?.focus();
  }

  // --- filters: a flat list of the session's matching events, time order, page by page ----
  function setMode(next) {
    mode = next;
    body.hidden = next !== "tree";
    alt.hidden = next === "tree";
    alt.classList.toggle("lanes", next === "lanes");
    if (next !== "filter") filterLevel = null;
    alt.textContent = "";
  }
  function readFilters() {
    const form = document.getElementById("event-filters");
    const values = {};
    for (const name of ["type", "name", "model", "agent"]) values[name] = form.elements[name].value.trim();
    return values;
  }
  async function applyFilters(values) {
    filters = values;
    if (!Object.values(values).some(Boolean)) {
      setMode(document.getElementById("group-agents").checked ? "lanes" : "tree");
      await redraw();
      return;
    }
    setMode("filter");
    const level = newLevel(null, alt, 0, null);
    level.load = async (reset) => {
      const params = { start_ms: Math.floor(full.start), end_ms: Math.ceil(full.end) + 1, limit: PAGE };
      for (const [k, v] of Object.entries(filters)) if (v) params[k] = v;
      if (!reset && level.cursor) params.cursor = level.cursor;
      const page = await getJSON(`${base}/events?${q(params)}`);
      if (filterLevel !== level) return;
      if (reset) alt.textContent = "";
      addPage(level, page);
      if (!level.nodes.length) alt.appendChild(h("div", "No event matches these filters.", "muted empty"));
    };
    filterLevel = level;
    state("loading");
    await level.load(true);
    writeUrl();
    state("ready");
  }

  // --- group by agent: lanes of the view's events, overlapping spans in sub-rows ----------
  async function drawLanes() {
    const token = ++laneToken;
    const params = { start_ms: Math.floor(view.start), end_ms: Math.ceil(view.end) + 1, limit: 2000, running: true };
    const page = await getJSON(`${base}/events?${q(params)}`);
    if (token !== laneToken || mode !== "lanes") return;
    window.AgentopsLanes.render(alt, page.data, agents, pct, view.end - view.start, selectedId,
      (id) => select(id).catch(showError));
    if (page.next_cursor) {
      alt.appendChild(h("div", "The first 2,000 events of this view: zoom in to see the rest.", "muted empty"));
    }
  }

  // --- live: a running session's new events join the open levels without a reload ---------
  async function extend(endMs) {
    if (!(endMs > full.end)) return;
    const atEnd = view.end >= full.end - 1 && view.start <= full.start;
    full.end = endMs;
    if (atEnd) view = { start: view.start, end: endMs };
    for (const level of openLevels(top, [])) {
      if (level.cursor !== null) continue;  // its end is not loaded yet: "Show more" reaches it
      const last = level.nodes[level.nodes.length - 1];
      const params = { limit: PAGE };
      if (level.parentId !== null) params.parent_id = level.parentId;
      if (last) params.from_ms = Math.floor(last.ev.start_ms);
      const page = await getJSON(`${base}/tree?${q(params)}`);
      const known = new Map(level.nodes.map((n, i) => [n.ev.id, i]));
      for (const ev of page.data) {  // rows whose event ended or gained children since
        const i = known.get(ev.id);
        if (i === undefined) continue;
        const old = level.nodes[i];
        if (old.expanded || (old.ev.end_ms === ev.end_ms && old.ev.child_count === ev.child_count)) continue;
        const fresh = makeNode(ev, level);
        old.row.replaceWith(fresh.row);
        if (old.group) old.group.remove();
        level.nodes[i] = fresh;
      }
      const added = page.data.filter((ev) => !known.has(ev.id));
      if (added.length) {
        level.container.querySelector(":scope > .empty")?.remove();
        addPage(level, { data: added, next_cursor: page.next_cursor });
      }
    }
    const params = { start_ms: Math.floor(full.start), end_ms: Math.ceil(full.end), buckets: BUCKETS };
    density = (await getJSON(`${base}/timeline?${q(params)}`)).data;
    await redraw();
    if (mode === "filter" && filterLevel) await filterLevel.load(true);
  }

  function showError(err) {
    document.getElementById("waterfall-note").textContent = `Could not load the waterfall: ${err.message}`;
  }

  document.addEventListener("DOMContentLoaded", () => {
    const host = document.getElementById("waterfall");
    if (!host) return;
    base = host.dataset.base;
    full = { start: Number(host.dataset.startMs), end: Number(host.dataset.endMs) };
    if (!(full.end > full.start)) full.end = full.start + 1000;
    view = { ...full };
    body = document.getElementById("tree-body");
    top = newLevel(null, body, 0, null);
    addPage(top, JSON.parse(document.getElementById("tree-data").textContent));
    if (!top.nodes.length) body.appendChild(h("div", "No events recorded.", "muted empty"));
    drawAxis();
    drawOverview();
    state("ready");
    window.addEventListener("resize", drawAxis);
    document.getElementById("zoom-in").addEventListener("click", () => zoomBy(0.5));
    document.getElementById("zoom-out").addEventListener("click", () => zoomBy(2));
    document.getElementById("zoom-reset").addEventListener("click", () => zoomTo(full.start, full.end));
    const span = full.end - full.start;
    brush(document.getElementById("overview"), (a, b) => zoomTo(full.start + a * span, full.start + b * span), (at) => {
      // a click centres the view there: the same width when zoomed in, else a twentieth
      const width = view.end - view.start < span ? view.end - view.start : span / 20;
      zoomTo(full.start + at * span - width / 2, full.start + at * span + width / 2);
    });
    const axis = document.getElementById("tree-axis");
    brush(axis, (a, b) => zoomTo(view.start + a * (view.end - view.start), view.start + b * (view.end - view.start)));
    // Ctrl (or Cmd) + wheel over the timeline zooms around the pointer; a plain wheel scrolls.
    document.getElementById("tree").addEventListener("wheel", (ev) => {
      if (!(ev.ctrlKey || ev.metaKey)) return;
      ev.preventDefault();
      const rect = axis.getBoundingClientRect();
      const frac = Math.min(1, Math.max(0, (ev.clientX - rect.left) / rect.width));
      const at = view.start + frac * (view.end - view.start), factor = ev.deltaY > 0 ? 1.5 : 1 / 1.5;
      zoomTo(at - (at - view.start) * factor, at + (view.end - at) * factor);
    }, { passive: false });
    const params = { start_ms: Math.floor(full.start), end_ms: Math.ceil(full.end), buckets: BUCKETS };
    getJSON(`${base}/timeline?${q(params)}`).then((found) => {
      density = found.data;
      drawOverview();
    }).catch(showError);

    agents = JSON.parse(document.getElementById("agents-data").textContent);
    alt = h("div", null, "alt-body");
    alt.id = "alt-body";
    alt.hidden = true;
    body.after(alt);
    const form = document.getElementById("event-filters");
    const group = document.getElementById("group-agents");
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      applyFilters(readFilters()).catch(showError);
    });
    form.addEventListener("reset", () => {
      setTimeout(() => applyFilters(readFilters()).catch(showError), 0);
    });
    group.addEventListener("change", () => {
      if (mode !== "filter") setMode(group.checked ? "lanes" : "tree");
      redraw().catch(showError);
    });
    document.getElementById("next-error").addEventListener("click", () => nextError().catch(showError));
    document.addEventListener("keydown", (e) => {
      const typing = e.target.closest && e.target.closest("input, select, textarea");
      if (e.key === "Escape" && !typing) closeInspector();
      else if (e.key === "e" && !typing && !e.ctrlKey && !e.metaKey && !e.altKey) nextError().catch(showError);
    });
    window.AgentopsWaterfall = { extend, reveal };

    // a link with ?event=…&from=…&to=… (and filters, group=agent) opens that view
    const url = new URLSearchParams(location.search);
    let opening = false;
    for (const name of ["type", "name", "model", "agent"]) {
      if (url.get(name)) { form.elements[name].value = url.get(name); opening = true; }
    }
    if (url.get("group") === "agent") { group.checked = true; opening = true; }
    const from = Number(url.get("from")), to = Number(url.get("to"));
    if (url.has("from") && url.has("to") && to > from && from >= 0) {
      view = { start: full.start + from, end: Math.min(full.end, full.start + to) };
      if (!(view.end > view.start)) view = { ...full };
      opening = true;
    }
    const event = url.get("event");
    if (!opening && !event) return;
    state("loading");
    (async () => {
      const values = readFilters();
      if (Object.values(values).some(Boolean)) await applyFilters(values);
      else if (group.checked) setMode("lanes");
      await redraw();
      if (event) await reveal(event);
      state("ready");
    })().catch((err) => { showError(err); state("ready"); });
  });
})();
