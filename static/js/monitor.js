/**
 * @file The monitor page (static/monitor.html): the server's figures of the last minutes as charts,
 * drawn by hand on canvases, and its alerts.
 *
 * Channel `monitor` (docs/monitor.md): on joining, `metrics_history` brings the samples the server
 * keeps (about ten minutes), then a `metrics` frame arrives every second. Alerts are stored events:
 * the page joins with `since=0`, so every past `alert` arrives, in order, before the live ones. A
 * reload draws the same charts again at once from the history.
 *
 * Several nodes (server processes on one PostgreSQL database): every node's `metrics` frames reach
 * this page (they are relayed through the broker), each naming its `node`. The charts, tiles and
 * alerts are those of the node this page's socket reached (the `node` of `metrics_history`); a table
 * shows every node's latest figures and their totals once frames of more than one node arrive.
 */

import { $, createClient, el, mountChrome, storedNickname } from "./ui.js";

const KEEP_SECONDS = 15 * 60;
const MIB = 1024 * 1024;

// -- formatting ---------------------------------------------------------------------------------------

function number(value, digits = 1) {
  if (value == null || Number.isNaN(value)) return "–";
  const abs = Math.abs(value);
  if (abs >= 1e9) return `${(value / 1e9).toFixed(digits)}G`;
  if (abs >= 1e6) return `${(value / 1e6).toFixed(digits)}M`;
  if (abs >= 1e4) return `${(value / 1e3).toFixed(digits)}k`;
  if (Number.isInteger(value)) return String(value);
  return value.toFixed(abs < 1 ? digits + 1 : digits);
}

/** An axis label: round steps, thousands as k. */
function axisLabel(value) {
  if (value >= 1e6) return `${number(value / 1e6, 1)}M`;
  if (value >= 1e3) return `${number(value / 1e3, 1)}k`;
  return number(value, 1);
}

const mb = (bytes) => (bytes == null ? null : bytes / MIB);
const clock = (seconds) => new Date(seconds * 1000).toLocaleTimeString([], { hour12: false });

// -- what is charted ------------------------------------------------------------------------------------

const COLORS = ["--accent", "--warn", "--ok", "--bad"];

/**
 * Each chart: its series (a label and how to read the value from a sample), the unit, and the alert
 * whose threshold it shows as a dashed line.
 */
const CHARTS = [
  { id: "connections", title: "Connections", series: [["sockets", (s) => s.connections], ["documents", (s) => s.doc_connections]], alert: "connections" },
  { id: "messages", title: "Messages per second", series: [["in", (s) => s.messages_in_per_s], ["out", (s) => s.messages_out_per_s]], alert: "messages_in_per_s" },
  { id: "latency", title: "Append latency", unit: "ms", series: [["p50", (s) => s.append_p50_ms], ["p99", (s) => s.append_p99_ms]], alert: "append_p99_ms" },
  { id: "appends", title: "Appends per second", series: [["events", (s) => s.appends_per_s]] },
  { id: "batch", title: "Batch size", unit: "events", series: [["mean", (s) => s.batch_size]] },
  { id: "lag", title: "Event-loop lag", unit: "ms", series: [["worst", (s) => s.loop_lag_ms]], alert: "loop_lag_ms" },
  { id: "cpu", title: "CPU", unit: "%", series: [["process", (s) => s.cpu_percent]], alert: "cpu_percent" },
  { id: "memory", title: "Memory", unit: "MB", series: [["resident", (s) => mb(s.memory_bytes)]], alert: "memory_mb" },
  { id: "events", title: "Stored events", series: [["kept", (s) => s.stored_events]] },
  { id: "database", title: "Database size", unit: "MB", series: [["on disk", (s) => mb(s.database_bytes)]], alert: "database_mb" },
];

