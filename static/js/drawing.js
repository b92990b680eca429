/**
 * @file The drawing page (static/drawing.html#<board>): the board `draw:<board>` live for everyone.
 *
 * Two canvases: `base` paints the strokes the server has stored (the `state` frame, then every stored
 * event with a higher seq: docs/boards.md); `overlay` paints what is not stored yet — the stroke under
 * the pointer, our finished strokes until their echo, and the strokes others are drawing right now
 * (relayed `stroke_points`). Coordinates are the board's own (1600 × 1000), scaled to the canvas.
 * Nicknames reach the DOM through `textContent` only.
 */

import { newId } from "./client.js";
import { DRAWING } from "./drawing-model.js";
import { Replica } from "./replica.js";
import { $, BOARD_NAME, connectBoard, el, ensureNickname, hue, mountBoard, nameFromHash, notice as showNotice } from "./ui.js";

const W = 1600;
const H = 1000;
const MAX_POINTS = 2000; // per stroke (the server's limit): a longer line goes on as a new stroke
const CHUNK = 500; // points per relayed frame (the server's limit)
const SEND_MS = 40; // how often the points of the stroke in progress go out
const CURSOR_MS = 50;
const LIVE_TTL_MS = 10000; // a stroke in progress that stops moving is dropped (its author left)
const COLORS = ["#1f2937", "#e11d48", "#f97316", "#facc15", "#16a34a", "#0ea5e9", "#4f46e5", "#a855f7"];

const boardName = nameFromHash(BOARD_NAME, "main");
const channel = `draw:${boardName}`;

// -- state --------------------------------------------------------------------------------------------

/** The server's board: the `state` frame, then every stored event (drawing-model.js). */
const server = new Replica(DRAWING);
/** The stored strokes, in painting order; null before the first `state` frame. @returns {any[]|null} */
const stored = () => server.board?.strokes ?? null;
/** Our finished strokes not acknowledged yet: op id → stroke. */
const mine = new Map();
/** Others' strokes in progress: stroke id → {points, color, width, tool, clientId, at}. */
const live = new Map();
/** Others' cursors: client id → {node, at}. */
const cursors = new Map();
/** The stroke under our pointer. */
let current = null;
const style = { tool: "pen", color: COLORS[0], width: 4 };
const PEN_KEY = "collab.drawing.pen";

/** The pen kept from an earlier visit: only a valid colour and a width within the slider's range. */
function loadPen(min, max) {
  let kept = {};
  try {
    kept = JSON.parse(localStorage.getItem(PEN_KEY) ?? "{}") ?? {};
  } catch {
    kept = {};
  }
  const color = typeof kept.color === "string" && /^#[0-9a-f]{6}$/i.test(kept.color) ? kept.color : null;
  const width = Number.isInteger(kept.width) && kept.width >= min && kept.width <= max ? kept.width : null;
  return { color, width };
}

function savePen() {
  try {
    localStorage.setItem(PEN_KEY, JSON.stringify({ color: style.color, width: style.width }));
  } catch {
    // Storage full or refused (private mode): the pen is simply not kept.
  }
}
let client = null;

// -- painting -----------------------------------------------------------------------------------------

const base = /** @type {HTMLCanvasElement} */ ($("base"));
const overlay = /** @type {HTMLCanvasElement} */ ($("overlay"));
let scale = 1;

function resize() {
  const box = $("stage").getBoundingClientRect();
  const ratio = window.devicePixelRatio || 1;
  scale = box.width / W;
  for (const canvas of [base, overlay]) {
    canvas.width = Math.max(1, Math.round(box.width * ratio));
    canvas.height = Math.max(1, Math.round(box.height * ratio));
    canvas.getContext("2d").setTransform(scale * ratio, 0, 0, scale * ratio, 0, 0);
  }
  paintBase();
  paintOverlay();
}

