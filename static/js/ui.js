/**
 * @file What the pages share (chat, kanban, drawing, media, monitor): the stored nickname and guest token,
 * small DOM helpers, the connection badge, the socket with the stored token, and the nickname prompt.
 *
 * Everything users typed reaches the DOM through `textContent` only.
 */

import { CollabClient } from "./client.js";

/** localStorage key of the nickname a guest shows. */
export const NICK_KEY = "collab.nickname";
/** localStorage key of the token (a JWT, or the guest token a `welcome` gave). */
export const TOKEN_KEY = "collab.token";

/** The connection badge's text per {@link CollabClient} state. */
export const STATE_LABELS = {
  idle: "Starting…",
  connecting: "Connecting…",
  open: "Connected",
  reconnecting: "Reconnecting…",
  offline: "Offline",
  closed: "Disconnected",
};

/** @param {string} id @returns {any} the element with that id */
export const $ = (id) => document.getElementById(id);

/**
 * A new element with a class and text (set with `textContent`, never parsed as HTML).
 * @param {string} tag
 * @param {string} [className]
 * @param {string} [text]
 * @returns {HTMLElement}
 */
export function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text != null) node.textContent = text;
  return node;
}

/** A stable hue per key (user id, label) for avatars and chips. @param {string} key @returns {number} */
export function hue(key) {
  let hash = 0;
  for (const ch of key) hash = (hash * 31 + ch.codePointAt(0)) >>> 0;
  return hash % 360;
}

/**
 * A round avatar: the name's first letter on a hue of `key`.
 * @param {string} name
 * @param {string} key
 * @param {{hidden?: boolean}} [options] `hidden`: hide it from assistive technology (the name is
 *        shown next to it) instead of giving it the name as a tooltip
 * @returns {HTMLElement}
 */
export function avatar(name, key, { hidden = false } = {}) {
  const node = el("span", "avatar", Array.from(name.trim() || "?")[0].toUpperCase());
  node.style.setProperty("--hue", String(hue(key)));
  if (hidden) node.setAttribute("aria-hidden", "true");
  else node.title = name;
  return node;
}

/** The stored nickname ("" when none). @returns {string} */
export function storedNickname() {
  return localStorage.getItem(NICK_KEY) ?? "";
}

/**
 * Shows a connection state on the badge (`#conn`, `#conn-label`).
 * @param {string} state
 * @param {{body?: boolean}} [options] `body`: also on `<body data-conn>` (for the page's styles)
 */
export function renderState(state, { body = true } = {}) {
  $("conn").dataset.state = state;
  $("conn-label").textContent = STATE_LABELS[state] ?? state;
  if (body) document.body.dataset.conn = state;
}

/**
 * A {@link CollabClient} with the stored nickname and token that shows its state on the badge. A stored
 * token the server no longer accepts is forgotten (the page comes back as a new guest); the token a
 * `welcome` brings is stored. `options` are the client's and win over these defaults.
 * @param {object} options
 * @param {{body?: boolean, keepToken?: boolean}} [page] `body`: see {@link renderState};
 *        `keepToken`: store the token a `welcome` brings
 * @returns {CollabClient}
 */
export function createClient(options, { body = true, keepToken = true } = {}) {
  const client = new CollabClient({
    nickname: storedNickname(),
    token: localStorage.getItem(TOKEN_KEY),
    refreshToken: () => {
      localStorage.removeItem(TOKEN_KEY);
      return null;
    },
    ...options,
  });
  client.on("statechange", ({ state }) => renderState(state, { body }));
  if (keepToken) {
    client.on("welcome", (frame) => {
      if (frame.token) localStorage.setItem(TOKEN_KEY, frame.token);
    });
  }
  return client;
}

/**
 * Shows who we are on the `#me` button: avatar and name.
 * @param {{id: string, name: string}} user
 * @param {{hidden?: boolean}} [options] the avatar's, see {@link avatar}
 */
export function showMe(user, options) {
  const button = $("me");
  button.replaceChildren(avatar(user.name, user.id, options), el("span", "me-name", user.name));
  button.hidden = false;
}