const TILES = [
  ["Connections", (s) => number(s.connections), "connections"],
  ["Channels", (s) => number(s.channels), "channels"],
  ["In / s", (s) => number(s.messages_in_per_s), "messages_in_per_s"],
  ["Out / s", (s) => number(s.messages_out_per_s), "messages_out_per_s"],
  ["Append p99", (s) => (s.append_p99_ms == null ? "–" : `${number(s.append_p99_ms)} ms`), "append_p99_ms"],
  ["Loop lag", (s) => `${number(s.loop_lag_ms)} ms`, "loop_lag_ms"],
  ["CPU", (s) => `${number(s.cpu_percent)} %`, "cpu_percent"],
  ["Memory", (s) => `${number(mb(s.memory_bytes))} MB`, "memory_mb"],
  ["Stored events", (s) => number(s.stored_events), null],
  ["Database", (s) => (s.database_bytes == null ? "–" : `${number(mb(s.database_bytes))} MB`), "database_mb"],
];

// -- state ------------------------------------------------------------------------------------------------

/** Samples, oldest first. @type {any[]} */
let samples = [];
let interval = 1;
let windowSeconds = 600;
/** @type {Record<string, number>} */
let thresholds = {};
/** Alerts firing now, by metric (from the samples, which the server computes). */
let firing = new Map();
/** @type {Map<string, {figure: HTMLElement, canvas: HTMLCanvasElement, now: HTMLElement}>} */
const charts = new Map();
/** The node this page's socket reached (its charts); null until the history says. */
let home = null;
/** Every node's latest sample, by node. @type {Map<string, any>} */
const nodes = new Map();

function addSamples(incoming) {
  const last = samples.length ? samples[samples.length - 1].time : -Infinity;
  const fresh = incoming.filter((s) => typeof s?.time === "number");
  if (fresh.length && fresh[0].time <= last) {
    // A history after a reconnect: it overlaps what we have; merge by time.
    const byTime = new Map(samples.map((s) => [s.time, s]));
    for (const s of fresh) byTime.set(s.time, s);
    samples = [...byTime.values()].sort((a, b) => a.time - b.time);
  } else {
    samples.push(...fresh);
  }
  const oldest = (samples.length ? samples[samples.length - 1].time : 0) - KEEP_SECONDS;
  while (samples.length && samples[0].time < oldest) samples.shift();
  $("charts").dataset.samples = String(samples.length);
  scheduleDraw();
}

// -- drawing ----------------------------------------------------------------------------------------------

let drawPending = false;

function scheduleDraw() {
  if (drawPending) return;
  drawPending = true;
  requestAnimationFrame(() => {
    drawPending = false;
    drawAll();
  });
}

function drawAll() {
  const latest = samples[samples.length - 1];
  renderTiles(latest);
  if (latest) $("updated").textContent = `Last sample ${clock(latest.time)} · every ${interval} s`;
  const style = getComputedStyle(document.documentElement);
  const palette = {
    text: style.getPropertyValue("--muted").trim() || "#6b7280",
    line: style.getPropertyValue("--line").trim() || "#e5e7eb",
    bad: style.getPropertyValue("--bad").trim() || "#dc2626",
    series: COLORS.map((name) => style.getPropertyValue(name).trim() || "#4f46e5"),
  };
  for (const chart of CHARTS) {
    const parts = charts.get(chart.id);
    // The latest value of each series ("in 12 · out 30").
    const values = chart.series.map(([label, read]) => {
      const value = latest ? read(latest) : null;
      const shown = value == null ? "–" : number(value);
      return chart.series.length > 1 ? `${label} ${shown}` : shown;
    });
    parts.now.textContent = values.join(" · ") + (chart.unit && latest ? ` ${chart.unit}` : "");
    drawChart(parts.canvas, chart, palette, latest?.time ?? Date.now() / 1000);
  }
}

/** A round step for about `count` grid lines up to `max`. */
function niceStep(max, count) {
  const raw = max / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const fraction = raw / power;
  return (fraction <= 1 ? 1 : fraction <= 2 ? 2 : fraction <= 5 ? 5 : 10) * power;
}

