/**
 * @file The chat page (static/chat.html): rooms, direct messages, presence, messages, read receipts.
 *
 * Everything a user typed (messages, nicknames, room names) reaches the DOM through `textContent`
 * only. The room in view is the socket's home channel (`chat.html#<room>`); switching rooms replaces
 * the socket, and a room seen before resumes after its last seq with its messages kept in memory.
 * A direct-message conversation (`chat.html#dm:<user id>`) is shown over the same socket: its channel
 * `dm:<a>:<b>` is an extra subscription; the conversations are the server's list (`list_dms`) merged
 * with those this browser keeps in localStorage (static/js/chat-dms.js). Messages not acknowledged yet
 * are kept in localStorage too and sent again, with their ids, on the next visit (see docs/client.md).
 */

import { Conversations, DMS_FOLLOWED, DMS_KEEP } from "./chat-dms.js";
import { newId } from "./client.js";
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
/** Where the messages not acknowledged yet wait across visits (see {@link readOutbox}). */
const OUTBOX_KEY = "collab.chat.outbox";

/** @param {string} ts @returns {string} */
function shortTime(ts) {
  const date = new Date(ts);
  if (Number.isNaN(date.getTime())) return "";
  const time = date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  if (date.toDateString() === new Date().toDateString()) return time;
  return `${date.toLocaleDateString([], { day: "numeric", month: "short" })}, ${time}`;
}

const roomFromHash = () => nameFromHash(ROOM_NAME, "general");

/**
 * What the hash shows: a room (`#general`) or a conversation with a user (`#dm:<user id>`; a room
 * name never has a `:`).
 * @returns {{kind: "room", name: string} | {kind: "dm", peer: string}}
 */
function viewFromHash() {
  let raw = "";
  try {
    raw = decodeURIComponent(location.hash.slice(1)).trim();
  } catch {
    // A malformed %-escape: the default room.
  }
  if (raw.startsWith("dm:") && raw.length > 3 && raw.length <= 203) return { kind: "dm", peer: raw.slice(3) };
  return { kind: "room", name: roomFromHash() };
}

/** @param {string} peer @returns {string} the hash of the conversation with `peer` */
const dmHash = (peer) => `dm:${encodeURIComponent(peer)}`;

// -- page state -----------------------------------------------------------------------------

/** @type {import("./client.js").CollabClient} */
let client;
/** What is in view: a room or a conversation. */
let view = viewFromHash();
/** The socket's home channel: the room in view, or the last one while a conversation is. */
let room = view.kind === "room" ? view.name : "general";
/** @type {{id: string, name: string}|null} */
let me = null;
/** Room list entries by name (from `rooms` frames). */
const rooms = new Map();
/** Per room, its stored messages in seq order. @type {Map<string, object[]>} */
const history = new Map();
/** Per view (see {@link viewKey}), messages typed but not acknowledged yet: id → {content, error?}. */
const unsent = new Map();
/** Direct-message conversations by the other user's id. */
const dms = new Conversations(() => (view.kind === "dm" ? view.peer : null));
/** DM channels whose last messages this page has asked for. */
const dmsLoaded = new Set();
/** Messages of a previous visit not acknowledged then: sent again on the first `welcome`. */
let leftover = [];
/** A private room this page asked for: opened once the server lists it. */
let creating = null;
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

// -- views, conversations, the outbox ---------------------------------------------------------

/** @returns {string} the key of the view in `unsent`: the room's name, or `dm:<peer>` */
const viewKey = () => (view.kind === "room" ? view.name : `dm:${view.peer}`);

/** @returns {string|null} the channel whose messages are in view (null: a conversation not begun) */
const viewChannel = () => (view.kind === "room" ? view.name : (dms.get(view.peer)?.channel ?? null));

/**
 * Ask for the last messages of a conversation (once a page): its channel is followed again from
 * `HISTORY` messages back. Until then, a followed channel brings only what is new.
 */
function loadConversation(dm) {
  if (!dm.channel || !client || dmsLoaded.has(dm.channel)) return;
  dmsLoaded.add(dm.channel);
  client.unsubscribe(dm.channel);
  client.forget(dm.channel);
  history.delete(dm.channel);
  client.subscribe(dm.channel, { since: Math.max(0, dm.seq - HISTORY) });
}

/** Follow the conversations' channels: what comes while away counts as unread. */
function followConversations() {
  for (const dm of dms.recent(DMS_FOLLOWED)) {
    if (view.kind === "dm" && view.peer === dm.peer) loadConversation(dm);
    else client.subscribe(dm.channel, { since: dm.seq });
  }
}

