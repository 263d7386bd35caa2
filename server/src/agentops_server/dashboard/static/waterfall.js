// Session page: a zoomable waterfall of every event by lane, an event list and an inspector.
// Large sessions are never loaded whole: the page fetches per-window density buckets, and the
// events of a window only once the window holds few enough of them.
// Every value from the server is placed with textContent or setAttribute: never as markup.
"use strict";
(function () {
  const SVG = "http://www.w3.org/2000/svg";
  const LANES = [["llms", "LLM"], ["tools", "Tool"], ["actions", "Action"], ["errors", "Error"]];
  const W = 1000, LABEL = 70, LANE_H = 34, AXIS_H = 22, H = AXIS_H + LANE_H * LANES.length + 6;
  const DETAIL_LIMIT = 1500, PAGE = 200, BUCKETS = 200;

  let base = "", full = { start: 0, end: 1 }, view = { start: 0, end: 1 };
  let selectedId = null, listCursor = null, drawToken = 0;

  function el(name, attrs, parent) {
    const node = document.createElementNS(SVG, name);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, String(v));
    if (parent) parent.appendChild(node);
    return node;
  }
  function h(tag, text, cls) {
    const node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (cls) node.className = cls;
    return node;
  }
  async function getJSON(url) {
    const r = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
    if (!r.ok) throw new Error(`${r.status} ${url}`);
    return await r.json();
  }
  function q(params) { return new URLSearchParams(params).toString(); }

  function fmtMs(ms) {
    if (ms === null || ms === undefined) return "–";
    if (ms < 1000) return `${Math.round(ms)} ms`;
    const s = ms / 1000;
    if (s < 60) return `${s.toFixed(s < 10 ? 2 : 1)} s`;
    const m = Math.floor(s / 60);
    if (m < 60) return `${m}m ${(s - m * 60).toFixed(m < 10 ? 1 : 0)}s`;
    return `${Math.floor(m / 60)}h ${m % 60}m`;
  }
  // Exact USD from integer nano-dollars (no float rounding): 360000 -> "$0.00036".
  function usdFromNanos(nanos) {
    const digits = String(Math.abs(nanos)).padStart(10, "0");
    const whole = digits.slice(0, -9), frac = digits.slice(-9).replace(/0+$/, "");
    return (nanos < 0 ? "-$" : "$") + whole + (frac ? "." + (frac.length < 2 ? frac + "0" : frac) : ".00");
  }
  function fmtCost(nanos, source) {
    if (nanos === null || nanos === undefined) return source && source !== "none" ? "unknown" : "–";
    return usdFromNanos(nanos);
  }
  function x(ms) { return LABEL + ((ms - view.start) / (view.end - view.start)) * (W - LABEL - 4); }
  function msAt(px) { return view.start + ((px - LABEL) / (W - LABEL - 4)) * (view.end - view.start); }

  // --- drawing -------------------------------------------------------------------------------
  function frame() {
    const host = document.getElementById("waterfall-svg");
    host.textContent = "";
    const svg = el("svg", { viewBox: `0 0 ${W} ${H}`, height: H, role: "img" }, host);
    for (let i = 0; i <= 5; i++) {
      const t = view.start + ((view.end - view.start) * i) / 5, px = x(t);
      el("line", { x1: px, x2: px, y1: AXIS_H - 4, y2: H, stroke: "#eceef2" }, svg);
      const label = el("text", { x: px, y: 12, "font-size": 11, fill: "#667085", "text-anchor": i === 5 ? "end" : "middle" }, svg);
      label.textContent = "+" + fmtMs(t - full.start);
    }
    LANES.forEach(([, name], i) => {
      const y = AXIS_H + i * LANE_H;
      el("rect", { x: 0, y, width: W, height: LANE_H, fill: i % 2 ? "#fbfbfc" : "#fff" }, svg);
      const t = el("text", { x: 6, y: y + LANE_H / 2 + 4, "font-size": 12, fill: "#1d2430" }, svg);
      t.textContent = name;
    });
    return svg;
  }
  function laneY(type) {
    const i = LANES.findIndex(([k]) => k === type);
    return AXIS_H + (i < 0 ? 2 : i) * LANE_H;
  }

  function drawBuckets(svg, data) {
    const span = data.bucket_ms;
    const max = Math.max(1, ...data.buckets.map((b) => b.count));
    for (const b of data.buckets) {
      const s = data.start_ms + b.index * span, e = s + span;
      const hgt = Math.max(2, ((LANE_H - 8) * b.count) / max);
      const r = el("rect", {
        x: x(s), y: laneY(b.event_type) + LANE_H - 4 - hgt, width: Math.max(1, x(e) - x(s) - 0.5),
        height: hgt, class: `bar lane-${b.event_type}`, opacity: 0.75,
      }, svg);
      el("title", {}, r).textContent = `${b.count} ${b.event_type} events: click to zoom in`;
      r.addEventListener("click", () => zoomTo(s, e));
    }
  }

  function drawEvents(svg, events) {
    for (const ev of events) {
      const s = ev.start_ms, e = ev.end_ms === null ? s : Math.max(ev.end_ms, s);
      const left = Math.max(LABEL, x(s)), right = Math.min(W, x(e));  // clip to the view
      const r = el("rect", {
        x: left, y: laneY(ev.event_type) + 6, width: Math.max(3, right - left), height: LANE_H - 12,
        rx: 2, class: `bar lane-${ev.event_type}` + (ev.id === selectedId ? " selected" : ""),
        "data-event-id": ev.id,
      }, svg);
      el("title", {}, r).textContent = `${ev.name || ev.event_type} · ${fmtMs(e - s)}`;
      r.addEventListener("click", (event) => { event.stopPropagation(); select(ev.id); });
    }
  }

  async function draw() {
    const token = ++drawToken;
    const host = document.getElementById("waterfall");
    host.dataset.state = "loading";  // "ready" once bars and list are drawn (tests wait on it)
    const range = document.getElementById("waterfall-range");
    range.textContent = `+${fmtMs(view.start - full.start)} → +${fmtMs(view.end - full.start)}`;
    const params = { start_ms: Math.floor(view.start), end_ms: Math.ceil(view.end) };
    const density = (await getJSON(`${base}/timeline?${q({ ...params, buckets: BUCKETS })}`)).data;
    if (token !== drawToken) return;
    const svg = frame();
    const note = document.getElementById("waterfall-note");
    if (density.total <= DETAIL_LIMIT) {
      const page = await getJSON(`${base}/events?${q({ ...params, limit: DETAIL_LIMIT, running: true })}`);
      if (token !== drawToken) return;
      drawEvents(svg, page.data);
      note.textContent = `${density.total.toLocaleString()} events in view`;
    } else {
      drawBuckets(svg, density);
      note.textContent = `${density.total.toLocaleString()} events in view: density shown, zoom in for single events`;
    }
    attachBrush(svg);
    await loadList(true);
    if (token === drawToken) host.dataset.state = "ready";
  }

  // Drag across the waterfall to zoom into that span.
  function attachBrush(svg) {
    let from = null, box = null;
    const toSvgX = (ev) => {
      const r = svg.getBoundingClientRect();
      return ((ev.clientX - r.left) / r.width) * W;
    };
    svg.addEventListener("mousedown", (ev) => {
      if (ev.target.classList && ev.target.classList.contains("bar")) return;
      from = toSvgX(ev);
      box = el("rect", { x: from, y: AXIS_H, width: 0, height: H - AXIS_H, fill: "#2f6fed", opacity: 0.15 }, svg);
    });
    svg.addEventListener("mousemove", (ev) => {
      if (from === null || !box) return;
      const to = toSvgX(ev);
      box.setAttribute("x", String(Math.min(from, to)));
      box.setAttribute("width", String(Math.abs(to - from)));
    });
    // Ctrl (or Cmd) + wheel zooms around the pointer; a plain wheel still scrolls the page.
    svg.addEventListener("wheel", (ev) => {
      if (!(ev.ctrlKey || ev.metaKey)) return;
      ev.preventDefault();
      const at = msAt(Math.max(LABEL, toSvgX(ev)));
      const factor = ev.deltaY > 0 ? 1.5 : 1 / 1.5;
      zoomTo(at - (at - view.start) * factor, at + (view.end - at) * factor);
    }, { passive: false });
    svg.addEventListener("mouseup", (ev) => {
      if (from === null) return;
      const to = toSvgX(ev), a = Math.max(LABEL, Math.min(from, to)), b = Math.max(from, to);
      from = null;
      if (b - a > 4) zoomTo(msAt(a), msAt(b)); else if (box) box.remove();
    });
  }

  function zoomTo(start, end) {
    const minSpan = 1;
    start = Math.max(full.start, start);
    end = Math.min(full.end, end);
    if (end - start < minSpan) end = start + minSpan;
    view = { start, end };
    draw().catch(showError);
  }
  function zoomBy(factor) {
    const mid = (view.start + view.end) / 2, half = ((view.end - view.start) * factor) / 2;
    zoomTo(mid - half, mid + half);
  }

  // --- event list ------------------------------------------------------------------------------
  async function loadList(reset) {
    const body = document.querySelector("#event-list tbody");
    if (reset) { body.textContent = ""; listCursor = null; }
    const params = { start_ms: Math.floor(view.start), end_ms: Math.ceil(view.end), limit: PAGE };
    if (listCursor) params.cursor = listCursor;
    const page = await getJSON(`${base}/events?${q(params)}`);
    for (const ev of page.data) {
      const tr = document.createElement("tr");
      tr.dataset.eventId = ev.id;
      if (ev.id === selectedId) tr.classList.add("selected");
      const typeCell = h("td");
      const sw = h("span", null, `swatch lane-${ev.event_type}`);
      typeCell.append(sw, document.createTextNode(ev.event_type));
      const tokens = ev.prompt_tokens === null && ev.completion_tokens === null ? "–"
        : `${ev.prompt_tokens ?? "?"} / ${ev.completion_tokens ?? "?"}`;
      tr.append(h("td", "+" + fmtMs(ev.start_ms - full.start), "num"), typeCell,
        h("td", ev.name || ev.model || ""), h("td", fmtMs(ev.end_ms === null ? null : ev.end_ms - ev.start_ms), "num"),
        h("td", tokens, "num"), h("td", fmtCost(ev.cost_nanos, ev.cost_source), "num"));
      tr.addEventListener("click", () => select(ev.id));
      body.appendChild(tr);
    }
    listCursor = page.next_cursor;
    document.getElementById("event-more").hidden = !listCursor;
  }

  // --- inspector -------------------------------------------------------------------------------
  function kv(parent, rows) {
    const dl = h("dl", null, "kv");
    for (const [k, v] of rows) {
      if (v === null || v === undefined || v === "") continue;
      dl.append(h("dt", k), h("dd", v));
    }
    parent.appendChild(dl);
  }
  function pretty(value) {
    if (typeof value === "string") return value;
    try { return JSON.stringify(value, null, 2); } catch (e) { return String(value); }
  }
  function block(parent, label, value) {
    if (value === null || value === undefined || value === "") return;
    parent.append(h("h4", label), h("pre", pretty(value)));
  }
  function textOf(content) {
    if (content === null || content === undefined) return "";
    if (typeof content === "string") return content;
    if (Array.isArray(content)) {
      return content.map((p) => (p && typeof p === "object" && "text" in p ? p.text : pretty(p))).join("\n");
    }
    return pretty(content);
  }
  function messages(value) {
    if (value === null || value === undefined) return [];
    if (typeof value === "string") return [{ role: "", content: value }];
    if (Array.isArray(value)) return value.map((m) => (m && typeof m === "object" ? m : { role: "", content: m }));
    if (typeof value === "object") {
      if (value.type === "chatml" && "messages" in value) return messages(value.messages);
      if (value.type === "string" && "string" in value) return [{ role: "", content: value.string }];
      if ("messages" in value && Array.isArray(value.messages)) return messages(value.messages);
      return [value];
    }
    return [{ role: "", content: String(value) }];
  }
  function chat(parent, label, value, fallbackRole) {
    const list = messages(value);
    if (!list.length) return;
    parent.appendChild(h("h4", label));
    for (const m of list) {
      const role = typeof m.role === "string" && m.role ? m.role : fallbackRole;
      const box = h("div", null, `msg ${role}`);
      box.append(h("div", role, "role"), h("div", textOf(m.content), "content"));
      if (m.tool_calls) box.appendChild(h("pre", pretty(m.tool_calls)));
      parent.appendChild(box);
    }
  }

  async function select(id) {
    selectedId = id;
    document.querySelectorAll("#waterfall .bar.selected, #event-list tr.selected")
      .forEach((n) => n.classList.remove("selected"));
    document.querySelectorAll(`[data-event-id="${CSS.escape(id)}"]`).forEach((n) => n.classList.add("selected"));
    const box = document.getElementById("inspector");
    box.textContent = "Loading…";
    const ev = (await getJSON(`${base}/events/${encodeURIComponent(id)}`)).data;
    box.textContent = "";
    const p = ev;
    box.appendChild(h("h3", `${ev.event_type}: ${ev.name || ev.model || ev.id}`));
    const cost = ev.cost_nanos === null ? `unknown (${ev.cost_source})`
      : `${usdFromNanos(ev.cost_nanos)} (${ev.cost_source})`;
    kv(box, [
      ["Event id", ev.id], ["Started", ev.init_timestamp], ["Duration", fmtMs(ev.duration_ms)],
      ["Agent", ev.agent_id], ["Model", ev.model], ["Provider", ev.provider],
      ["Prompt tokens", ev.prompt_tokens], ["Completion tokens", ev.completion_tokens],
      ["Cache read tokens", ev.cache_read_tokens], ["Reasoning tokens", ev.reasoning_tokens],
      ["Cost", ev.event_type === "llms" ? cost : null],
    ]);
    const costNode = box.querySelector("dl.kv");
    if (costNode) costNode.id = "inspector-facts";
    if (ev.event_type === "llms") {
      chat(box, "Prompt", p.prompt, "user");
      chat(box, "Completion", p.completion, "assistant");
    }
    if (ev.event_type === "errors") {
      kv(box, [["Error type", p.error_type], ["Code", p.code], ["Details", p.details]]);
      block(box, "Traceback / logs", p.logs);
    } else {
      block(box, "Logs", p.logs);
    }
    if (ev.event_type === "actions") kv(box, [["Screenshot", p.screenshot]]);
    block(box, "Params", p.params);
    block(box, "Returns", p.returns);
    const raw = h("details");
    raw.append(h("summary", "Raw event JSON"), h("pre", pretty(ev)));
    box.appendChild(raw);
  }

  function showError(err) {
    document.getElementById("waterfall-note").textContent = `Could not load the timeline: ${err.message}`;
  }

  document.addEventListener("DOMContentLoaded", () => {
    const host = document.getElementById("waterfall");
    if (!host) return;
    base = host.dataset.base;
    full = { start: Number(host.dataset.startMs), end: Number(host.dataset.endMs) };
    if (!(full.end > full.start)) full.end = full.start + 1000;
    view = { ...full };
    document.getElementById("zoom-in").addEventListener("click", () => zoomBy(0.5));
    document.getElementById("zoom-out").addEventListener("click", () => zoomBy(2));
    document.getElementById("zoom-reset").addEventListener("click", () => zoomTo(full.start, full.end));
    document.getElementById("event-more").addEventListener("click", () => loadList(false).catch(showError));
    draw().catch(showError);
  });
})();