function drawChart(canvas, chart, palette, now) {
  const dpr = window.devicePixelRatio || 1;
  const width = canvas.clientWidth;
  const height = canvas.clientHeight;
  if (!width || !height) return;
  if (canvas.width !== Math.round(width * dpr) || canvas.height !== Math.round(height * dpr)) {
    canvas.width = Math.round(width * dpr);
    canvas.height = Math.round(height * dpr);
  }
  const ctx = canvas.getContext("2d");
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, width, height);
  ctx.font = "11px system-ui, sans-serif";

  const start = now - windowSeconds;
  const visible = samples.filter((s) => s.time >= start - interval);
  const threshold = chart.alert ? thresholds[chart.alert] : undefined;
  let max = 0;
  for (const s of visible) {
    for (const [, read] of chart.series) {
      const v = read(s);
      if (v != null && v > max) max = v;
    }
  }
  if (threshold !== undefined && threshold <= max * 3) max = Math.max(max, threshold);
  const step = niceStep(max > 0 ? max * 1.1 : 1, 4);
  const top = Math.max(step, Math.ceil((max * 1.05) / step) * step);

  const left = 44;
  const right = 8;
  const plotTop = 6;
  const bottom = 18;
  const plotWidth = width - left - right;
  const plotHeight = height - plotTop - bottom;
  const x = (t) => left + ((t - start) / windowSeconds) * plotWidth;
  const y = (v) => plotTop + plotHeight - (v / top) * plotHeight;

  // Grid and labels.
  ctx.strokeStyle = palette.line;
  ctx.fillStyle = palette.text;
  ctx.lineWidth = 1;
  ctx.textAlign = "right";
  ctx.textBaseline = "middle";
  for (let v = 0; v <= top + step / 2; v += step) {
    const py = Math.round(y(v)) + 0.5;
    ctx.beginPath();
    ctx.moveTo(left, py);
    ctx.lineTo(width - right, py);
    ctx.stroke();
    ctx.fillText(axisLabel(v), left - 6, py);
  }
  ctx.textAlign = "center";
  ctx.textBaseline = "top";
  const minutes = windowSeconds / 60;
  const tick = minutes <= 1 ? 15 : minutes <= 5 ? 60 : 120;
  for (let ago = 0; ago <= windowSeconds; ago += tick) {
    const px = x(now - ago);
    const label = ago === 0 ? "now" : ago < 60 ? `-${ago}s` : `-${ago / 60}m`;
    ctx.fillText(label, Math.min(Math.max(px, left + 10), width - right - 12), plotTop + plotHeight + 4);
  }

  // The threshold, dashed.
  if (threshold !== undefined && threshold <= top) {
    ctx.save();
    ctx.strokeStyle = palette.bad;
    ctx.setLineDash([5, 4]);
    ctx.beginPath();
    ctx.moveTo(left, y(threshold));
    ctx.lineTo(width - right, y(threshold));
    ctx.stroke();
    ctx.restore();
  }

  // The series: a gap where a value is missing or samples are apart (a restart, a stalled server).
  ctx.save();
  ctx.beginPath();
  ctx.rect(left, plotTop - 2, plotWidth, plotHeight + 4);
  ctx.clip();
  chart.series.forEach(([, read], index) => {
    ctx.strokeStyle = palette.series[index % palette.series.length];
    ctx.lineWidth = 1.6;
    ctx.lineJoin = "round";
    ctx.beginPath();
    let previous = null;
    for (const s of visible) {
      const v = read(s);
      if (v == null) {
        previous = null;
        continue;
      }
      const px = x(s.time);
      const py = y(v);
      if (previous === null || s.time - previous > interval * 3.5) ctx.moveTo(px, py);
      else ctx.lineTo(px, py);
      previous = s.time;
    }
    ctx.stroke();
    // The newest value, as a dot: visible even while the line is a few pixels long.
    const last = visible.length ? visible[visible.length - 1] : null;
    const value = last ? read(last) : null;
    if (value != null) {
      ctx.fillStyle = ctx.strokeStyle;
      ctx.beginPath();
      ctx.arc(x(last.time), y(value), 3, 0, Math.PI * 2);
      ctx.fill();
    }
  });
  ctx.restore();
}