/**
 * The messages not acknowledged yet, as stored: `{id, user, content, room}` (a room message) or
 * `{id, user, content, peer}` (a direct message). localStorage rather than IndexedDB: a few short
 * entries, and its writes are done when `setItem` returns, so a message typed just before the tab
 * closes is kept (IndexedDB's transaction may not commit during unload).
 * @returns {object[]}
 */
function readOutbox() {
  try {
    const entries = JSON.parse(localStorage.getItem(OUTBOX_KEY) ?? "[]");
    return Array.isArray(entries)
      ? entries.filter((e) => e && typeof e.id === "string" && typeof e.content === "string")
      : [];
  } catch {
    return [];
  }
}

/** @param {(entries: object[]) => object[]} change */
function updateOutbox(change) {
  try {
    const entries = change(readOutbox());
    if (entries.length) localStorage.setItem(OUTBOX_KEY, JSON.stringify(entries));
    else localStorage.removeItem(OUTBOX_KEY);
  } catch {
    // Storage refused: the message still goes while the page is open.
  }
}

/** @param {object} entry an outbox entry @returns {string} its view key */
const entryKey = (entry) => (typeof entry.peer === "string" ? `dm:${entry.peer}` : entry.room);

/**
 * Send (or send again) an outbox entry and show it as pending until the server acknowledges it.
 * @param {object} entry
 */
function issue(entry) {
  let op;
  if (typeof entry.peer === "string") {
    op = client.privateMessage(`user:${entry.peer}`, entry.content, { id: entry.id });
  } else {
    // A message of another room than the socket's: the socket follows that room until it is stored.
    const elsewhere = entry.room !== client.channel;
    if (elsewhere) client.subscribe(entry.room);
    op = client.message(entry.content, { channel: entry.room, id: entry.id });
    if (elsewhere) {
      op.ack.then(
        () => {
          if (entry.room === client.channel) return;
          client.unsubscribe(entry.room);
          client.forget(entry.room);
          history.delete(entry.room);
        },
        () => {},
      );
    }
  }
  const key = entryKey(entry);
  const mine = unsent.get(key) ?? new Map();
  unsent.set(key, mine);
  mine.set(op.id, { content: entry.content });
  op.ack.then(
    () => {
      updateOutbox((entries) => entries.filter((e) => e.id !== op.id));
      // Also when the echo was a duplicate (a retry answered with the stored event) and so not shown.
      if (mine.delete(op.id) && key === viewKey()) renderPending();
    },
    (error) => {
      updateOutbox((entries) => entries.filter((e) => e.id !== op.id));
      const shown = mine.get(op.id);
      if (!shown) return;
      shown.error = error.message;
      if (key === viewKey()) renderPending();
    },
  );
  return op;
}

// -- rendering ------------------------------------------------------------------------------

function renderTitle() {
  const label = view.kind === "room" ? `#${view.name}` : `@${dms.get(view.peer)?.name ?? view.peer}`;
  setTitle(label, `${label} · collab`);
  $("composer-input").placeholder = `Message ${label}`;
}