/** One stroke: a smooth curve through its points (a dot for one point). */
function paint(ctx, stroke, { preview = false } = {}) {
  const points = stroke.points;
  if (!points?.length) return;
  ctx.save();
  ctx.lineCap = "round";
  ctx.lineJoin = "round";
  ctx.lineWidth = stroke.width;
  let colour = stroke.color;
  if (stroke.tool === "eraser") {
    // Stored, it cuts through what is under it; in progress (on the overlay) it shows as paper.
    if (preview) colour = "#ffffff";
    else ctx.globalCompositeOperation = "destination-out";
  } else if (stroke.tool === "highlighter") {
    ctx.globalAlpha = 0.35;
  }
  ctx.strokeStyle = colour;
  ctx.fillStyle = colour;
  ctx.beginPath();
  if (points.length === 1) {
    ctx.arc(points[0][0], points[0][1], stroke.width / 2, 0, Math.PI * 2);
    ctx.fill();
  } else {
    ctx.moveTo(points[0][0], points[0][1]);
    for (let i = 1; i < points.length - 1; i += 1) {
      const mx = (points[i][0] + points[i + 1][0]) / 2;
      const my = (points[i][1] + points[i + 1][1]) / 2;
      ctx.quadraticCurveTo(points[i][0], points[i][1], mx, my);
    }
    const last = points[points.length - 1];
    ctx.lineTo(last[0], last[1]);
    ctx.stroke();
  }
  ctx.restore();
}

function clear(ctx) {
  ctx.save();
  ctx.setTransform(1, 0, 0, 1, 0, 0);
  ctx.clearRect(0, 0, ctx.canvas.width, ctx.canvas.height);
  ctx.restore();
}

function paintBase() {
  const ctx = base.getContext("2d");
  clear(ctx);
  for (const stroke of stored() ?? []) paint(ctx, stroke);
  showCount();
}

/** How many strokes are stored, on the overlay (for the tests) and in `#stroke-count`. */
function showCount() {
  const strokes = stored();
  overlay.dataset.strokes = String(strokes?.length ?? 0);
  overlay.dataset.seq = String(server.seq);
  $("stroke-count").textContent = strokes ? `${strokes.length} stroke${strokes.length === 1 ? "" : "s"}` : "";
}

let overlayQueued = false;
function paintOverlay() {
  overlayQueued = false;
  const ctx = overlay.getContext("2d");
  clear(ctx);
  for (const stroke of live.values()) paint(ctx, stroke, { preview: true });
  for (const stroke of mine.values()) paint(ctx, stroke, { preview: true });
  if (current) paint(ctx, current, { preview: true });
  overlay.dataset.live = String(live.size);
}

function queueOverlay() {
  if (overlayQueued) return;
  overlayQueued = true;
  requestAnimationFrame(paintOverlay);
}

// -- drawing with the pointer -------------------------------------------------------------------------

function boardPoint(event) {
  const box = overlay.getBoundingClientRect();
  const x = ((event.clientX - box.left) / box.width) * W;
  const y = ((event.clientY - box.top) / box.height) * H;
  return [Math.round(x * 10) / 10, Math.round(y * 10) / 10];
}

function begin(point) {
  current = { id: newId(), points: [point], color: style.color, width: style.width, tool: style.tool, sent: 0 };
}

/** The stroke is done: stored by the server, shown from the overlay until its echo arrives. */
function finish() {
  const stroke = current;
  current = null;
  if (!stroke) return;
  const frame = {
    type: "stroke_add",
    stroke: stroke.id,
    points: stroke.points,
    color: stroke.color,
    width: stroke.width,
    tool: stroke.tool,
  };
  const op = client.request(frame, channel);
  mine.set(op.id, stroke);
  op.ack.then(
    () => {
      if (mine.delete(op.id)) queueOverlay();
    },
    (error) => {
      if (mine.delete(op.id)) queueOverlay();
      notice(`The stroke was not kept: ${error.frame?.message ?? error.message}`);
    },
  );
  queueOverlay();
}

/** The points added since the last send go to the others (relayed, not stored). */
function sendProgress() {
  if (!current || current.sent >= current.points.length) return;
  const points = current.points.slice(current.sent, current.sent + CHUNK);
  const sent = client.send({
    type: "stroke_points",
    stroke: current.id,
    points,
    color: current.color,
    width: current.width,
    tool: current.tool,
  });
  if (sent) current.sent += points.length;
}

