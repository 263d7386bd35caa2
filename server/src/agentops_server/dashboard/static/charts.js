// Overview charts drawn as SVG from the page's JSON (the same object as the page's JSON twin).
// Each chart is drawn at its box's pixel width (no stretching: axis text stays readable) and
// redrawn when the box changes size. A bar is a link to the sessions it counts.
// Data is only ever placed with textContent/attributes: nothing from the server becomes markup.
"use strict";
(function () {
  const SVG = "http://www.w3.org/2000/svg";
  const H = 220, PAD = { l: 58, r: 12, t: 10, b: 30 };
  const MUTED = "#667085";

  function el(name, attrs, parent) {
    const node = document.createElementNS(SVG, name);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, String(v));
    if (parent) parent.appendChild(node);
    return node;
  }

  function title(node, text) { el("title", {}, node).textContent = text; }

  function niceMax(v) {
    if (!(v > 0)) return 1;
    const p = Math.pow(10, Math.floor(Math.log10(v)));
    for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
    return 10 * p;
  }

  function fmt(v, unit) {
    if (v === null || v === undefined) return "–";
    if (unit === "usd") {
      if (v === 0) return "$0";
      if (v < 0.01) return "$" + v.toPrecision(2);
      return "$" + v.toFixed(2);
    }
    if (unit === "pct") return Math.round(v * 1000) / 10 + "%";
    if (unit === "ms") return v >= 1000 ? (v / 1000).toFixed(v >= 10000 ? 0 : 1) + " s" : Math.round(v) + " ms";
    if (v >= 1e6) return (v / 1e6).toFixed(1) + "M";
    if (v >= 1e3) return (v / 1e3).toFixed(1) + "k";
    return String(Math.round(v * 100) / 100);
  }

  // An SVG as wide as its box, in pixels: text is drawn at its real size.
  function frame(container, height) {
    const width = Math.max(240, Math.floor(container.clientWidth || 600));
    const svg = el("svg", { width, height, viewBox: `0 0 ${width} ${height}`, role: "img" });
    container.replaceChildren(svg);
    return { svg, width };
  }

  function axes(svg, width, max, unit) {
    const ih = H - PAD.t - PAD.b;
    for (let i = 0; i <= 4; i++) {
      const y = PAD.t + ih - (ih * i) / 4;
      el("line", { x1: PAD.l, x2: width - PAD.r, y1: y, y2: y, stroke: "#e3e6eb" }, svg);
      const t = el("text", { x: PAD.l - 6, y: y + 4, "text-anchor": "end", "font-size": 11, fill: MUTED }, svg);
      t.textContent = fmt((max * i) / 4, unit);
    }
  }

  function empty(container) {
    const d = document.createElement("div");
    d.className = "empty";
    d.textContent = "No data in this range";
    container.replaceChildren(d);
  }

  // The time axis' label of a bucket: "MM-DD" by day; "HH:00" by hour, with the day at 00:00.
  function tick(point, hourly, first) {
    const s = point.start; // ISO, UTC
    if (!hourly) return s.slice(5, 10);
    const hour = s.slice(11, 13);
    return hour === "00" || first ? `${s.slice(5, 10)} ${hour}h` : `${hour}h`;
  }

  function link(svg, href, child) {
    if (!href) return svg.appendChild(child);
    const a = el("a", { href }, svg);
    a.appendChild(child);
    return a;
  }

  // Vertical bars, one per bucket, each stacked from `series` [{key, color, label, href?}].
  function stackedBars(container, ctx, series, unit) {
    const points = ctx.points;
    if (!points.some((p) => series.some((s) => p[s.key] > 0))) return empty(container);
    const { svg, width } = frame(container, H);
    const max = niceMax(Math.max(...points.map((p) => series.reduce((sum, s) => sum + (p[s.key] || 0), 0))));
    axes(svg, width, max, unit);
    const iw = width - PAD.l - PAD.r, ih = H - PAD.t - PAD.b;
    const slot = iw / points.length, bw = Math.max(1, Math.min(40, slot * 0.7));
    const every = Math.ceil(points.length / Math.max(2, Math.floor(iw / 70)));
    points.forEach((p, i) => {
      const x = PAD.l + i * slot + (slot - bw) / 2;
      let y = PAD.t + ih;
      for (const s of series) {
        const v = p[s.key] || 0;
        if (v <= 0) continue;
        const h = (v / max) * ih;
        y -= h;
        const r = el("rect", { x, y, width: bw, height: Math.max(h, 0.5), fill: s.color, class: "bar" });
        title(r, `${tick(p, ctx.hourly, true)}: ${s.label} ${fmt(v, unit)}`);
        link(svg, ctx.listUrl(p, s.filter), r);
      }
      if (i % every === 0) {
        const t = el("text", { x: x + bw / 2, y: H - 10, "text-anchor": "middle", "font-size": 11, fill: MUTED }, svg);
        t.textContent = tick(p, ctx.hourly, i === 0);
      }
    });
  }

  // Dots joined by lines, one series per key (null values leave a gap).
  function lines(container, ctx, series, unit) {
    const points = ctx.points;
    const values = points.flatMap((p) => series.map((s) => s.value(p))).filter((v) => v !== null);
    if (!values.length) return empty(container);
    const { svg, width } = frame(container, H);
    const max = niceMax(Math.max(...values));
    axes(svg, width, max, unit);
    const iw = width - PAD.l - PAD.r, ih = H - PAD.t - PAD.b;
    const slot = iw / points.length;
    const every = Math.ceil(points.length / Math.max(2, Math.floor(iw / 70)));
    for (const s of series) {
      const at = points.map((p, i) => {
        const v = s.value(p);
        return v === null ? null : { p, v, x: PAD.l + i * slot + slot / 2, y: PAD.t + ih - (v / max) * ih };
      });
      let d = "", pen = false;
      for (const c of at) {
        if (c === null) { pen = false; continue; }
        d += `${pen ? "L" : "M"}${c.x.toFixed(1)},${c.y.toFixed(1)}`;
        pen = true;
      }
      el("path", { d, fill: "none", stroke: s.color, "stroke-width": 1.5 }, svg);
      for (const c of at) {
        if (c === null) continue;
        const dot = el("circle", { cx: c.x, cy: c.y, r: 3.5, fill: s.color, class: "bar" });
        title(dot, `${tick(c.p, ctx.hourly, true)}: ${s.label} ${fmt(c.v, unit)}`);
        link(svg, ctx.listUrl(c.p, s.filter), dot);
      }
    }
    points.forEach((p, i) => {
      if (i % every) return;
      const t = el("text", { x: PAD.l + i * slot + slot / 2, y: H - 10, "text-anchor": "middle", "font-size": 11, fill: MUTED }, svg);
      t.textContent = tick(p, ctx.hourly, i === 0);
    });
  }

  // One row per model: its calls, stacked priced / unpriced / failed; every model is shown.
  function modelBars(container, models, listModel) {
    if (!models.length) return empty(container);
    const rowH = 24, height = models.length * rowH + 10;
    const { svg, width } = frame(container, height);
    const left = Math.min(200, Math.max(110, width * 0.3));
    const max = niceMax(Math.max(...models.map((m) => m.calls)));
    const parts = [
      { key: "priced", color: "#2f6fed", label: "priced" },
      { key: "unpriced_calls", color: "#f0a202", label: "unpriced" },
      { key: "failed_calls", color: "#d64545", label: "failed" },
    ];
    models.forEach((m, i) => {
      const y = 5 + i * rowH;
      const name = m.model === null ? "(no model)" : m.model;
      const label = el("text", { x: left - 6, y: y + rowH * 0.65, "text-anchor": "end", "font-size": 12, fill: "#1d2430" });
      const room = Math.max(8, Math.floor((left - 10) / 6.6)); // characters that fit at 12 px
      label.textContent = name.length > room ? name.slice(0, room - 1) + "…" : name;
      title(label, name);
      link(svg, listModel(m), label);
      const row = { ...m, priced: m.calls - m.unpriced_calls - m.failed_calls };
      let x = left;
      for (const part of parts) {
        const v = row[part.key];
        if (!(v > 0)) continue;
        const w = ((width - left - 90) * v) / max;
        const r = el("rect", { x, y: y + 4, width: Math.max(w, 1), height: rowH - 8, fill: part.color, class: "bar" });
        title(r, `${name}: ${v} ${part.label} calls of ${m.calls}; cost ${m.cost === null ? "–" : "$" + m.cost}`);
        link(svg, listModel(m), r);
        x += Math.max(w, 1);
      }
      const v = el("text", { x: x + 4, y: y + rowH * 0.65, "font-size": 11, fill: MUTED }, svg);
      v.textContent = `${fmt(m.calls, "count")} call${m.calls === 1 ? "" : "s"}`;
    });
  }

  function render() {
    const source = document.getElementById("overview-data");
    if (!source) return;
    const data = JSON.parse(source.textContent);
    const base = `/projects/${encodeURIComponent(data.project.id)}/sessions`;
    const query = (params) => base + "?" + new URLSearchParams(params).toString();
    const range = {};
    if (data.range.start) range.after = data.range.start;
    if (data.range.end) range.before = data.range.end;
    const ctx = {
      hourly: data.bucket === "hour",
      points: data.points.map((p) => ({
        ...p,
        cost_usd: p.cost_nanos / 1e9,
        p50: p.llm_latency.p50_ms,
        p95: p.llm_latency.p95_ms,
      })),
      listUrl: (p, filter) => query({ after: p.start, before: p.end, ...(filter || {}) }),
    };
    const byId = (id) => document.getElementById(id);
    const draw = () => {
      stackedBars(byId("chart-states"), ctx, [
        { key: "success", color: "#1f9d55", label: "Success", filter: { end_state: "Success" } },
        { key: "fail", color: "#d64545", label: "Fail", filter: { end_state: "Fail" } },
        { key: "indeterminate", color: "#9aa3af", label: "Indeterminate", filter: { end_state: "Indeterminate" } },
      ], "count");
      stackedBars(byId("chart-cost"), ctx, [{ key: "cost_usd", color: "#2f6fed", label: "cost" }], "usd");
      stackedBars(byId("chart-tokens"), ctx, [
        { key: "prompt_tokens", color: "#6d5bd0", label: "prompt tokens" },
        { key: "completion_tokens", color: "#b4a9ef", label: "completion tokens" },
      ], "count");
      lines(byId("chart-errors"), ctx, [
        { value: (p) => p.error_rate, color: "#d64545", label: "sessions with errors" },
      ], "pct");
      lines(byId("chart-latency"), ctx, [
        { value: (p) => p.p50, color: "#2f6fed", label: "p50" },
        { value: (p) => p.p95, color: "#f0a202", label: "p95" },
      ], "ms");
      modelBars(byId("chart-models"), data.models, (m) => m.model === null ? null : query({ model: m.model, ...range }));
    };
    draw();
    let width = document.body.clientWidth;
    new ResizeObserver(() => {
      if (document.body.clientWidth !== width) { width = document.body.clientWidth; draw(); }
    }).observe(document.body);
  }

  document.addEventListener("DOMContentLoaded", render);
})();
