/**
 * @file The index page's lists: the boards and documents there are (`GET /api/catalog`, most recently
 * changed first, only what the visitor may open), each a link to its page, and a form per list that
 * creates a new one by opening its page under the name given (a board or document exists once used).
 * Without a token on a server that admits no guests, the signed-out state (static/js/signin.js).
 */

import { BOARD_NAME, el } from "./ui.js";
import { TOKEN_KEY, showSignedOut } from "./signin.js";

const PAGES = { kanban: "kanban", drawing: "drawing", doc: "editor" };
const KIND_LABELS = { kanban: "Kanban", drawing: "Drawing", doc: "Document" };

/** @param {string} kind @param {string} name @returns {string} the page that opens it */
const pageOf = (kind, name) => `/static/${PAGES[kind]}.html#${encodeURIComponent(name)}`;

/** "5 min ago", "yesterday"…: when it last changed. @param {string} iso @returns {string} */
function ago(iso) {
  const seconds = Math.max(0, (Date.now() - Date.parse(iso)) / 1000);
  const format = new Intl.RelativeTimeFormat(undefined, { numeric: "auto" });
  if (seconds < 60) return format.format(-Math.round(seconds), "second");
  if (seconds < 3600) return format.format(-Math.round(seconds / 60), "minute");
  if (seconds < 86400) return format.format(-Math.round(seconds / 3600), "hour");
  return format.format(-Math.round(seconds / 86400), "day");
}

/** @param {HTMLElement} list @param {any[]} items @param {string} empty what to say when there are none */
function fill(list, items, empty) {
  if (!items.length) {
    list.replaceChildren(el("li", "muted", empty));
    return;
  }
  list.replaceChildren(
    ...items.map((item) => {
      const link = /** @type {HTMLAnchorElement} */ (el("a"));
      link.href = pageOf(item.kind, item.name);
      const label = el("span", "catalog-name", item.name);
      const meta = el("span", "muted", `${item.kind === "doc" ? "" : `${KIND_LABELS[item.kind]} · `}${item.private ? "private · " : ""}${ago(item.changed_at)}`);
      link.append(label, meta);
      const row = el("li");
      row.append(link);
      return row;
    }),
  );
}

async function load() {
  const token = localStorage.getItem(TOKEN_KEY);
  const answer = await fetch("/api/catalog", { headers: token ? { Authorization: `Bearer ${token}` } : {} });
  if (answer.status === 401) {
    const body = await answer.json().catch(() => ({}));
    if (token) localStorage.removeItem(TOKEN_KEY); // refused: the next try asks for another
    showSignedOut(body.message ?? "a token is required");
    return;
  }
  if (!answer.ok) throw new Error(`GET /api/catalog: ${answer.status}`);
  const { items } = await answer.json();
  fill(document.getElementById("boards"), items.filter((item) => item.kind !== "doc"), "No boards yet: create one.");
  fill(document.getElementById("docs"), items.filter((item) => item.kind === "doc"), "No documents yet: create one.");
}

/** A form that opens a new board or document by name (the page creates it on first use). */
function wireCreate(formId, inputId, errorId, kindOf) {
  document.getElementById(formId).addEventListener("submit", (event) => {
    event.preventDefault();
    const name = document.getElementById(inputId).value.trim();
    const error = document.getElementById(errorId);
    if (!BOARD_NAME.test(name)) {
      error.textContent = "A name is 1–150 letters, digits and . _ - @ (no spaces).";
      return;
    }
    error.textContent = "";
    location.assign(pageOf(kindOf(), name));
  });
}

wireCreate("new-board", "new-board-name", "new-board-error", () => document.getElementById("new-board-kind").value);
wireCreate("new-doc", "new-doc-name", "new-doc-error", () => "doc");
load();
