// The hetflow dashboard page: #/ lists the runs (journals), #/run/N shows one run's panels. Every panel comes from
// /api/runs/N/panels (the registry in panels.py) and is drawn by the renderer of its kind; while the run goes on the
// page asks again every second (a panel's `every`). Everything is built with DOM calls (text, never HTML).
"use strict";

const STATE_ORDER = ["done", "running", "failed", "skipped", "cancelled"];
let timer = null;
let view = null; // what the current route polls

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v);
  }
  for (const c of children) if (c !== null && c !== undefined) node.append(c);
  return node;
}

async function getJSON(path) {
  const response = await fetch(path, { credentials: "same-origin" });
  const body = await response.json();
  if (!response.ok) throw new Error(body.error || response.statusText);
  return body;
}

function say(text) {
  document.getElementById("status-line").textContent = text || "";
}

function fmt(x) {
  if (x === null || x === undefined) return "";
  if (typeof x === "number" && !Number.isInteger(x)) return x.toFixed(2);
  return String(x);
}

function stackedBar(total, parts) {
  const bar = el("div", { class: "bar" });
  for (const [state, n] of parts) {
    if (n > 0 && total > 0) bar.append(el("span", { class: "s-" + state, style: `width:${(100 * n) / total}%`, title: `${n} ${state}` }));
  }
  return bar;
}

// ---- renderers by panel kind -------------------------------------------------------------------------------------
const renderers = {
  table(body, panel, data) {
    body.replaceChildren();
    if (data.note) body.append(el("p", { class: "note", text: data.note }));
    const head = el("tr", {}, ...data.columns.map((c) => el("th", { text: c })));
    const rows = data.rows.map((row) => {
      const tr = el("tr", { "data-row": String(row[0]) });
      row.forEach((cell, i) => tr.append(el("td", { class: typeof cell === "number" ? "num" : "", "data-col": data.columns[i], text: fmt(cell) })));
      if (data.bars) {
        const parts = data.bars.parts.map((i) => [data.columns[i], row[i]]);
        tr.append(el("td", {}, stackedBar(row[data.bars.total], parts)));
      }
      return tr;
    });
    if (data.bars) head.append(el("th", { text: "" }));
    body.append(el("table", { id: "table-" + panel.name }, el("thead", {}, head), el("tbody", {}, ...rows)));
  },

  plot(body, panel, data) {
    let div = body.querySelector(".plot");
    if (!div) {
      body.replaceChildren();
      div = el("div", { class: "plot", id: "plot-" + panel.name });
      body.append(div);
    }
    if (!data.data.length) {
      div.textContent = "nothing has run yet";
      return;
    }
    Plotly.react(div, data.data, data.layout, { displaylogo: false, responsive: true });
  },

  tasks(body, panel, data, ctx) {
    if (!body.querySelector(".filters")) {
      const state = el("select", { id: "task-state" }, el("option", { value: "", text: "any state" }), ...data.states.map((s) => el("option", { value: s, text: s })));
      const set = el("select", { id: "task-set" }, el("option", { value: "", text: "any set" }), ...data.sets.map((s) => el("option", { value: s, text: s })));
      const text = el("input", { id: "task-q", type: "search", placeholder: "id or error contains" });
      const more = el("span", { class: "pager" });
      const reload = () => loadTasks(body, ctx.run, 0);
      state.addEventListener("change", reload);
      set.addEventListener("change", reload);
      text.addEventListener("input", reload);
      body.replaceChildren(el("div", { class: "filters" }, state, set, text, more), el("div", { class: "rows" }), el("div", { class: "log-view" }));
    }
    return loadTasks(body, ctx.run, Number(body.dataset.offset || 0));
  },
};

async function loadTasks(body, run, offset) {
  const q = new URLSearchParams({
    state: body.querySelector("#task-state").value,
    set: body.querySelector("#task-set").value,
    q: body.querySelector("#task-q").value,
    offset: String(offset),
    limit: "100",
  });
  const data = await getJSON(`/api/runs/${run}/tasks?${q}`);
  body.dataset.offset = String(offset);
  const columns = ["id", "set", "state", "node", "start", "end", "attempts", "error", "logs"];
  const rows = data.rows.map((t) => {
    const logs = el("td", { class: "logs" });
    for (const a of t.logs) {
      for (const stream of ["out", "err"]) {
        if (a[stream] === undefined) continue;
        logs.append(el("button", { class: "link", "data-log": `${t.id}:${a.attempt}:${stream}`, text: `#${a.attempt} std${stream} (${a[stream]} B)`, onclick: () => showLog(body, run, t.id, a.attempt, stream) }));
      }
    }
    return el("tr", { "data-task": t.id },
      el("td", { text: t.id }), el("td", { text: t.set }), el("td", {}, el("span", { class: "state " + t.state, text: t.state })),
      el("td", { text: t.node || "" }), el("td", { class: "num", text: fmt(t.start) }), el("td", { class: "num", text: fmt(t.end) }),
      el("td", { class: "num", text: String(t.attempts) }), el("td", { class: "error", text: t.error || "" }), logs);
  });
  const table = el("table", { id: "task-table" }, el("thead", {}, el("tr", {}, ...columns.map((c) => el("th", { text: c })))), el("tbody", {}, ...rows));
  body.querySelector(".rows").replaceChildren(table);
  const pager = body.querySelector(".pager");
  pager.replaceChildren(`${data.total} tasks` + (data.total > 100 ? `, from ${offset + 1}` : ""));
  if (offset > 0) pager.append(el("button", { class: "link", text: "previous", onclick: () => loadTasks(body, run, Math.max(0, offset - 100)) }));
  if (offset + 100 < data.total) pager.append(el("button", { class: "link", text: "next", onclick: () => loadTasks(body, run, offset + 100) }));
}