function buildCharts() {
  const template = /** @type {HTMLTemplateElement} */ ($("chart-template"));
  for (const chart of CHARTS) {
    const figure = /** @type {HTMLElement} */ (template.content.firstElementChild.cloneNode(true));
    figure.dataset.chart = chart.id;
    figure.querySelector(".chart-title").textContent = chart.unit ? `${chart.title} (${chart.unit})` : chart.title;
    const canvas = figure.querySelector("canvas");
    canvas.id = `chart-${chart.id}`;
    canvas.setAttribute("role", "img");
    canvas.setAttribute("aria-label", `${chart.title} over the last minutes`);
    const legend = figure.querySelector(".legend");
    if (chart.series.length > 1) {
      chart.series.forEach(([label], index) => {
        const item = el("span", null, label);
        item.style.setProperty("--swatch", `var(${COLORS[index % COLORS.length]})`);
        legend.append(item);
      });
    }
    $("charts").append(figure);
    charts.set(chart.id, { figure, canvas, now: figure.querySelector(".chart-now") });
  }
  new ResizeObserver(scheduleDraw).observe($("charts"));
}

function renderTiles(latest) {
  const tiles = TILES.map(([label, format, alert]) => {
    const tile = el("div", "tile");
    if (alert && firing.has(alert)) tile.classList.add("firing");
    tile.append(el("div", "tile-label", label), el("div", "tile-value", latest ? format(latest) : "–"));
    return tile;
  });
  $("tiles").replaceChildren(...tiles);
}

// -- nodes ------------------------------------------------------------------------------------------------

/** A node not heard from for this many intervals has gone (stopped, killed): it leaves the table. */
const NODE_GONE_INTERVALS = 10;

/** The table's columns: a label, how to read a sample, how to total the nodes' values. */
const sum = (values) => values.reduce((a, b) => a + (b ?? 0), 0);
const worst = (values) => (values.some((v) => v != null) ? Math.max(...values.filter((v) => v != null)) : null);
const NODE_COLUMNS = [
  ["Connections", (s) => s.connections, sum, number],
  ["Documents", (s) => s.doc_connections, sum, number],
  ["In / s", (s) => s.messages_in_per_s, sum, number],
  ["Out / s", (s) => s.messages_out_per_s, sum, number],
  ["Appends / s", (s) => s.appends_per_s, sum, number],
  ["Append p99 ms", (s) => s.append_p99_ms, worst, number],
  ["Loop lag ms", (s) => s.loop_lag_ms, worst, number],
  ["CPU %", (s) => s.cpu_percent, sum, number],
  ["Memory MB", (s) => mb(s.memory_bytes), sum, (v) => number(v, 0)],
  ["Alerts", (s) => (s.alerts ?? []).length, sum, number],
];

function renderNodes() {
  const newest = Math.max(...[...nodes.values()].map((s) => s.time));
  for (const [node, s] of nodes) {
    if (node !== home && s.time < newest - interval * NODE_GONE_INTERVALS) nodes.delete(node);
  }
  const section = $("nodes");
  section.hidden = nodes.size < 2;
  if (section.hidden) return;
  const order = [...nodes.keys()].sort((a, b) => (a === home ? -1 : b === home ? 1 : a.localeCompare(b)));
  const head = el("tr");
  head.append(el("th", null, "Node"), ...NODE_COLUMNS.map(([label]) => el("th", null, label)));
  const rows = order.map((node) => {
    const s = nodes.get(node);
    const row = el("tr");
    row.dataset.node = node;
    const name = el("td", null, node === home ? `${node} (this page)` : node);
    name.title = s.process ?? "";
    row.append(name, ...NODE_COLUMNS.map(([, read, , format]) => el("td", null, format(read(s)))));
    if ((s.alerts ?? []).length) row.classList.add("firing");
    return row;
  });
  const total = el("tr", "total");
  total.dataset.total = String(order.length);
  total.append(
    el("th", null, `All ${order.length} nodes`),
    ...NODE_COLUMNS.map(([, read, combine, format]) => el("th", null, format(combine(order.map((n) => read(nodes.get(n))))))),
  );
  const table = el("table", "nodes-table");
  const body = el("tbody");
  body.append(...rows);
  const foot = el("tfoot");
  foot.append(total);
  const thead = el("thead");
  thead.append(head);
  table.append(thead, body, foot);
  section.replaceChildren(el("h2", null, "Nodes"), table);
}

