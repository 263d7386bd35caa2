// Overview charts drawn as SVG from the page's JSON (the same object as the page's JSON twin).
// Data is only ever placed with textContent/attributes: nothing from the server becomes markup.
"use strict";
(function () {
  const SVG = "http://www.w3.org/2000/svg";
  const W = 600, H = 220, PAD = { l: 56, r: 10, t: 10, b: 28 };

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
    if (unit === "usd") {
      if (v === 0) return "$0";
      if (v < 0.01) return "$" + v.toPrecision(2);
      return "$" + v.toFixed(2);
    }
    if (v >= 1e6) return (v / 1e6).toFixed(1) + "M";
    if (v >= 1e3) return (v / 1e3).toFixed(1) + "k";
    return String(Math.round(v * 100) / 100);
  }

  function frame(container) {
    const svg = el("svg", { viewBox: `0 0 ${W} ${H}`, preserveAspectRatio: "none", role: "img" });
    container.appendChild(svg);
    return svg;
  }

  function axes(svg, max, unit) {
    const ih = H - PAD.t - PAD.b;
    for (let i = 0; i <= 4; i++) {
      const y = PAD.t + ih - (ih * i) / 4;
      el("line", { x1: PAD.l, x2: W - PAD.r, y1: y, y2: y, stroke: "#e3e6eb" }, svg);
      const t = el("text", { x: PAD.l - 6, y: y + 4, "text-anchor": "end", "font-size": 11, fill: "#667085" }, svg);
      t.textContent = fmt((max * i) / 4, unit);
    }
  }

  function empty(container) {
    const d = document.createElement("div");
    d.className = "empty";
    d.textContent = "No data in this range";
    container.appendChild(d);
  }

  // Vertical bars, one per day, each stacked from `series` [{key, color, label}].
  function stackedBars(container, days, series, unit) {
    if (!days.length) return empty(container);
    const svg = frame(container);
    const totals = days.map((d) => series.reduce((s, x) => s + (d[x.key] || 0), 0));
    const max = niceMax(Math.max(...totals));
    axes(svg, max, unit);
    const iw = W - PAD.l - PAD.r, ih = H - PAD.t - PAD.b;
    const slot = iw / days.length, bw = Math.max(1, Math.min(40, slot * 0.7));
    const every = Math.ceil(days.length / 8);
    days.forEach((d, i) => {
      const x = PAD.l + i * slot + (slot - bw) / 2;
      let y = PAD.t + ih;
      for (const s of series) {
        const v = d[s.key] || 0;
        if (v <= 0) continue;
        const h = (v / max) * ih;
        y -= h;
        const r = el("rect", { x, y, width: bw, height: Math.max(h, 0.5), fill: s.color }, svg);
        title(r, `${d.day}: ${s.label} ${fmt(v, unit)}`);
      }
      if (i % every === 0) {
        const t = el("text", { x: x + bw / 2, y: H - 8, "text-anchor": "middle", "font-size": 10, fill: "#667085" }, svg);
        t.textContent = d.day.slice(5);
      }
    });
  }

  // Horizontal bars: one per label.
  function hbars(container, rows, unit) {
    if (!rows.length) return empty(container);
    const svg = frame(container);
    const max = niceMax(Math.max(...rows.map((r) => r.value)));
    const left = 150, rowH = Math.min(26, (H - 10) / rows.length);
    rows.forEach((r, i) => {
      const y = 5 + i * rowH;
      const label = el("text", { x: left - 6, y: y + rowH * 0.65, "text-anchor": "end", "font-size": 11, fill: "#1d2430" }, svg);
      label.textContent = r.label.length > 22 ? r.label.slice(0, 21) + "…" : r.label;
      const w = ((W - left - 70) * r.value) / max;
      const rect = el("rect", { x: left, y: y + 3, width: Math.max(w, 1), height: rowH - 6, fill: "#2f6fed" }, svg);
      title(rect, `${r.label}: ${fmt(r.value, unit)} (${r.note})`);
      const v = el("text", { x: left + w + 4, y: y + rowH * 0.65, "font-size": 11, fill: "#667085" }, svg);
      v.textContent = fmt(r.value, unit);
    });
  }

  function render() {
    const source = document.getElementById("overview-data");
    if (!source) return;
    const data = JSON.parse(source.textContent);
    const days = data.days.map((d) => ({
      day: d.day, success: d.success, fail: d.fail, indeterminate: d.indeterminate,
      cost: d.cost_nanos / 1e9, prompt: d.prompt_tokens, completion: d.completion_tokens,
    }));
    const byId = (id) => document.getElementById(id);
    stackedBars(byId("chart-states"), days, [
      { key: "success", color: "#1f9d55", label: "Success" },
      { key: "fail", color: "#d64545", label: "Fail" },
      { key: "indeterminate", color: "#9aa3af", label: "Indeterminate" },
    ], "count");
    stackedBars(byId("chart-cost"), days, [{ key: "cost", color: "#2f6fed", label: "cost" }], "usd");
    stackedBars(byId("chart-tokens"), days, [
      { key: "prompt", color: "#6d5bd0", label: "prompt tokens" },
      { key: "completion", color: "#b4a9ef", label: "completion tokens" },
    ], "count");
    hbars(byId("chart-models"), data.models.slice(0, 8).map((m) => ({
      label: m.model === null ? "(no model)" : m.model,
      value: m.cost_nanos / 1e9,
      note: `${m.calls} calls` + (m.unknown_cost_calls ? `, ${m.unknown_cost_calls} unpriced` : ""),
    })), "usd");
  }

  document.addEventListener("DOMContentLoaded", render);
})();