let lastCursor = 0;
function sendCursor(point) {
  const now = performance.now();
  if (now - lastCursor < CURSOR_MS) return;
  lastCursor = now;
  client?.send({ type: "cursor", x: point[0], y: point[1] });
}

/** The topmost stored stroke near a point, or null. */
function strokeAt([x, y]) {
  const strokes = stored() ?? [];
  const slack = 6 / scale;
  for (let i = strokes.length - 1; i >= 0; i -= 1) {
    const stroke = strokes[i];
    const reach = stroke.width / 2 + slack;
    const points = stroke.points;
    for (let j = 0; j < points.length; j += 1) {
      const [ax, ay] = points[j];
      const [bx, by] = points[Math.min(j + 1, points.length - 1)];
      const dx = bx - ax;
      const dy = by - ay;
      const t = dx || dy ? Math.max(0, Math.min(1, ((x - ax) * dx + (y - ay) * dy) / (dx * dx + dy * dy))) : 0;
      if (Math.hypot(x - (ax + t * dx), y - (ay + t * dy)) <= reach) return stroke;
    }
  }
  return null;
}

/** The pointer drawing the stroke in progress: a second finger (or a palm) on a touch screen draws nothing. */
let drawingPointer = null;

function wirePointer() {
  overlay.addEventListener("pointerdown", (event) => {
    if (event.button !== 0 || !event.isPrimary || !stored()) return;
    const point = boardPoint(event);
    if (style.tool === "remove") {
      const hit = strokeAt(point);
      if (hit) request({ type: "stroke_erase", stroke: hit.id });
      return;
    }
    overlay.setPointerCapture(event.pointerId);
    drawingPointer = event.pointerId;
    begin(point);
    queueOverlay();
  });
  overlay.addEventListener("pointermove", (event) => {
    if (!event.isPrimary) return;
    const point = boardPoint(event);
    sendCursor(point);
    if (!current || event.pointerId !== drawingPointer) return;
    const last = current.points[current.points.length - 1];
    if (Math.hypot(point[0] - last[0], point[1] - last[1]) < 1) return;
    current.points.push(point);
    if (current.points.length >= MAX_POINTS) {
      // The server keeps at most MAX_POINTS per stroke: the line goes on as the next one.
      sendProgress();
      finish();
      begin(point);
    }
    queueOverlay();
  });
  const end = (event) => {
    if (!current || event.pointerId !== drawingPointer) return;
    sendProgress();
    finish();
  };
  overlay.addEventListener("pointerup", end);
  overlay.addEventListener("pointercancel", end);
  setInterval(sendProgress, SEND_MS);
  // Strokes in progress whose author went quiet (left, or lost the connection) are dropped.
  setInterval(() => {
    const now = performance.now();
    let changed = false;
    for (const [id, stroke] of live) {
      if (now - stroke.at > LIVE_TTL_MS) {
        live.delete(id);
        changed = true;
      }
    }
    for (const [id, cursor] of cursors) {
      if (now - cursor.at > LIVE_TTL_MS) dropCursor(id);
    }
    if (changed) queueOverlay();
  }, 1000);
}

// -- others' cursors ----------------------------------------------------------------------------------

function showCursor(frame) {
  let cursor = cursors.get(frame.client_id);
  if (!cursor) {
    const node = el("div", "cursor");
    node.style.setProperty("--hue", String(hue(frame.user_id ?? frame.client_id)));
    node.append(el("span", "cursor-dot"), el("span", "cursor-name", frame.nickname ?? "?"));
    $("cursors").append(node);
    cursor = { node, at: 0 };
    cursors.set(frame.client_id, cursor);
  }
  cursor.at = performance.now();
  cursor.node.style.left = `${(frame.x / W) * 100}%`;
  cursor.node.style.top = `${(frame.y / H) * 100}%`;
}

function dropCursor(clientId) {
  cursors.get(clientId)?.node.remove();
  cursors.delete(clientId);
}

// -- commands, notices --------------------------------------------------------------------------------

function request(frame) {
  const op = client.request(frame, channel);
  op.ack.catch((error) => notice(error.frame?.message ?? error.message));
  return op;
}

