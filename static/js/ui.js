/**
 * @file What the pages share (chat, editor, kanban, drawing, media, monitor): their chrome (the top bar,
 * the notice, the nickname prompt: {@link mountChrome}), the stored nickname and token, small DOM helpers,
 * the connection badge, the socket with the stored token (and its announcements), who is here, and the
 * name in the page's hash.
 * A page's HTML holds only its own content.
 *
 * Everything users typed reaches the DOM through `textContent` only.
 */

import { showAnnouncements } from "./announcements.js";
import { CollabClient } from "./client.js";
import { el } from "./dom.js";
import { TOKEN_KEY, guestsRefused, showSignedOut } from "./signin.js";

export { el };

export { TOKEN_KEY };

/** localStorage key of the nickname a guest shows. */
export const NICK_KEY = "collab.nickname";

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

/** The stored token (null when none). @returns {string|null} */
export function storedToken() {
  return localStorage.getItem(TOKEN_KEY);
}

/** Forgets the stored token: the page comes back as a new guest. */
export function forgetToken() {
  localStorage.removeItem(TOKEN_KEY);
}

// -- the chrome: top bar, notice, nickname prompt ---------------------------------------------------------

/**
 * The top bar: the brand, the page's heading (`#page-title`), `extras`, who is here (`#people`), the
 * connection badge (`#conn`, `#conn-label`), `actions` and who we are (`#me`, a button that changes
 * the nickname).
 * @param {{title: string, extras?: Node[], people?: boolean, actions?: Node[], me?: boolean}} options
 * @returns {HTMLElement}
 */
export function renderHeader({ title, extras = [], people = false, actions = [], me = false }) {
  const brand = el("a", "brand", "collab");
  brand.href = "/";
  const heading = el("h1", "page-title", title);
  heading.id = "page-title";
  const header = el("header", "topbar");
  header.append(brand, heading, ...extras);
  if (people) {
    const list = el("ul", "people-here");
    list.id = "people";
    list.setAttribute("aria-label", "Who is here");
    header.append(list);
  }
  const conn = el("span", "conn");
  conn.id = "conn";
  conn.dataset.state = "idle";
  conn.setAttribute("role", "status");
  conn.setAttribute("aria-live", "polite");
  const dot = el("span", "conn-dot");
  dot.setAttribute("aria-hidden", "true");
  const label = el("span", "", STATE_LABELS.idle);
  label.id = "conn-label";
  conn.append(dot, label);
  header.append(conn, ...actions);
  if (me) {
    const button = el("button", "me");
    button.id = "me";
    button.type = "button";
    button.title = "Change your nickname";
    button.hidden = true;
    header.append(button);
  }
  return header;
}

/** The notice (`#notice`) that {@link notice} fills: one line over the page, for a while. @returns {HTMLElement} */
export function renderNotice() {
  const box = el("div", "notice");
  box.id = "notice";
  box.setAttribute("role", "alert");
  box.hidden = true;
  return box;
}

/**
 * The nickname prompt (`#nick-dialog`, `#nick-form`, `#nick-input`, `#nick-submit`).
 * @param {string} hint who sees the name, in a sentence
 * @returns {HTMLDialogElement}
 */
export function renderNicknameDialog(hint) {
  const input = el("input");
  input.id = "nick-input";
  input.maxLength = 32;
  input.required = true;
  input.autocomplete = "nickname";
  input.setAttribute("aria-label", "Nickname");
  const submit = el("button", "button-primary", "Join");
  submit.id = "nick-submit";
  submit.type = "submit";
  const actions = el("div", "dialog-actions");
  actions.append(submit);
  const form = el("form");
  form.id = "nick-form";
  form.method = "dialog";
  form.append(el("h2", "", "Pick a nickname"), el("p", "muted", `${hint} It stays in this browser.`), input, actions);
  const dialog = /** @type {HTMLDialogElement} */ (el("dialog", "dialog"));
  dialog.id = "nick-dialog";
  dialog.append(form);
  return dialog;
}

/**
 * Renders the page's chrome around its own content: the top bar and the notice before it, the nickname
 * prompt after it (wired, see {@link wireNickname}).
 * @param {object} options
 * @param {string} options.title            the heading ({@link setTitle} changes it)
 * @param {Node[]} [options.extras]         after the heading
 * @param {boolean} [options.people]        a `#people` list in the bar (see {@link showPresence})
 * @param {Node[]} [options.actions]        after the connection badge
 * @param {boolean} [options.notice]        a `#notice` (see {@link notice})
 * @param {string} [options.nickname]       the nickname prompt's hint (who sees the name); without it, no
 *                                          prompt and no `#me`
 * @param {(name: string) => void} [options.rename] see {@link wireNickname}
 */
export function mountChrome({ title, extras, people, actions, notice: withNotice = false, nickname, rename }) {
  const header = renderHeader({ title, extras, people, actions, me: nickname != null });
  document.body.prepend(header, ...(withNotice ? [renderNotice()] : []));
  if (nickname != null) {
    document.body.append(renderNicknameDialog(nickname));
    wireNickname(rename);
  }
}

/**
 * Names the page: its heading (`#page-title`) and the document's title.
 * @param {string} heading
 * @param {string} title
 */
export function setTitle(heading, title) {
  $("page-title").textContent = heading;
  document.title = title;
}

/**
 * Shows a connection state on the badge (`#conn`, `#conn-label`).
 * @param {string} state
 * @param {{body?: boolean, label?: string}} [options] `body`: also on `<body data-conn>` (for the page's
 *        styles); `label`: the badge's text, when the page says more than {@link STATE_LABELS}
 */
