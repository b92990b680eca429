/**
 * @file Announcements: what a backend broadcasts (`POST /api/broadcast`, docs/server-api.md) reaches
 * every `/ws` socket as an `event` frame of channel `broadcast:all`; every page that holds such a socket
 * shows it in a banner under the top bar, until the user dismisses it. `createClient` (ui.js) wires it,
 * so each page gets it by having a socket.
 *
 * What is shown is text only (`textContent`, never parsed as HTML): the event's `data.text`, else
 * `data.message`, else `data` itself when it is a string, else `data` as compact JSON, else the event's
 * name; clipped to {@link MAX_CHARACTERS} characters, and shown in three lines until clicked. At most
 * {@link MAX_SHOWN} stay, newest first.
 */

import { el } from "./dom.js";

export const BROADCAST_CHANNEL = "broadcast:all";
/** Characters of an announcement shown; the rest is cut (with "…"). */
export const MAX_CHARACTERS = 280;
/** Announcements shown at once: a newer one pushes the oldest out. */
export const MAX_SHOWN = 3;
/** A megaphone, drawn (24×24 outline): no font needed. */
const ICON = "M3 10v4a1 1 0 0 0 1 1h2l7 4V5L6 9H4a1 1 0 0 0-1 1zM17 9a4 4 0 0 1 0 6M19.5 6.5a8 8 0 0 1 0 11";

/**
 * `text` cut to `max` characters (code points, so no emoji is split), with "…" when cut.
 * @param {string} text @param {number} [max] @returns {string}
 */
export function clip(text, max = MAX_CHARACTERS) {
  const characters = Array.from(text);
  return characters.length <= max ? text : `${characters.slice(0, max - 1).join("")}…`;
}

/**
 * The text of a broadcast event (see the file's comment for which field wins), white space folded.
 * @param {{event?: unknown, data?: unknown}} frame
 * @returns {string} "" when there is nothing to show
 */
export function announcementText(frame) {
  const data = frame.data;
  let text = "";
  if (data && typeof data === "object" && !Array.isArray(data)) {
    if (typeof data.text === "string" && data.text.trim()) text = data.text;
    else if (typeof data.message === "string" && data.message.trim()) text = data.message;
  }
  if (!text && typeof data === "string") text = data;
  if (!text && data != null && typeof data !== "string") {
    try {
      text = JSON.stringify(data);
    } catch {
      text = "";
    }
  }
  if (!text.trim() && typeof frame.event === "string") text = frame.event;
  return clip(text.replace(/\s+/g, " ").trim());
}

/** The banner (`#announcements`), made under the top bar (or first in the page) on first use. */
function region() {
  let list = document.getElementById("announcements");
  if (list) return list;
  list = el("div", "announcements");
  list.id = "announcements";
  list.setAttribute("role", "status");
  list.setAttribute("aria-live", "polite");
  list.setAttribute("aria-label", "Announcements");
  const bar = document.querySelector("body > .topbar");
  if (bar) bar.after(list);
  else document.body.prepend(list);
  return list;
}

/** @returns {SVGSVGElement} the megaphone, hidden from assistive technology (the region is named) */
function icon() {
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("class", "announcement-icon");
  svg.setAttribute("aria-hidden", "true");
  const path = document.createElementNS(ns, "path");
  path.setAttribute("d", ICON);
  svg.append(path);
  return svg;
}

/**
 * Shows one announcement, newest first.
 * @param {string} text what to show (as text)
 * @param {{seq?: unknown, ts?: unknown}} [frame] the event, for its seq and time
 */
export function announce(text, frame = {}) {
  const list = region();
  const item = el("div", "announcement");
  if (typeof frame.seq === "number") item.dataset.seq = String(frame.seq);
  const body = el("p", "announcement-text", text);
  if (typeof frame.ts === "string") body.title = new Date(frame.ts).toLocaleString();
  // Three lines at most (CSS) until clicked: a long one does not push a phone's page away.
  body.addEventListener("click", () => body.classList.toggle("open"));
  const close = el("button", "announcement-close", "×");
  close.type = "button";
  close.setAttribute("aria-label", "Dismiss announcement");
  close.addEventListener("click", () => item.remove());
  item.append(icon(), body, close);
  list.prepend(item);
  while (list.childElementCount > MAX_SHOWN) list.lastElementChild.remove();
}

/**
 * Shows every broadcast `client` receives from now on.
 * @param {import("./client.js").CollabClient} client
 */
export function showAnnouncements(client) {
  if (document.querySelector("body > .topbar")) region(); // there before the first one: read out when it comes
  client.on("event", (frame) => {
    if (frame.channel !== BROADCAST_CHANNEL) return;
    const text = announcementText(frame);
    if (text) announce(text, frame);
  });
}