function renderRooms() {
  const list = $("rooms");
  const names = [...rooms.keys()];
  if (!rooms.has(room)) names.push(room);
  names.sort();
  const shown = view.kind === "room" ? view.name : null;
  list.replaceChildren(
    ...names.map((name) => {
      const info = rooms.get(name);
      const link = el("a", name === shown ? "room active" : "room");
      link.href = `#${encodeURIComponent(name)}`;
      link.dataset.room = name;
      if (name === shown) link.setAttribute("aria-current", "page");
      link.append(el("span", "room-hash", info?.private ? "🔒" : "#"), el("span", "room-name", name));
      const unread = name === shown ? 0 : (info?.unread ?? 0);
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
  renderUnreadTotal();
}

/** @param {HTMLElement} link @param {number} unread */
function addBadge(link, unread) {
  if (unread <= 0) return;
  const badge = el("span", "badge", unread > 99 ? "99+" : String(unread));
  badge.title = `${unread} unread`;
  link.append(badge);
}

function renderDms() {
  // A conversation begun here but with nothing said yet is listed while in view or while a message waits.
  const list = [...dms.values()]
    .filter((dm) => dm.channel || (view.kind === "dm" && view.peer === dm.peer) || unsent.get(`dm:${dm.peer}`)?.size)
    .sort((a, b) => b.at - a.at || a.name.localeCompare(b.name));
  $("dms-empty").hidden = list.length > 0;
  $("dms").replaceChildren(
    ...list.map((dm) => {
      const active = view.kind === "dm" && view.peer === dm.peer;
      const link = el("a", active ? "room dm active" : "room dm");
      link.href = `#${dmHash(dm.peer)}`;
      link.dataset.peer = dm.peer;
      if (active) link.setAttribute("aria-current", "page");
      link.append(avatar(dm.name, dm.peer, { hidden: true }), el("span", "room-name", dm.name));
      addBadge(link, dms.unread(dm));
      const item = el("li");
      item.append(link);
      return item;
    }),
  );
  renderUnreadTotal();
}

/** The rooms button (phones): how many unread messages wait behind it. */
function renderUnreadTotal() {
  let total = 0;
  const shown = view.kind === "room" ? view.name : null;
  for (const [name, info] of rooms) if (name !== shown) total += info.unread ?? 0;
  for (const dm of dms.values()) total += dms.unread(dm);
  const button = $("toggle-rooms");
  if (!button) return;
  button.querySelector(".badge")?.remove();
  addBadge(button, total);
}

function renderMemberChoices() {
  const box = $("new-room-members");
  box.hidden = !$("new-room-private").checked;
  if (box.hidden) return;
  const checked = new Set([...box.querySelectorAll("input:checked")].map((input) => input.value));
  const candidates = new Map();
  for (const dm of dms.values()) candidates.set(dm.peer, dm.name);
  for (const user of people.values()) candidates.set(user.id, user.name);
  if (me) candidates.delete(me.id);
  const sorted = [...candidates].sort((a, b) => a[1].localeCompare(b[1]));
  $("member-none").hidden = sorted.length > 0;
  $("member-choices").replaceChildren(
    ...sorted.map(([id, name]) => {
      const input = el("input");
      input.type = "checkbox";
      input.value = id;
      input.checked = checked.has(id);
      const label = el("label", "member-choice");
      label.append(input, avatar(name, id, { hidden: true }), el("span", "person-name", name));
      const item = el("li");
      item.append(label);
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
      if (me && user.id === me.id) {
        item.append(el("span", "you", "you"));
      } else {
        const write = el("button", "person-dm button-quiet", "Message");
        write.type = "button";
        write.setAttribute("aria-label", `Message ${user.name}`);
        write.addEventListener("click", () => {
          dms.open(user.id, user.name);
          location.hash = dmHash(user.id);
        });
        item.append(write);
      }
      return item;
    }),
  );
  renderMemberChoices();
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
  const channel = viewChannel();
  const frames = (channel && history.get(channel)) || [];
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
  $("empty").textContent =
    view.kind === "dm" ? "No messages yet: only the two of you will see them." : "No messages yet. Say hello!";
  scrollToBottom();
}

/** @param {object} frame */
function appendMessage(frame) {
  const frames = history.get(frame.channel) ?? [];
  history.set(frame.channel, frames);
  const previous = frames.at(-1) ?? null;
  // A conversation asked for again (loadConversation) may bring what a live frame brought already.
  if (previous && previous.seq >= frame.seq) return;
  frames.push(frame);
  if (frames.length > KEEP) frames.splice(0, frames.length - KEEP);
  if (frame.channel !== viewChannel()) return;
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
  const mine = unsent.get(viewKey()) ?? new Map();
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
  const channel = viewChannel();
  const frames = (channel && history.get(channel)) || [];
  const last = frames.at(-1);
  const seenBy = [];
  if (last) {
    for (const [userId, receipt] of receipts.get(channel) ?? []) {
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
  let channel = room;
  if (view.kind === "dm") {
    // Kept here at once (the list's badge), and told to the server once the socket is in the channel.
    const dm = dms.get(view.peer);
    if (!dm?.channel) return;
    if (maxVisible > dm.read) {
      dm.read = maxVisible;
      dms.save();
      renderDms();
    }
    if (!client.joined(dm.channel)) return;
    channel = dm.channel;
  }
  if (maxVisible <= (readSent.get(channel) ?? 0)) return;
  if (client.markRead(maxVisible, channel)) readSent.set(channel, maxVisible);
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
    if (dms.owner !== me.id) {
      dms.load(me.id);
      followConversations();
      renderDms();
      renderTitle();
    }
    // The conversations the server knows: also those begun while no page of this user's was open
    // (and, after a reconnect, while this one was away).
    client.listDms({ limit: DMS_KEEP });
    // What a previous visit could not send goes now, with its ids (stored once however often it
    // arrives); what another user left in this browser is not sent as this one.
    const again = leftover;
    leftover = [];
    for (const entry of again) {
      if (entry.user && entry.user !== me.id) {
        updateOutbox((entries) => entries.filter((e) => e.id !== entry.id));
        unsent.get(entryKey(entry))?.delete(entry.id);
      } else {
        issue(entry);
      }
    }
    renderPending();
    // A read position that could not be sent while away goes now.
    readSent.clear();
    scheduleRead();
  });
  client.on("rooms", (frame) => {
    rooms.clear();
    for (const info of frame.rooms) rooms.set(info.name, info);
    renderRooms();
    if (creating && rooms.has(creating)) {
      const name = creating;
      creating = null;
      location.hash = encodeURIComponent(name);
    }
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
  client.on("dms", (frame) => {
    const learned = dms.merge(frame.dms);
    followConversations();
    dms.save();
    renderDms();
    if (view.kind !== "dm") return;
    renderTitle();
    if (learned.includes(dms.get(view.peer))) renderMessages();
  });
  // The conversation in view can take its read position once its channel is joined.
  client.on("subscribed", (frame) => {
    if (frame.channel === viewChannel()) scheduleRead();
  });
  client.on("message", (frame) => {
    appendMessage(frame);
  });
  people = trackPresence(client, () => room, renderPresence);
  client.on("system", (frame) => {
    if (frame.channel !== room || view.kind !== "room" || !frame.content) return;
    // One's own comings and goings are no news to oneself.
    if (me && Array.isArray(frame.users) && frame.users.includes(me.id)) return;
    systemNote(frame.content);
  });
  client.on("read", (frame) => {
    const positions = receipts.get(frame.channel) ?? new Map();
    receipts.set(frame.channel, positions);
    positions.set(frame.user_id, { nickname: frame.nickname, seq: frame.seq });
    if (frame.channel === viewChannel()) renderSeen();
  });
  // A direct message, sent or received (live, or replayed from a followed conversation): the
  // conversation stays in the list with its unread count.
  client.on("private", (frame) => {
    if (!me || typeof frame.channel !== "string") return;
    const mine = frame.user_id === me.id;
    const peer = mine ? frame.to : frame.user_id;
    if (typeof peer !== "string" || !peer) return;
    const dm = dms.open(peer, mine ? undefined : frame.nickname);
    const fresh = dm.channel === null;
    dm.channel = frame.channel;
    dm.seq = Math.max(dm.seq, frame.seq);
    const at = Date.parse(frame.ts);
    dm.at = Math.max(dm.at, Number.isNaN(at) ? Date.now() : at);
    if (mine) dm.read = Math.max(dm.read, frame.seq);
    const inView = view.kind === "dm" && view.peer === peer;
    appendMessage(frame);
    // Its channel is followed from now on (the first message made it), so replays fill gaps; in
    // view, with what was said before (this browser may not have seen the conversation begin).
    if (inView && !dmsLoaded.has(frame.channel)) {
      loadConversation(dm);
      renderMessages();
    } else if (!client.subscriptions.has(frame.channel)) {
      client.subscribe(frame.channel);
    }
    dms.save();
    renderDms();
    if (inView) renderTitle();
  });
  client.on("error", (frame) => {
    if (frame.id) return; // Errors of a message are shown on that message (see issue()).
    if (creating) {
      // The answer to the private room asked for (`conflict`: the name is taken).
      creating = null;
      const error = $("new-room-error");
      error.textContent = frame.code === "conflict" ? "That room exists already." : frame.message || frame.code;
      error.hidden = false;
      return;
    }
    notice(frame.message || frame.code);
  });
  client.on("fatal", ({ reason }) => notice(`The server closed the connection: ${reason}`));
  client.connect();
}

/** Show what the hash names: a room (its socket replaces the last one) or a conversation. */
function showView() {
  const next = viewFromHash();
  if (JSON.stringify(next) === JSON.stringify(view)) return;
  // What was read in the view we leave is told before its socket goes.
  clearTimeout(readTimer);
  sendRead();
  view = next;
  maxVisible = 0;
  closeDrawer();
  if (view.kind === "dm") {
    const dm = dms.open(view.peer, people.get(view.peer)?.name);
    if (me) loadConversation(dm);
    dms.save();
  } else if (view.name !== room) {
    room = view.name;
    people.clear();
    renderPresence();
    const head = rooms.get(room)?.seq;
    client.switchChannel(room, { since: head != null ? Math.max(0, head - HISTORY) : 0 });
  }
  renderTitle();
  renderRooms();
  renderDms();
  renderMessages();
}

function send(content) {
  const entry = { id: newId(), user: me?.id ?? null, content };
  if (view.kind === "dm") entry.peer = view.peer;
  else entry.room = view.name;
  // Kept before it goes: a tab closed before the server's answer sends it on the next visit.
  updateOutbox((entries) => [...entries, entry]);
  issue(entry);
  renderPending();
  scrollToBottom();
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
  window.addEventListener("hashchange", showView);
  $("new-room-private").addEventListener("change", renderMemberChoices);
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
    if ($("new-room-private").checked) {
      // Opened once the server lists it: joining first would make it a public room.
      const members = [...$("member-choices").querySelectorAll("input:checked")].map((box) => box.value);
      if (rooms.has(name)) {
        error.textContent = "That room exists already.";
        error.hidden = false;
        return;
      }
      if (!client.createRoom(name, { private: true, members })) {
        error.textContent = "Not connected: try again in a moment.";
        error.hidden = false;
        return;
      }
      creating = name;
      $("new-room-private").checked = false;
      renderMemberChoices();
    } else {
      if (!rooms.has(name)) client.createRoom(name);
      location.hash = encodeURIComponent(name);
    }
    input.value = "";
  });
}

// -- the drawers (narrow screens) ---------------------------------------------------------------

/** @param {"rooms"|"people"} which */
function openDrawer(which) {
  const layout = document.querySelector(".chat-layout");
  const next = layout.dataset.drawer === which ? "" : which;
  layout.dataset.drawer = next;
  $("toggle-rooms").setAttribute("aria-expanded", String(next === "rooms"));
  $("toggle-people").setAttribute("aria-expanded", String(next === "people"));
}

function closeDrawer() {
  const layout = document.querySelector(".chat-layout");
  if (!layout.dataset.drawer) return;
  layout.dataset.drawer = "";
  $("toggle-rooms").setAttribute("aria-expanded", "false");
  $("toggle-people").setAttribute("aria-expanded", "false");
}

/** Outline icons (24×24 paths): a list, and two people. Drawn, not from a font: any device shows them. */
const ICON_ROOMS = "M4 6h16M4 12h16M4 18h16";
const ICON_PEOPLE = "M9 11a3.5 3.5 0 1 0 0-7 3.5 3.5 0 0 0 0 7zM2.5 20a6.5 6.5 0 0 1 13 0M16 4.5a3.5 3.5 0 0 1 0 6.5M18 14a6.5 6.5 0 0 1 3.5 6";

/** @param {string} path @returns {SVGSVGElement} */
function drawerIcon(path) {
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("class", "drawer-icon");
  svg.setAttribute("aria-hidden", "true");
  const line = document.createElementNS(ns, "path");
  line.setAttribute("d", path);
  svg.append(line);
  return svg;
}

/** The buttons that open the rooms and the people on a phone (the CSS shows them on narrow screens). */
function drawerButtons() {
  const make = (id, label, panel, which) => {
    const button = el("button", "drawer-toggle button-quiet");
    const icon = drawerIcon(which === "rooms" ? ICON_ROOMS : ICON_PEOPLE);
    button.append(icon, el("span", "drawer-label", label));
    button.setAttribute("aria-label", label);
    button.id = id;
    button.type = "button";
    button.setAttribute("aria-controls", panel);
    button.setAttribute("aria-expanded", "false");
    button.addEventListener("click", () => openDrawer(which));
    return button;
  };
  return [make("toggle-rooms", "Rooms", "rooms-panel", "rooms"), make("toggle-people", "People", "people-panel", "people")];
}

function wireDrawers() {
  $("drawer-backdrop").addEventListener("click", closeDrawer);
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape") closeDrawer();
  });
  // A link to the view already shown changes no hash: close the drawer all the same.
  $("rooms-panel").addEventListener("click", (event) => {
    if (event.target instanceof Element && event.target.closest("a.room")) closeDrawer();
  });
}

async function main() {
  mountChrome({
    title: `#${room}`,
    extras: drawerButtons(),
    notice: true,
    nickname: "Others see it next to your messages.",
  });
  // Messages a previous visit typed but could not send: shown as waiting until they go (on `welcome`).
  leftover = readOutbox();
  for (const entry of leftover) {
    const key = entryKey(entry);
    if (typeof key !== "string") continue;
    if (!unsent.has(key)) unsent.set(key, new Map());
    unsent.get(key).set(entry.id, { content: entry.content });
  }
  if (view.kind === "dm") dms.open(view.peer);
  renderTitle();
  renderRooms();
  renderDms();
  renderPending();
  wireComposer();
  wireRooms();
  wireDrawers();
  document.addEventListener("visibilitychange", scheduleRead);
  await ensureNickname();
  start();
  $("composer-input").focus();
}

main();