export function renderState(state, { body = true, label } = {}) {
  $("conn").dataset.state = state;
  $("conn-label").textContent = label ?? STATE_LABELS[state] ?? state;
  if (body) document.body.dataset.conn = state;
}

/**
 * A {@link CollabClient} with the stored nickname and token that shows its state on the badge and what
 * backends broadcast in a banner (static/js/announcements.js). A stored token the server no longer
 * accepts is forgotten (the page comes back as a new guest); the token a `welcome` brings is stored.
 * `options` are the client's and win over these defaults.
 * @param {object} options
 * @param {{body?: boolean, keepToken?: boolean}} [page] `body`: see {@link renderState};
 *        `keepToken`: store the token a `welcome` brings
 * @returns {CollabClient}
 */
export function createClient(options, { body = true, keepToken = true } = {}) {
  const client = new CollabClient({
    nickname: storedNickname(),
    token: storedToken(),
    refreshToken: () => {
      forgetToken();
      return null;
    },
    ...options,
  });
  client.on("statechange", ({ state }) => renderState(state, { body }));
  showAnnouncements(client);
  // Refused for who we are (guests off and no token, or a token refused twice): the signed-out state.
  client.on("fatal", ({ error, reason }) => {
    if (error === null || error?.code === "unauthorized") showSignedOut(error?.message ?? reason);
  });
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
 * Shows a line in `#notice` for a while (its text through `textContent`).
 * @param {string} text
 * @param {{kind?: "error"|"info", ms?: number}} [options] `ms`: how long it stays
 */
export function notice(text, { kind = "error", ms = 6000 } = {}) {
  const box = $("notice");
  box.textContent = text;
  box.dataset.kind = kind;
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
 * Wires the nickname prompt, and the `#me` button to change the name. By default a new name is a new
 * guest (the guest token carries the old name): the token is forgotten and the page reloads.
 * @param {(name: string) => void} [rename] instead, takes the new name (stored already) in place
 */
export function wireNickname(rename) {
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
    if (chosen === storedNickname()) return;
    localStorage.setItem(NICK_KEY, chosen);
    if (rename) {
      rename(chosen);
      return;
    }
    forgetToken();
    location.reload();
  });
}

/** Whether the stored token is a signed-in user's (not a guest's): their name comes with it. */
export function signedIn() {
  const token = storedToken();
  if (!token) return false;
  try {
    const claims = JSON.parse(atob(token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/")));
    return claims.iss !== "collab-guest";
  } catch {
    return false;
  }
}

/** Asks for a nickname when none is stored yet (and the user is no signed-in one), and stores it. */
export async function ensureNickname() {
  if (storedNickname() || signedIn()) return;
  if (!storedToken()) {
    // A server that admits no guests: the signed-out state rather than a nickname nobody can use.
    const refused = await guestsRefused();
    if (refused) {
      showSignedOut(refused);
      return;
    }
  }
  localStorage.setItem(NICK_KEY, await askNickname());
}

/**
 * Follows who is present in a channel: the whole list (`presence`) and its changes (`presence_diff`).
 * @param {import("./client.js").CollabClient} client
 * @param {() => string} channel the channel followed (the chat's changes with the room in view)
 * @param {(people: Map<string, {id: string, name: string}>) => void} onChange
 * @returns {Map<string, {id: string, name: string}>} the people by user id, kept current (clear it
 *          when the channel changes)
 */
export function trackPresence(client, channel, onChange) {
  const people = new Map();
  client.on("presence", (frame) => {
    if (frame.channel !== channel()) return;
    people.clear();
    for (const user of frame.users) people.set(user.id, user);
    onChange(people);
  });
  client.on("presence_diff", (frame) => {
    if (frame.channel !== channel()) return;
    for (const id of frame.leaves ?? []) people.delete(id);
    for (const user of frame.joins ?? []) people.set(user.id, user);
    onChange(people);
  });
  return people;
}

/**
 * Keeps `#people` (see {@link renderHeader}) showing an avatar per user present in `channel`.
 * @param {import("./client.js").CollabClient} client
 * @param {string} channel
 */
export function showPresence(client, channel) {
  trackPresence(
    client,
    () => channel,
    (people) =>
      $("people").replaceChildren(
        ...[...people.values()].map((user) => {
          const item = el("li");
          item.append(avatar(user.name, user.id));
          return item;
        }),
      ),
  );
}

/** A board's name as the server accepts it. */
export const BOARD_NAME = /^[\w.\-@]{1,150}$/;

/**
 * The name in the page's hash (`#<name>`): a room, a board, a document.
 * @param {RegExp} valid what the server accepts
 * @param {string} fallback without a valid name
 * @returns {string}
 */
export function nameFromHash(valid, fallback) {
  let raw;
  try {
    raw = decodeURIComponent(location.hash.slice(1)).trim();
  } catch {
    return fallback; // a malformed %-escape
  }
  return valid.test(raw) ? raw : fallback;
}

/**
 * Mounts a board page (kanban, drawing): the chrome with who is there and a notice, the title after the
 * board, and a reload when the hash names another board (the page holds one board's state).
 * @param {string} kind the page's kind, as a title ("Kanban")
 * @param {string} board the board's name
 * @param {string} hint the nickname prompt's hint (who sees the name)
 */
export function mountBoard(kind, board, hint) {
  mountChrome({ title: kind, people: true, notice: true, nickname: hint });
  setTitle(`${kind} · ${board}`, `${board} · ${kind} · collab`);
  window.addEventListener("hashchange", () => location.reload());
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
