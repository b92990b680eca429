/**
 * @file The chat page (static/chat.html): rooms, presence, messages, read receipts.
 *
 * Everything a user typed (messages, nicknames, room names) reaches the DOM through `textContent`
 * only. The room in view is the socket's home channel (`chat.html#<room>`); switching rooms replaces
 * the socket, and a room seen before resumes after its last seq with its messages kept in memory.
 */

import {
  $,
  avatar,
  createClient,
  el,
  ensureNickname,
  mountChrome,
  nameFromHash,
  notice,
  setTitle,
  showMe,
  storedNickname,
  trackPresence,
} from "./ui.js";

/** Messages loaded when a room is opened for the first time (from the room list's head seq). */
const HISTORY = 200;
/** Messages kept per room in memory and in the DOM. */
const KEEP = 500;
/** Consecutive messages of one user within this time share one header. */
const GROUP_MS = 5 * 60 * 1000;
const ROOM_NAME = /^[\w.\-@]{1,200}$/;

/** @param {string} ts @returns {string} */
function shortTime(ts) {
  const date = new Date(ts);
  if (Number.isNaN(date.getTime())) return "";
  const time = date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  if (date.toDateString() === new Date().toDateString()) return time;
  return `${date.toLocaleDateString([], { day: "numeric", month: "short" })}, ${time}`;
}

const roomFromHash = () => nameFromHash(ROOM_NAME, "general");

// -- page state -----------------------------------------------------------------------------

/** @type {import("./client.js").CollabClient} */
let client;
let room = roomFromHash();
/** @type {{id: string, name: string}|null} */
let me = null;
/** Room list entries by name (from `rooms` frames). */
const rooms = new Map();
/** Per room, its stored messages in seq order. @type {Map<string, object[]>} */
const history = new Map();
/** Per room, messages typed but not acknowledged yet: id → content. @type {Map<string, Map<string, string>>} */
const unsent = new Map();
/** Per room, each user's read position: user id → {nickname, seq}. */
const receipts = new Map();
/** Per room, the read position this page has sent. */
const readSent = new Map();
/** Who is in the room in view: user id → user (kept by `trackPresence` once connected). */
let people = new Map();
let maxVisible = 0;
let readTimer = null;

const observer = new IntersectionObserver(
  (entries) => {
    for (const entry of entries) {
      if (entry.isIntersecting) maxVisible = Math.max(maxVisible, Number(entry.target.dataset.seq));
    }
    scheduleRead();
  },
  { threshold: 0.5 },
);

// -- rendering ------------------------------------------------------------------------------

function renderTitle() {
  setTitle(`#${room}`, `#${room} · collab`);
  $("composer-input").placeholder = `Message #${room}`;
}

function renderRooms() {
  const list = $("rooms");
  const names = [...rooms.keys()];
  if (!rooms.has(room)) names.push(room);
  names.sort();
  list.replaceChildren(
    ...names.map((name) => {
      const info = rooms.get(name);
      const link = el("a", name === room ? "room active" : "room");
      link.href = `#${encodeURIComponent(name)}`;
      link.dataset.room = name;
      if (name === room) link.setAttribute("aria-current", "page");
      link.append(el("span", "room-hash", info?.private ? "🔒" : "#"), el("span", "room-name", name));
      const unread = name === room ? 0 : (info?.unread ?? 0);
      if (unread > 0) {
        const badge = el("span", "badge", unread > 99 ? "99+" : String(unread));
        badge.title = `${unread} unread`;
        link.append(badge);
      }
      if (info?.online) link.title = `${info.online} online`;
      const item = el("li");
      item.append(link);
      return item;
    }),
  );
}

function renderPresence() {
  const users = [...people.values()].sort((a, b) => a.name.localeCompare(b.name));
  $("online-count").textContent = String(users.length);
  $("presence").replaceChildren(
    ...users.map((user) => {
      const item = el("li", "person");
      item.dataset.user = user.id;
      item.append(avatar(user.name, user.id, { hidden: true }), el("span", "person-name", user.name));
      if (me && user.id === me.id) item.append(el("span", "you", "you"));
      return item;
    }),
  );
}

/** @param {HTMLElement} scroller */
function nearBottom(scroller) {
  return scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 80;
}

function scrollToBottom() {
  const scroller = $("scroller");
  scroller.scrollTop = scroller.scrollHeight;
}