// -- alerts -----------------------------------------------------------------------------------------------

function alertItem(alert, time) {
  const item = el("li", "alert");
  item.dataset.state = alert.state;
  const head = el("div", "alert-head");
  head.append(el("span", "alert-metric", String(alert.metric ?? "?")), el("span", "alert-state", String(alert.state)));
  const when = new Date(time);
  item.append(
    head,
    el("div", "alert-message", String(alert.message ?? "")),
    el(
      "div",
      "alert-time",
      // Whose alert, when it is another node's (every node's alerts are the channel's history).
      (Number.isNaN(when.getTime()) ? "" : when.toLocaleString([], { hour12: false })) +
        (alert.node && alert.node !== home ? ` · ${alert.node}` : ""),
    ),
  );
  return item;
}

function renderFiring() {
  const list = [...firing.values()].map((alert) => alertItem(alert, alert.since));
  $("firing").replaceChildren(...list);
  $("firing-empty").hidden = list.length > 0;
}

function onAlert(frame) {
  if (frame.channel !== "monitor") return;
  const item = alertItem(frame, frame.ts);
  item.dataset.seq = String(frame.seq);
  $("alerts").prepend(item);
  $("alerts-empty").hidden = true;
}

// -- the connection ----------------------------------------------------------------------------------------

function start() {
  const client = createClient(
    {
      channel: "monitor",
      since: 0, // every stored alert, then the live stream
      // An earlier visit's token (a JWT or a guest token) if there is one; otherwise a passing guest
      // whose token is not kept (a guest token carries its name, and this page asks for none).
      nickname: storedNickname() || "monitor",
      refreshToken: () => null,
    },
    { body: false, keepToken: false },
  );
  client.on("metrics_history", (frame) => {
    interval = frame.interval || 1;
    thresholds = frame.thresholds ?? {};
    firing = new Map((frame.firing ?? []).map((alert) => [alert.metric, alert]));
    home = frame.node ?? frame.process ?? null;
    $("process").textContent = frame.node && frame.node !== frame.process ? `${frame.node} · ${frame.process}` : frame.process ?? "";
    renderFiring();
    addSamples(frame.samples ?? []);
  });
  client.on("metrics", (frame) => {
    const node = frame.node ?? frame.process ?? home;
    nodes.set(node, frame);
    renderNodes();
    // The charts, tiles and alerts are this page's node's (another node's figures are in the table).
    if (home !== null && node !== home) return;
    const names = new Set(frame.alerts ?? []);
    let changed = names.size !== firing.size;
    for (const name of names) {
      if (!firing.has(name)) {
        firing.set(name, { metric: name, state: "firing", since: frame.ts, message: `${name} is at or above its threshold` });
        changed = true;
      }
    }
    for (const name of [...firing.keys()]) if (!names.has(name)) firing.delete(name);
    if (changed) renderFiring();
    addSamples([frame]);
  });
  client.on("alert", (frame) => {
    onAlert(frame);
    // Every node's alerts are the channel's history; what fires "now" here is this page's node's.
    if (frame.node && home !== null && frame.node !== home) return;
    if (frame.state === "firing") firing.set(frame.metric, frame);
    else firing.delete(frame.metric);
    renderFiring();
  });
  client.connect();
}

function main() {
  const process = el("span", "muted");
  process.id = "process";
  process.title = "The node (server process) these charts come from";
  mountChrome({ title: "Monitor", extras: [process] });
  const nodesSection = el("section", "nodes");
  nodesSection.id = "nodes";
  nodesSection.hidden = true;
  nodesSection.setAttribute("aria-label", "Every node");
  $("tiles").after(nodesSection);
  buildCharts();
  renderTiles(undefined);
  renderFiring();
  for (const button of document.querySelectorAll("[data-window]")) {
    button.addEventListener("click", () => {
      windowSeconds = Number(button.dataset.window);
      for (const other of document.querySelectorAll("[data-window]")) {
        other.setAttribute("aria-pressed", String(other === button));
      }
      scheduleDraw();
    });
  }
  start();
}

main();
