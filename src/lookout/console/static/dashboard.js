// Draws one generated dashboard: template variables, time range and refresh in the URL (Grafana's names:
// var-<name>, from, to, refresh), every panel's queries through the console's Prometheus proxy.
"use strict";
(function () {
  const cfg = JSON.parse(document.getElementById("dashboard-json").textContent);
  const dash = cfg.dashboard;
  const fmt = window.LookoutUnits.format;
  const MAX_POINTS = 240;
  const RANGES = ["5m", "15m", "30m", "1h", "3h", "6h", "12h", "24h", "2d", "7d", "30d"];
  const REFRESHES = ["", "5s", "10s", "30s", "1m", "5m", "15m"];
  const MIN_REFRESH_SECONDS = 5;
  const PALETTE = ["#5794f2", "#73bf69", "#f2cc0c", "#ff9830", "#b877d9", "#8ab8ff", "#37872d", "#fade2a",
    "#c4162a", "#1f60c4", "#fa6400", "#8f3bb8"];
  const params = new URLSearchParams(location.search);
  const state = {
    from: params.get("from") || dash.timeFrom || "now-6h",
    to: params.get("to") || "now",
    refresh: params.has("refresh") ? params.get("refresh") : dash.refresh || "",
    vars: {},
  };
  let timer = null;
  let generation = 0;
  const plots = [];

  function durationSeconds(text) {
    const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d|w|y)$/.exec(text);
    if (!m) return null;
    const mult = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400, w: 604800, y: 31536000 }[m[2]];
    return parseFloat(m[1]) * mult;
  }
  function timeOf(text, now) {
    if (text === "now") return now;
    const rel = /^now-(.+)$/.exec(text);
    if (rel) { const s = durationSeconds(rel[1]); if (s !== null) return now - s; }
    if (/^\d+$/.test(text)) return parseInt(text, 10) / 1000; // Grafana: epoch milliseconds
    const parsed = Date.parse(text);
    return isNaN(parsed) ? now - 6 * 3600 : parsed / 1000;
  }
  function range() {
    const now = Date.now() / 1000;
    let start = timeOf(state.from, now);
    let end = timeOf(state.to, now);
    if (end <= start) start = end - 3600;
    return { start: start, end: end };
  }
  // A chosen value as a regex inside the query's double-quoted string, as Grafana writes it: the regex's own
  // escapes, then the string's (instance="127.0.0.1:9115" becomes instance=~"127\\.0\\.0\\.1:9115").
  function escapeRegex(v) {
    return v.replace(/[\\.+*?()|[\]{}^$]/g, "\\$&").replace(/[\\"]/g, "\\$&");
  }
  function variableValue(v) {
    if (v.fixed !== null) return v.fixed;
    const chosen = state.vars[v.name] || [];
    if (chosen.length === 0 || chosen.includes("$__all")) return ".*";
    if (chosen.length === 1) return escapeRegex(chosen[0]);
    return "(" + chosen.map(escapeRegex).join("|") + ")";
  }
  function substitute(expr, r, step) {
    const scrape = cfg.scrapeInterval;
    const rateInterval = Math.max(step + scrape, 4 * scrape);
    let out = expr
      .replace(/\$__rate_interval\b|\$\{__rate_interval\}/g, Math.round(rateInterval) + "s")
      .replace(/\$__range\b|\$\{__range\}/g, Math.max(1, Math.round(r.end - r.start)) + "s")
      .replace(/\$__interval\b|\$\{__interval\}/g, Math.round(step) + "s");
    for (const v of dash.variables) {
      const value = variableValue(v);
      out = out.split("${" + v.name + "}").join(value).replace(new RegExp("\\$" + v.name + "\\b", "g"), () => value);
    }
    return out;
  }
  function legendOf(target, metric) {
    if (target.legend) return target.legend.replace(/\{\{\s*([A-Za-z0-9_]+)\s*\}\}/g, (_, k) => metric[k] || "");
    const labels = Object.keys(metric).filter((k) => k !== "__name__").map((k) => k + '="' + metric[k] + '"');
    const name = metric.__name__ || "";
    return labels.length ? name + "{" + labels.join(", ") + "}" : name || target.expr;
  }
  function num(v) { const x = parseFloat(v); return isFinite(x) ? x : null; }

  async function promQuery(call, body) {
    const response = await fetch("/api/prom/" + call, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams(body).toString(),
    });
    let json = null;
    try { json = await response.json(); } catch (e) { json = null; }
    if (!json) throw new Error("the console answered HTTP " + response.status + " without a body");
    if (json.status !== "success") throw new Error(json.error || "query failed");
    return json.data;
  }

  function stepFor(r) {
    return Math.max(cfg.scrapeInterval, Math.ceil((r.end - r.start) / MAX_POINTS));
  }

  async function runTargets(panel, r) {
    const step = stepFor(r);
    return Promise.all(panel.targets.map(async (target) => {
      const expr = substitute(target.expr, r, step);
      const instant = target.instant || panel.type === "stat" || panel.type === "gauge" || panel.type === "bargauge";
      const data = instant
        ? await promQuery("query", { query: expr, time: r.end.toFixed(3) })
        : await promQuery("query_range", { query: expr, start: r.start.toFixed(3), end: r.end.toFixed(3), step: step });
      return { target: target, expr: expr, data: data, step: step };
    }));
  }

  function colorFor(panel, value) {
    let color = null;
    for (const t of panel.thresholds) {
      if (t.value === null || value >= t.value) color = t.color;
    }
    return { green: "#73bf69", red: "#f2495c", yellow: "#fade2a", orange: "#ff9830" }[color] || color || "#ccccdc";
  }
  function policyLine(panel) {
    const steps = panel.thresholds.filter((t) => t.value !== null);
    return steps.length ? steps[0].value : null;
  }

  function instantSeries(results) {
    const out = [];
    for (const res of results) {
      const d = res.data;
      if (d.resultType === "scalar") out.push({ name: "", value: num(d.result[1]) });
      else if (d.resultType === "vector") {
        for (const s of d.result) out.push({ name: legendOf(res.target, s.metric), metric: s.metric, value: num(s.value[1]), ref: res.target.refId });
      } else if (d.resultType === "matrix") {
        for (const s of d.result) {
          const last = s.values.length ? num(s.values[s.values.length - 1][1]) : null;
          out.push({ name: legendOf(res.target, s.metric), metric: s.metric, value: last, ref: res.target.refId });
        }
      }
    }
    return out;
  }

  function drawStat(panel, body, results) {
    const series = instantSeries(results).filter((s) => s.value !== null);
    if (!series.length) return false;
    const wrap = document.createElement("div");
    wrap.className = "stat-values";
    for (const s of series.slice(0, 12)) {
      const item = document.createElement("div");
      item.className = "stat-value";
      item.style.color = colorFor(panel, s.value);
      item.dataset.value = String(s.value);
      item.innerHTML = "<b></b><span></span>";
      item.querySelector("b").textContent = fmt(panel.unit, s.value);
      item.querySelector("span").textContent = series.length > 1 ? s.name : "";
      wrap.appendChild(item);
    }
    body.appendChild(wrap);
    return true;
  }

  function drawTable(panel, body, results) {
    const series = instantSeries(results);
    if (!series.length) return false;
    const labels = new Set();
    const refs = [];
    for (const s of series) {
      Object.keys(s.metric || {}).forEach((k) => { if (k !== "__name__") labels.add(k); });
      if (!refs.includes(s.ref)) refs.push(s.ref);
    }
    const cols = Array.from(labels).sort();
    const rows = new Map();
    for (const s of series) {
      const key = cols.map((c) => (s.metric || {})[c] || "").join("\u0000");
      if (!rows.has(key)) rows.set(key, { labels: cols.map((c) => (s.metric || {})[c] || ""), values: {} });
      rows.get(key).values[s.ref] = s.value;
    }
    const table = document.createElement("table");
    const head = table.createTHead().insertRow();
    for (const c of cols) head.insertCell().textContent = c;
    for (const ref of refs) {
      const t = panel.targets.find((x) => x.refId === ref);
      head.insertCell().textContent = refs.length > 1 && t && t.legend ? t.legend : "Value";
    }
    const tbody = table.createTBody();
    for (const row of rows.values()) {
      const tr = tbody.insertRow();
      for (const l of row.labels) tr.insertCell().textContent = l;
      for (const ref of refs) {
        const cell = tr.insertCell();
        const v = row.values[ref];
        cell.textContent = fmt(panel.unit, v);
        if (v !== undefined && v !== null && panel.thresholds.length) cell.style.color = colorFor(panel, v);
      }
    }
    body.appendChild(table);
    return true;
  }

  function matrixSeries(results) {
    const out = [];
    for (const res of results) {
      if (res.data.resultType !== "matrix") continue;
      for (const s of res.data.result) out.push({ name: legendOf(res.target, s.metric), metric: s.metric, values: s.values });
    }
    return out;
  }

  function drawTimeseries(panel, body, results, r) {
    const series = matrixSeries(results);
    if (!series.length) return false;
    // Prometheus aligns each range query's points to its start: the union of their timestamps is the x axis.
    const xs = Array.from(new Set(series.flatMap((s) => s.values.map((v) => Math.round(v[0]))))).sort((a, b) => a - b);
    const data = [xs];
    let any = false;
    for (const s of series) {
      const byTime = new Map(s.values.map((v) => [Math.round(v[0]), num(v[1])]));
      const ys = xs.map((t) => { const v = byTime.get(Math.round(t)); return v === undefined ? null : v; });
      if (ys.some((v) => v !== null)) any = true;
      data.push(ys);
    }
    if (!any) return false;
    const uSeries = [{}].concat(series.map((s, i) => ({
      label: s.name, stroke: PALETTE[i % PALETTE.length], width: 1.5, spanGaps: false,
      fill: panel.type === "barchart" ? PALETTE[i % PALETTE.length] + "55" : PALETTE[i % PALETTE.length] + "1a",
      paths: panel.type === "barchart" && uPlot.paths.bars ? uPlot.paths.bars({ size: [0.6, 40] }) : undefined,
      value: (u, v) => fmt(panel.unit, v),
    })));
    const policy = policyLine(panel);
    if (policy !== null) {
      data.push(xs.map(() => policy));
      uSeries.push({ label: "policy", stroke: "#f2495c", dash: [6, 4], width: 1, points: { show: false }, value: () => fmt(panel.unit, policy) });
    }
    const height = Math.max(140, panel.height * 30 - 90);
    const opts = {
      width: Math.max(200, body.clientWidth - 4),
      height: height,
      series: uSeries,
      scales: { x: { time: true, range: () => [r.start, r.end] }, y: { range: (u, min, max) => [panel.min !== null && panel.min !== undefined ? panel.min : Math.min(0, min), panel.max !== null && panel.max !== undefined ? panel.max : (max > (min || 0) ? max * 1.05 : (min || 0) + 1)] } },
      axes: [{ stroke: "#9fa7b3", grid: { stroke: "#2c3235" } },
        { stroke: "#9fa7b3", grid: { stroke: "#2c3235" }, size: 70, values: (u, vals) => vals.map((v) => fmt(panel.unit, v)) }],
      legend: { live: true },
      // Drag across a graph to zoom into that span (an absolute range in the URL, as Grafana does).
      cursor: { drag: { x: true, y: false, setScale: false } },
      hooks: { setSelect: [(u) => {
        if (u.select.width < 5) return;
        const a = u.posToVal(u.select.left, "x");
        const b = u.posToVal(u.select.left + u.select.width, "x");
        zoomTo(a, b);
      }] },
    };
    const plot = new uPlot(opts, data, body);
    plots.push({ plot: plot, body: body });
    return true;
  }

  function drawHeatmap(panel, body, results, r) {
    const series = matrixSeries(results).filter((s) => s.metric && s.metric.le !== undefined);
    if (!series.length) return false;
    series.sort((a, b) => parseFloat(a.metric.le) - parseFloat(b.metric.le));
    const times = Array.from(new Set(series.flatMap((s) => s.values.map((v) => v[0])))).sort((a, b) => a - b);
    if (!times.length) return false;
    const grid = series.map((s) => { const m = new Map(s.values.map((v) => [v[0], num(v[1]) || 0])); return times.map((t) => m.get(t) || 0); });
    // Cumulative buckets -> per-bucket counts, as Grafana's heatmap format does.
    for (let b = grid.length - 1; b > 0; b--) for (let i = 0; i < times.length; i++) grid[b][i] = Math.max(0, grid[b][i] - grid[b - 1][i]);
    const max = Math.max(...grid.flat());
    if (!(max > 0)) return false;
    const canvas = document.createElement("canvas");
    const width = Math.max(200, body.clientWidth - 80);
    const height = Math.max(140, panel.height * 30 - 90);
    canvas.width = width; canvas.height = height;
    canvas.className = "heatmap";
    const ctx = canvas.getContext("2d");
    const cw = width / times.length, ch = height / grid.length;
    for (let b = 0; b < grid.length; b++) {
      for (let i = 0; i < times.length; i++) {
        const v = grid[b][i];
        if (v <= 0) continue;
        const a = Math.sqrt(v / max);
        ctx.fillStyle = "rgba(255, 152, 48, " + (0.15 + 0.85 * a).toFixed(3) + ")";
        ctx.fillRect(i * cw, height - (b + 1) * ch, Math.ceil(cw), Math.ceil(ch));
      }
    }
    const wrap = document.createElement("div");
    wrap.className = "heatmap-wrap";
    const axis = document.createElement("div");
    axis.className = "heatmap-axis";
    for (let b = grid.length - 1; b >= 0; b--) {
      const label = document.createElement("div");
      const le = series[b].metric.le;
      label.textContent = le === "+Inf" ? "+Inf" : fmt(panel.unit, parseFloat(le));
      axis.appendChild(label);
    }
    axis.style.height = height + "px";
    wrap.appendChild(axis);
    wrap.appendChild(canvas);
    body.appendChild(wrap);
    return true;
  }

  function setState(el, s, message) {
    el.dataset.state = s;
    const note = el.querySelector(".panel-note");
    note.textContent = message || "";
    note.className = "panel-note " + s;
  }

  async function drawPanel(panel, el, r, gen) {
    const body = el.querySelector(".panel-body");
    if (panel.unsupported) { body.textContent = ""; setState(el, "unsupported", panel.unsupported); return; }
    let results;
    try {
      results = await runTargets(panel, r);
    } catch (err) {
      if (gen !== generation) return;
      body.textContent = "";
      setState(el, "error", "Query failed: " + err.message);
      return;
    }
    if (gen !== generation) return;
    el.dataset.queries = JSON.stringify(results.map((x) => x.expr));
    body.textContent = "";
    let drawn;
    if (panel.type === "stat" || panel.type === "gauge" || panel.type === "bargauge") drawn = drawStat(panel, body, results);
    else if (panel.type === "table") drawn = drawTable(panel, body, results);
    else if (panel.type === "heatmap") drawn = drawHeatmap(panel, body, results, r);
    else drawn = drawTimeseries(panel, body, results, r);
    if (drawn) setState(el, "data", "");
    else if (panel.noValue) setState(el, "nodata", panel.noValue); // Grafana's noValue: what the panel needs
    else setState(el, "nodata", "No data in this time range" + (panel.description ? ": " + panel.description : "."));
  }

  function buildPanels() {
    const root = document.getElementById("panels");
    root.textContent = "";
    dash.panels.forEach((panel) => {
      if (panel.type === "row") {
        const h = document.createElement("h2");
        h.className = "row-title";
        h.textContent = panel.title;
        root.appendChild(h);
        return;
      }
      const el = document.createElement("section");
      el.className = "panel panel-" + panel.type;
      el.style.gridColumn = "span " + Math.min(24, panel.width || 12);
      el.dataset.title = panel.title;
      el.dataset.type = panel.type;
      el.dataset.state = "loading";
      el.innerHTML = '<h3 class="panel-title"></h3><div class="panel-body"></div><div class="panel-note"></div>';
      el.querySelector(".panel-title").textContent = panel.title;
      if (panel.description) el.querySelector(".panel-title").title = panel.description;
      panel.el = el;
      root.appendChild(el);
    });
  }

  function refresh() {
    generation += 1;
    const gen = generation;
    const r = range();
    plots.splice(0).forEach((p) => p.plot.destroy());
    const status = document.getElementById("status");
    status.textContent = "";
    const work = dash.panels.filter((p) => p.type !== "row").map((p) => {
      p.el.dataset.state = "loading";
      return drawPanel(p, p.el, r, gen);
    });
    Promise.all(work).then(() => {
      if (gen !== generation) return;
      const failed = dash.panels.filter((p) => p.el && p.el.dataset.state === "error");
      if (failed.length) {
        status.className = "problem";
        status.setAttribute("role", "alert");
        status.textContent = failed.length + " panel(s) could not be queried: " + failed[0].el.querySelector(".panel-note").textContent;
      }
      document.body.dataset.rendered = String(gen);
    });
  }

  function writeUrl() {
    const p = new URLSearchParams();
    for (const v of dash.variables) {
      if (v.fixed !== null) p.append("var-" + v.name, v.fixed);
      else for (const value of state.vars[v.name] || ["$__all"]) p.append("var-" + v.name, value);
    }
    p.set("from", state.from);
    p.set("to", state.to);
    if (state.refresh) p.set("refresh", state.refresh);
    history.replaceState(null, "", location.pathname + "?" + p.toString());
    document.querySelectorAll("a[data-keep-vars]").forEach((a) => {
      a.search = "?" + p.toString();
    });
  }

  function schedule() {
    if (timer) clearInterval(timer);
    timer = null;
    const s = durationSeconds(state.refresh || "");
    // A shared link's refresh=1ms must not re-run every query continuously (Grafana's minimum is 5s too).
    if (s) timer = setInterval(refresh, Math.max(s, MIN_REFRESH_SECONDS) * 1000);
  }

  async function loadOptions(v, select) {
    const r = range();
    const match = substitute(v.match, r, stepFor(r));
    const url = "/api/labels/" + encodeURIComponent(v.labelName) + "?" + new URLSearchParams({ match: match, start: r.start.toFixed(0), end: r.end.toFixed(0) });
    let values = [];
    try {
      const response = await fetch(url);
      const json = await response.json();
      if (json.status === "success") values = json.data;
    } catch (e) { values = []; }
    const chosen = state.vars[v.name] || ["$__all"];
    select.textContent = "";
    if (v.includeAll) select.add(new Option("All", "$__all", false, chosen.includes("$__all")));
    for (const value of new Set(values.concat(chosen.filter((c) => c !== "$__all")))) select.add(new Option(value, value, false, chosen.includes(value)));
  }

  function control(labelText, input) {
    const label = document.createElement("label");
    label.textContent = labelText + " ";
    label.appendChild(input);
    document.getElementById("controls").appendChild(label);
  }

  function buildControls() {
    // The controls act on change; the form itself never submits (no inline handler: the page policy allows none).
    document.getElementById("controls").addEventListener("submit", (event) => event.preventDefault());
    for (const v of dash.variables) {
      const given = params.getAll("var-" + v.name);
      if (v.fixed === null) state.vars[v.name] = given.length ? given : ["$__all"];
      if (v.fixed !== null) {
        const input = document.createElement("input");
        input.value = v.fixed; input.disabled = true; input.name = "var-" + v.name;
        control(v.label, input);
      }
    }
    const selects = [];
    for (const v of dash.variables.filter((x) => x.fixed === null)) {
      const select = document.createElement("select");
      select.name = "var-" + v.name;
      select.dataset.variable = v.name;
      control(v.label, select);
      selects.push([v, select]);
    }
    // Options load beside the panels' queries: the panels read the variables from the URL, not the options.
    Promise.all(selects.map(([v, select]) => loadOptions(v, select))).then(() => { document.body.dataset.options = "1"; });
    for (const [v, select] of selects) {
      select.addEventListener("change", async () => {
        state.vars[v.name] = [select.value];
        writeUrl();
        // Later variables depend on earlier ones (instance on service): reload their options.
        for (const [w, other] of selects) if (other !== select) await loadOptions(w, other);
        refresh();
      });
    }
    const rangeSelect = document.createElement("select");
    rangeSelect.name = "range";
    const current = /^now-(.+)$/.exec(state.from);
    const options = RANGES.slice();
    if (current && state.to === "now" && !options.includes(current[1])) options.push(current[1]);
    for (const d of options) rangeSelect.add(new Option("Last " + d, d, false, !!current && current[1] === d && state.to === "now"));
    rangeSelect.add(new Option("Custom (from URL or zoom)", "", !(current && state.to === "now"), !(current && state.to === "now")));
    rangeSelect.addEventListener("change", () => {
      if (!rangeSelect.value) return;
      state.from = "now-" + rangeSelect.value; state.to = "now";
      writeUrl(); refresh();
    });
    control("Time range", rangeSelect);
    const refreshSelect = document.createElement("select");
    refreshSelect.name = "refresh";
    for (const d of REFRESHES) refreshSelect.add(new Option(d ? "every " + d : "off", d, false, d === state.refresh));
    if (!REFRESHES.includes(state.refresh)) {
      const s = durationSeconds(state.refresh);
      const shown = s !== null && s < MIN_REFRESH_SECONDS ? " (at least " + MIN_REFRESH_SECONDS + "s)" : "";
      refreshSelect.add(new Option("every " + state.refresh + shown, state.refresh, true, true));
    }
    refreshSelect.addEventListener("change", () => { state.refresh = refreshSelect.value; writeUrl(); schedule(); });
    control("Auto-refresh", refreshSelect);
    const now = document.createElement("button");
    now.type = "button"; now.textContent = "Refresh";
    now.addEventListener("click", refresh);
    document.getElementById("controls").appendChild(now);
  }

  function zoomTo(start, end) {
    state.from = String(Math.round(start * 1000));
    state.to = String(Math.round(end * 1000));
    const select = document.querySelector("select[name=range]");
    if (select) select.value = "";
    writeUrl();
    refresh();
  }

  let resizeTimer = null;
  window.addEventListener("resize", () => {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(() => plots.forEach((p) => p.plot.setSize({ width: Math.max(200, p.body.clientWidth - 4), height: p.plot.height })), 200);
  });

  buildPanels();
  buildControls();
  writeUrl();
  refresh();
  schedule();
})();