/** @param {object} frame a stored `message` event */
function messageNode(frame, previous) {
  const item = el("li", "msg");
  item.dataset.seq = String(frame.seq);
  item.dataset.user = frame.user_id ?? "";
  if (me && frame.user_id === me.id) item.classList.add("mine");
  const sameAuthor =
    previous &&
    previous.user_id === frame.user_id &&
    new Date(frame.ts).getTime() - new Date(previous.ts).getTime() < GROUP_MS;
  if (sameAuthor) item.classList.add("cont");
  const body = el("div", "msg-body");
  const meta = el("div", "msg-meta");
  const time = el("time", "msg-time", shortTime(frame.ts));
  time.dateTime = frame.ts ?? "";
  time.title = frame.ts ? new Date(frame.ts).toLocaleString() : "";
  meta.append(el("span", "nick", frame.nickname ?? "?"), time);
  body.append(meta, el("div", "text", frame.content ?? ""));
  item.append(avatar(frame.nickname ?? "?", frame.user_id ?? "", { hidden: true }), body);
  return item;
}

function renderMessages() {
  const list = $("messages");
  observer.disconnect();
  const frames = history.get(room) ?? [];
  let previous = null;
  list.replaceChildren(
    ...frames.map((frame) => {
      const node = messageNode(frame, previous);
      previous = frame;
      observer.observe(node);
      return node;
    }),
  );
  renderPending();
  renderSeen();
  $("empty").hidden = frames.length > 0;
  scrollToBottom();
}

/** @param {object} frame */
function appendMessage(frame) {
  const frames = history.get(frame.channel) ?? [];
  history.set(frame.channel, frames);
  const previous = frames.at(-1) ?? null;
  frames.push(frame);
  if (frames.length > KEEP) frames.splice(0, frames.length - KEEP);
  if (frame.channel !== room) return;
  const scroller = $("scroller");
  const stick = nearBottom(scroller) || (me && frame.user_id === me.id);
  const list = $("messages");
  const node = messageNode(frame, previous);
  list.append(node);
  observer.observe(node);
  while (list.childElementCount > KEEP) {
    observer.unobserve(list.firstElementChild);
    list.firstElementChild.remove();
  }
  $("empty").hidden = true;
  renderSeen();
  if (stick) scrollToBottom();
}

function renderPending() {
  const mine = unsent.get(room) ?? new Map();
  const waiting = client?.state !== "open";
  $("pending").replaceChildren(
    ...[...mine].map(([id, entry]) => {
      const item = el("li", entry.error ? "msg mine unsent failed" : "msg mine unsent");
      item.dataset.id = id;
      const body = el("div", "msg-body");
      const status = entry.error ? `Not sent: ${entry.error}` : waiting ? "Waiting for connection…" : "Sending…";
      const meta = el("div", "msg-meta");
      meta.append(el("span", "nick", me?.name ?? nickname()), el("span", "msg-time", status));
      body.append(meta, el("div", "text", entry.content));
      item.append(avatar(me?.name ?? nickname(), me?.id ?? "", { hidden: true }), body);
      return item;
    }),
  );
}

function renderSeen() {
  const frames = history.get(room) ?? [];
  const last = frames.at(-1);
  const seenBy = [];
  if (last) {
    for (const [userId, receipt] of receipts.get(room) ?? []) {
      if (userId !== me?.id && userId !== last.user_id && receipt.seq >= last.seq) seenBy.push(receipt.nickname);
    }
  }
  $("seen").textContent = seenBy.length ? `Seen by ${seenBy.sort().join(", ")}` : "";
}

/** @param {string} text */
function systemNote(text) {
  const scroller = $("scroller");
  const stick = nearBottom(scroller);
  $("messages").append(el("li", "note", text));
  if (stick) scrollToBottom();
}

// -- read receipts --------------------------------------------------------------------------

function scheduleRead() {
  clearTimeout(readTimer);
  readTimer = setTimeout(sendRead, 250);
}

function sendRead() {
  if (document.visibilityState !== "visible" || !client) return;
  if (maxVisible > (readSent.get(room) ?? 0) && client.markRead(maxVisible, room)) readSent.set(room, maxVisible);
}

// -- the connection ---------------------------------------------------------------------------

const nickname = storedNickname;

