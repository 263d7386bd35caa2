// Session page: the inspector (one event's details) and the formatting both it and the
// waterfall use, shared as window.AgentopsSession. Loaded before waterfall.js.
// Every value from the server is placed with textContent: agent text is never markup.
"use strict";
(function () {
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
  // Rounded to 4 significant digits, at least cents (the exact amount goes in a title).
  function fmtCost(nanos, source) {
    if (nanos === null || nanos === undefined) return source && source !== "none" ? "unknown" : "–";
    if (nanos === 0) return "$0.00";
    const usd = Math.abs(nanos) / 1e9, sign = nanos < 0 ? "-" : "";
    if (usd >= 1000) return `${sign}$${Math.round(usd).toLocaleString("en-US")}`;
    const decimals = Math.max(2, 4 - (Math.floor(Math.log10(usd)) + 1));
    let [whole, frac] = usd.toFixed(Math.min(decimals, 9)).split(".");
    frac = (frac || "").replace(/0+$/, "").padEnd(2, "0");
    return `${sign}$${whole}.${frac}`;
  }

  function kv(parent, rows) {
    const dl = h("dl", null, "kv");
    for (const [k, v] of rows) {
      if (v === null || v === undefined || v === "") continue;
      const dd = v instanceof Node ? h("dd") : h("dd", v);
      if (v instanceof Node) dd.appendChild(v);
      dl.append(h("dt", k), dd);
    }
    parent.appendChild(dl);
    return dl;
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

  // A link to another event of the session: `open(id)` shows it.
  function eventLink(id, text, open) {
    if (!id) return null;
    if (!open) return text;
    const a = h("a", text, "event-link");
    a.href = `?event=${encodeURIComponent(id)}`;
    a.addEventListener("click", (e) => { e.preventDefault(); open(id); });
    return a;
  }

  // Fill `box` with the event at `url`; resolves to the event's JSON. `opts.agents` names the
  // agents ([{id, name}]); `opts.open(id)` opens a linked event (parent, an error's trigger).
  async function inspect(url, box, opts) {
    const agents = new Map(((opts && opts.agents) || []).map((a) => [a.id, a.name]));
    const open = opts && opts.open;
    box.textContent = "Loading…";
    const ev = (await getJSON(url)).data;
    box.textContent = "";
    box.appendChild(h("h3", `${ev.event_type}: ${ev.name || ev.model || ev.id}`));
    const cost = ev.cost_nanos === null ? `unknown (${ev.cost_source})`
      : `${usdFromNanos(ev.cost_nanos)} (${ev.cost_source})`;
    const facts = kv(box, [
      ["Name", ev.name], ["Event id", ev.id], ["Parent event", eventLink(ev.parent_id, ev.parent_id, open)],
      ["Started", ev.init_timestamp], ["Duration", fmtMs(ev.duration_ms)],
      ["Agent", ev.agent_id ? (agents.get(ev.agent_id) ? `${agents.get(ev.agent_id)} (${ev.agent_id})` : ev.agent_id) : null],
      ["Model", ev.model],
      ["Provider", ev.provider], ["Prompt tokens", ev.prompt_tokens],
      ["Completion tokens", ev.completion_tokens], ["Cache read tokens", ev.cache_read_tokens],
      ["Reasoning tokens", ev.reasoning_tokens], ["Cost", ev.event_type === "llms" ? cost : null],
    ]);
    facts.id = "inspector-facts";
    if (ev.event_type === "llms") {
      chat(box, "Prompt", ev.prompt, "user");
      chat(box, "Completion", ev.completion, "assistant");
    }
    if (ev.event_type === "errors") {
      const trigger = ev.trigger_event_id
        ? eventLink(ev.trigger_event_id, `${ev.trigger_event_type || "event"} ${ev.trigger_event_id}`, open) : null;
      const facts2 = kv(box, [["Error type", ev.error_type], ["Code", ev.code], ["Details", ev.details],
        ["Triggered by", trigger]]);
      facts2.id = "inspector-error";
      block(box, "Traceback / logs", ev.logs);
    } else {
      block(box, "Logs", ev.logs);
    }
    if (ev.event_type === "actions") kv(box, [["Screenshot", ev.screenshot]]);
    block(box, "Params", ev.params);
    block(box, "Returns", ev.returns);
    const raw = h("details");
    raw.append(h("summary", "Raw event JSON"), h("pre", pretty(ev)));
    box.appendChild(raw);
    return ev;
  }

  window.AgentopsSession = { h, getJSON, fmtMs, usdFromNanos, fmtCost, inspect };
})();