async function showLog(body, run, task, attempt, stream) {
  const target = body.querySelector(".log-view");
  try {
    const q = new URLSearchParams({ task, attempt: String(attempt), stream });
    const log = await getJSON(`/api/runs/${run}/log?${q}`);
    const title = `${task} attempt ${attempt} std${stream}` + (log.truncated ? ` (last ${log.text.length} of ${log.size} bytes)` : "");
    target.replaceChildren(el("h3", { text: title }), el("pre", { class: "log", id: "log-text", text: log.text }));
  } catch (e) {
    target.replaceChildren(el("p", { class: "note", text: e.message }));
  }
}

// ---- pages -----------------------------------------------------------------------------------------------------
async function runsPage() {
  const runs = await getJSON("/api/runs");
  document.getElementById("title").textContent = "runs";
  const columns = ["journal", "workflow", "status", "progress", "done", "failed", "tasks", "elapsed (s)"];
  const rows = runs.map((r) => {
    const c = r.counts || {};
    return el("tr", { "data-run": String(r.id) },
      el("td", {}, el("a", { href: `#/run/${r.id}`, text: r.name })), el("td", { text: r.workflow || "" }),
      el("td", { text: r.problem ? `${r.status}: ${r.problem}` : r.status }),
      el("td", {}, stackedBar(r.total, STATE_ORDER.map((s) => [s, c[s] || 0]))),
      el("td", { class: "num", text: String(c.done || 0) }), el("td", { class: "num", text: String(c.failed || 0) }),
      el("td", { class: "num", text: String(r.total) }), el("td", { class: "num", text: fmt(r.elapsed_s) }));
  });
  document.getElementById("main").replaceChildren(
    el("section", { class: "panel" }, el("h2", { text: "Runs" }),
      el("table", { id: "runs" }, el("thead", {}, el("tr", {}, ...columns.map((c) => el("th", { text: c })))), el("tbody", {}, ...rows))));
  return runs.some((r) => r.live || r.status === "waiting");
}

function summaryBlock(s) {
  const c = s.counts || {};
  const facts = [["status", s.status], ["done", `${c.done || 0} / ${s.total}`], ["running", c.running || 0], ["failed", c.failed || 0],
    ["skipped", c.skipped || 0], ["cancelled", c.cancelled || 0], ["elapsed", `${fmt(s.elapsed_s)} s`], ["runs", (s.runs || []).length]];
  return el("div", { class: "summary", id: "summary" },
    ...facts.map(([k, v]) => el("div", { "data-fact": k }, el("b", { text: String(v) }), k)),
    el("div", { style: "flex:1" }, stackedBar(s.total, STATE_ORDER.map((st) => [st, c[st] || 0]))));
}

async function runPage(run, state) {
  const s = await getJSON(`/api/runs/${run}`);
  document.getElementById("title").textContent = s.workflow ? `${s.workflow} on ${s.platform} (${s.mode}, ${s.policy}) — ${s.name}` : s.name;
  const main = document.getElementById("main");
  if (!state.panels) {
    if (s.status === "waiting") {
      main.replaceChildren(el("p", { class: "note", text: s.problem || "waiting for the run to start" }));
      return true;
    }
    state.panels = await getJSON(`/api/runs/${run}/panels`);
    state.last = {};
    main.replaceChildren(summaryBlock(s), ...state.panels.map((p) => el("section", { class: "panel", id: "panel-" + p.name }, el("h2", { text: p.title }), el("div", { class: "body" }))));
  } else {
    main.querySelector("#summary").replaceWith(summaryBlock(s));
  }
  const now = Date.now();
  const due = state.panels.filter(
    (p) => state.last[p.name] === undefined || (s.live && now - state.last[p.name] >= p.every * 1000 - 50) || state.wasLive,
  );
  await Promise.all(due.map(async (p) => {  // side by side: a slow panel (the simulation) holds up no other
    state.last[p.name] = now;
    const body = main.querySelector(`#panel-${p.name} .body`);
    try {
      const data = await getJSON(`/api/runs/${run}/panels/${p.name}`);
      await renderers[p.kind](body, p, data, { run });
    } catch (e) {
      body.replaceChildren(el("p", { class: "note", text: e.message }));
    }
  }));
  state.wasLive = s.live; // one more refresh of everything once a live run has ended
  return s.live;
}

async function route() {
  const hash = location.hash || "#/";
  const m = hash.match(/^#\/run\/(\d+)$/);
  if (timer) clearTimeout(timer);
  view = { key: hash, state: {} };
  const current = view;
  const tick = async () => {
    let again = false;
    try {
      again = m ? await runPage(m[1], current.state) : await runsPage();
      say("");
    } catch (e) {
      say(e.message);
      again = true;
    }
    if (again && view === current) timer = setTimeout(tick, 1000);
  };
  if (!m && hash === "#/") {
    const runs = await getJSON("/api/runs").catch(() => []);
    if (runs.length === 1 && !location.hash) {
      location.hash = "#/run/0";
      return;
    }
  }
  await tick();
}

window.addEventListener("hashchange", route);
route();