function start() {
  // The stored nickname and token (a stored guest token the server no longer accepts: come back as a
  // new guest); first visit of the room in view: its history (the head is unknown before the first `welcome`).
  client = createClient({ channel: room, since: 0 });
  client.on("statechange", () => renderPending());
  client.on("welcome", (frame) => {
    me = frame.user;
    showMe(me, { hidden: true });
    people.clear();
    renderPresence();
    // A read position that could not be sent while away goes now.
    readSent.delete(room);
    scheduleRead();
  });
  client.on("rooms", (frame) => {
    rooms.clear();
    for (const info of frame.rooms) rooms.set(info.name, info);
    renderRooms();
  });
  // A room someone created (the server sends it alone rather than the whole list again).
  client.on("room_added", (frame) => {
    rooms.set(frame.room.name, frame.room);
    renderRooms();
  });
  // Rooms this socket is not in move too: the server pushes their new heads (at most once a second).
  client.on("heads", (frame) => {
    let unknown = false;
    for (const [name, head] of Object.entries(frame.heads)) {
      const info = rooms.get(name);
      if (!info) unknown = true; // a room that came to exist: fetch the list again
      if (!info || head <= info.seq) continue;
      info.seq = head;
      info.unread = Math.max(0, head - (info.last_read ?? 0));
    }
    if (unknown) client.listRooms();
    renderRooms();
  });
  client.on("message", (frame) => {
    appendMessage(frame);
    const mine = unsent.get(frame.channel);
    if (frame.id && mine?.delete(frame.id) && frame.channel === room) renderPending();
  });
  people = trackPresence(client, () => room, renderPresence);
  client.on("system", (frame) => {
    if (frame.channel !== room || !frame.content) return;
    // One's own comings and goings are no news to oneself.
    if (me && Array.isArray(frame.users) && frame.users.includes(me.id)) return;
    systemNote(frame.content);
  });
  client.on("read", (frame) => {
    const positions = receipts.get(frame.channel) ?? new Map();
    receipts.set(frame.channel, positions);
    positions.set(frame.user_id, { nickname: frame.nickname, seq: frame.seq });
    if (frame.channel === room) renderSeen();
  });
  client.on("private", (frame) => {
    if (me && frame.user_id === me.id) return;
    notice(`Direct message from ${frame.nickname}: ${frame.content}`, { kind: "info" });
  });
  client.on("error", (frame) => {
    // Errors of a message are shown on that message (see send()).
    if (!frame.id) notice(frame.message || frame.code);
  });
  client.on("fatal", ({ reason }) => notice(`The server closed the connection: ${reason}`));
  client.connect();
}

function switchRoom(name) {
  if (name === room) return;
  // What was read in the room we leave is told before its socket goes.
  clearTimeout(readTimer);
  sendRead();
  room = name;
  people.clear();
  maxVisible = 0;
  renderTitle();
  renderRooms();
  renderPresence();
  renderMessages();
  const head = rooms.get(name)?.seq;
  client.switchChannel(name, { since: head != null ? Math.max(0, head - HISTORY) : 0 });
}

function send(content) {
  const op = client.message(content, { channel: room });
  const target = room;
  const mine = unsent.get(target) ?? new Map();
  unsent.set(target, mine);
  mine.set(op.id, { content });
  renderPending();
  scrollToBottom();
  op.ack.then(
    () => {
      // Also when the echo was a duplicate (a retry answered with the stored event) and so not shown.
      if (mine.delete(op.id) && target === room) renderPending();
    },
    (error) => {
      const entry = mine.get(op.id);
      if (!entry) return;
      entry.error = error.message;
      if (target === room) renderPending();
    },
  );
}

// -- wiring ---------------------------------------------------------------------------------

function wireComposer() {
  const input = $("composer-input");
  const grow = () => {
    input.style.height = "auto";
    input.style.height = `${Math.min(input.scrollHeight, 200)}px`;
  };
  $("composer").addEventListener("submit", (event) => {
    event.preventDefault();
    const content = input.value;
    if (!content.trim()) return;
    send(content);
    input.value = "";
    grow();
    input.focus();
  });
  input.addEventListener("input", grow);
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      $("composer").requestSubmit();
    }
  });
}

function wireRooms() {
  window.addEventListener("hashchange", () => switchRoom(roomFromHash()));
  $("new-room").addEventListener("submit", (event) => {
    event.preventDefault();
    const input = $("new-room-name");
    const name = input.value.trim().replace(/^#/, "");
    const error = $("new-room-error");
    if (!ROOM_NAME.test(name)) {
      error.textContent = "Letters, digits and . _ - @ only (up to 200).";
      error.hidden = false;
      return;
    }
    error.hidden = true;
    if (!rooms.has(name)) client.createRoom(name);
    input.value = "";
    location.hash = encodeURIComponent(name);
  });
}

async function main() {
  mountChrome({ title: `#${room}`, notice: true, nickname: "Others see it next to your messages." });
  renderTitle();
  renderRooms();
  wireComposer();
  wireRooms();
  document.addEventListener("visibilitychange", scheduleRead);
  await ensureNickname();
  start();
  $("composer-input").focus();
}

main();