/** An error shown in `#notice` for a while. @param {string} text */
const notice = (text) => showNotice(text, { ms: 5000 });

function wireToolbar() {
  const tools = [...document.querySelectorAll("#tools .tool")];
  for (const button of tools) {
    button.addEventListener("click", () => {
      style.tool = button.dataset.tool;
      overlay.dataset.tool = style.tool;
      for (const other of tools) other.setAttribute("aria-pressed", String(other === button));
    });
  }
  const colors = $("colors");
  const picker = $("color");
  const swatches = COLORS.map((colour) => {
    const swatch = el("button", "swatch");
    swatch.type = "button";
    swatch.style.setProperty("--swatch", colour);
    swatch.setAttribute("aria-label", `Colour ${colour}`);
    swatch.dataset.color = colour;
    swatch.addEventListener("click", () => pick(colour));
    return swatch;
  });
  colors.prepend(...swatches);
  const pick = (colour) => {
    style.color = colour;
    picker.value = colour;
    for (const swatch of swatches) swatch.setAttribute("aria-pressed", String(swatch.dataset.color === colour));
    savePen();
  };
  const width = $("width");
  const setWidth = (value) => {
    style.width = Number(value);
    width.value = String(value);
    $("width-value").textContent = `${width.value} px`;
    savePen();
  };
  // The pen (colour and width) is kept for the next visit, on this browser, for every board.
  const saved = loadPen(Number(width.min), Number(width.max));
  picker.addEventListener("input", () => pick(picker.value));
  width.addEventListener("input", () => setWidth(width.value));
  pick(saved.color ?? style.color);
  setWidth(saved.width ?? style.width);
  $("undo").addEventListener("click", () => request({ type: "undo" }));
  document.addEventListener("keydown", (event) => {
    if ((event.ctrlKey || event.metaKey) && event.key === "z" && !event.shiftKey) {
      event.preventDefault();
      request({ type: "undo" });
    }
  });
  const clearButton = $("clear");
  let armed = null;
  clearButton.addEventListener("click", () => {
    // Two clicks, no `confirm()`: clearing removes everyone's strokes.
    if (armed) {
      clearTimeout(armed);
      armed = null;
      clearButton.textContent = "Clear board";
      request({ type: "clear" });
      return;
    }
    clearButton.textContent = "Click again to clear";
    armed = setTimeout(() => {
      armed = null;
      clearButton.textContent = "Clear board";
    }, 3000);
  });
}

// -- the connection -----------------------------------------------------------------------------------

function onFrame(frame) {
  if (frame.channel !== channel) return;
  switch (frame.type) {
    case "state":
      server.receive(frame);
      for (const id of live.keys()) if (stored().some((s) => s.id === id)) live.delete(id);
      paintBase();
      queueOverlay();
      return;
    case "stroke_points": {
      let stroke = live.get(frame.stroke);
      if (!stroke) {
        if (stored()?.some((s) => s.id === frame.stroke)) return; // stored already
        stroke = { points: [], color: frame.color, width: frame.width, tool: frame.tool, clientId: frame.client_id };
        live.set(frame.stroke, stroke);
      }
      stroke.points.push(...frame.points);
      stroke.at = performance.now();
      queueOverlay();
      return;
    }
    case "cursor":
      showCursor(frame);
      return;
    case "cursor_left":
      dropCursor(frame.client_id);
      for (const [id, stroke] of live) if (stroke.clientId === frame.client_id) live.delete(id);
      queueOverlay();
      return;
  }
  const changed = server.receive(frame);
  if (changed === null) return;
  if (frame.id && mine.delete(frame.id)) queueOverlay();
  if (changed === "added") {
    const strokes = stored();
    live.delete(frame.stroke); // stored now: painted from the base canvas
    paint(base.getContext("2d"), strokes[strokes.length - 1]); // on top: no need to repaint the rest
    showCount();
    queueOverlay();
  } else {
    paintBase();
  }
}

async function main() {
  mountBoard("Drawing", boardName, "Others see it next to your cursor.");
  wireToolbar();
  wirePointer();
  new ResizeObserver(resize).observe($("stage"));
  await ensureNickname();
  client = connectBoard(channel, onFrame);
}

main();