let noticeTimer = null;

/**
 * Shows an error in `#notice` for a while (its text through `textContent`).
 * @param {string} text
 * @param {number} ms how long it stays
 */
export function notice(text, ms) {
  const box = $("notice");
  box.textContent = text;
  box.dataset.kind = "error";
  box.hidden = false;
  clearTimeout(noticeTimer);
  noticeTimer = setTimeout(() => {
    box.hidden = true;
  }, ms);
}

// -- the nickname prompt (`#nick-dialog`, `#nick-form`, `#nick-input`) --------------------------------------

/** Resolves the open nickname prompt (one form, one listener). */
let nicknameChosen = null;

/** Opens the nickname prompt. @returns {Promise<string>} the name chosen */
export function askNickname() {
  const input = $("nick-input");
  input.value = storedNickname();
  $("nick-dialog").showModal();
  input.focus();
  return new Promise((resolve) => {
    nicknameChosen = resolve;
  });
}

/**
 * Wires the nickname prompt, and the `#me` button to change the name: a new name is a new guest (the
 * guest token carries the old name), so the token is forgotten and the page reloads.
 */
export function wireNickname() {
  $("nick-form").addEventListener("submit", (event) => {
    const value = $("nick-input").value.trim();
    if (!value) {
      event.preventDefault();
      return;
    }
    nicknameChosen?.(value);
    nicknameChosen = null;
  });
  // Escape closes a modal dialog; without a name there is nothing to show yet.
  $("nick-dialog").addEventListener("cancel", (event) => {
    if (!storedNickname()) event.preventDefault();
  });
  $("me").addEventListener("click", async () => {
    const chosen = await askNickname();
    if (chosen !== storedNickname()) {
      localStorage.setItem(NICK_KEY, chosen);
      localStorage.removeItem(TOKEN_KEY);
      location.reload();
    }
  });
}

/** Asks for a nickname when none is stored yet, and stores it. */
export async function ensureNickname() {
  if (!storedNickname()) localStorage.setItem(NICK_KEY, await askNickname());
}

/**
 * Keeps `#people` showing an avatar per user present in `channel` (from `presence` and
 * `presence_diff` frames).
 * @param {import("./client.js").CollabClient} client
 * @param {string} channel
 */
export function showPresence(client, channel) {
  /** @type {Map<string, {id: string, name: string}>} */
  const people = new Map();
  const render = () => $("people").replaceChildren(...[...people.values()].map((user) => avatar(user.name, user.id)));
  client.on("presence", (frame) => {
    if (frame.channel !== channel) return;
    people.clear();
    for (const user of frame.users) people.set(user.id, user);
    render();
  });
  client.on("presence_diff", (frame) => {
    if (frame.channel !== channel) return;
    for (const id of frame.leaves ?? []) people.delete(id);
    for (const user of frame.joins ?? []) people.set(user.id, user);
    render();
  });
}

/** A board's name as the server accepts it. */
const BOARD_NAME = /^[\w.\-@]{1,150}$/;

/** The board named by the page's hash (`#<board>`), "main" without a valid one. @returns {string} */
export function boardFromHash() {
  const raw = decodeURIComponent(location.hash.slice(1));
  return BOARD_NAME.test(raw) ? raw : "main";
}

/**
 * Connects a board page (kanban, drawing) to `channel`: who we are on `#me`, who is there on `#people`,
 * and every frame to `onFrame`.
 * @param {string} channel
 * @param {(frame: any) => void} onFrame
 * @returns {import("./client.js").CollabClient} the client, connecting
 */
export function connectBoard(channel, onFrame) {
  const client = createClient({ channel });
  client.on("welcome", (frame) => showMe(frame.user));
  showPresence(client, channel);
  client.on("frame", onFrame);
  client.connect();
  return client;
}

/**
 * Names a board page: `#board-title` and the document's title.
 * @param {string} kind "Kanban", "Drawing"
 * @param {string} boardName
 */
export function titleBoard(kind, boardName) {
  $("board-title").textContent = `${kind} · ${boardName}`;
  document.title = `${boardName} · ${kind} · collab`;
}
