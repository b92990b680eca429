/**
 * @file The search page (static/search.html): what users typed, across every channel the operator may
 * read, newest first (`GET /api/events`, docs/operators.md "Search"), and a hit's channel around its seq
 * (`GET /api/channels/{channel}/events`). Operators only: the page sends the stored token as a bearer
 * token; without one, or with one the server refuses, it shows the signed-out state.
 *
 * A hit's link is `#channel=<name>&seq=<n>`: the page shows that channel's events around the seq, the hit
 * marked, with a link to the channel's own page. Snippets arrive as strings plain and matched in turn;
 * each matched one becomes a `<mark>`, every one through `textContent` only.
 */

import { $, el, mountChrome, storedToken } from "./ui.js";
import { showSignedOut } from "./signin.js";

const PAGE_SIZE = 50;
const AROUND = 6; // events shown before a hit's seq, and about as many after
const FIELDS = ["user", "channel", "type", "since", "until"];

/** The query of the last search (without a cursor), and the cursor of its next page. */
let lastQuery = null;
let nextCursor = null;

// -- talking to the server --------------------------------------------------------------------------------

/**
 * GET `path` with the stored token. A refused token (401) shows the signed-out state; other errors come
 * back as `{error}` with the server's message.
 * @param {string} path
 * @returns {Promise<{body?: any, response?: Response, error?: string}>}
 */
async function get(path) {
  const token = storedToken();
  if (!token) {
    showSignedOut("this page is for operators: sign in with an operator's token");
    return { error: "Not signed in." };
  }
  let response;
  try {
    response = await fetch(path, { headers: { Authorization: `Bearer ${token}` } });
  } catch {
    return { error: "The server cannot be reached." };
  }
  if (response.status === 401) {
    const body = await response.json().catch(() => ({}));
    showSignedOut(body.message ?? "the token was refused");
    return { error: "Not signed in." };
  }
  if (!response.ok) {
    const body = await response.json().catch(() => ({}));
    const message = body.message ?? `The server answered ${response.status}.`;
    return { error: response.status === 403 ? `Operators only: ${message}` : message };
  }
  return { response };
}

/** The form's search as query parameters (empty fields left out). @returns {URLSearchParams} */
function formQuery() {
  const query = new URLSearchParams();
  const text = $("q").value.trim();
  if (text) query.set("text", text);
  for (const name of FIELDS) {
    const value = $(name).value.trim();
    if (value) query.set(name, value);
  }
  return query;
}

// -- results ----------------------------------------------------------------------------------------------

/** @param {string[]} parts plain and matched in turn @returns {HTMLElement} */
function renderSnippet(parts) {
  const paragraph = el("p", "snippet");
  parts.forEach((part, index) => {
    if (index % 2) paragraph.append(el("mark", "", part));
    else if (part) paragraph.append(document.createTextNode(part));
  });
  return paragraph;
}

/** @param {string} ts @returns {HTMLElement} */
function renderTime(ts) {
  const time = el("time", "muted", new Date(ts).toLocaleString());
  time.dateTime = ts;
  return time;
}

/** @param {any} hit @returns {string} */
function who(hit) {
  return hit.nickname || hit.user_id || "—";
}

/** @param {any} hit an event with its snippet @returns {HTMLElement} */
function renderHit(hit) {
  const item = el("li", "hit");
  item.dataset.channel = hit.channel;
  item.dataset.seq = String(hit.seq);
  const head = el("div", "hit-head");
  const where = /** @type {HTMLAnchorElement} */ (el("a", "hit-where", `${hit.channel} #${hit.seq}`));
  where.href = `#channel=${encodeURIComponent(hit.channel)}&seq=${hit.seq}`;
  head.append(where, el("span", "hit-who", who(hit)), el("span", "hit-type", hit.type), renderTime(hit.ts));
  item.append(head, renderSnippet(hit.snippet));
  return item;
}

function showError(message) {
  $("search-error").textContent = message;
  // The parameter a 400 names ('text': …, 'user' …) is the field to fix.
  const named = /^'(\w+)'/.exec(message)?.[1];
  for (const id of ["q", ...FIELDS]) {
    const field = $(id);
    const invalid = named === (id === "q" ? "text" : id);
    if (invalid) field.setAttribute("aria-invalid", "true");
    else field.removeAttribute("aria-invalid");
  }
}

/** Says how many hits are shown (`text`: say that instead). @param {string} [text] */
function showCount(text) {
  const shown = $("hits").children.length;
  const more = nextCursor ? "+" : "";
  const plural = shown === 1 && !more ? "" : "s";
  $("count").textContent = text ?? (shown ? `${shown}${more} result${plural}, newest first` : "No match.");
  $("more").hidden = !nextCursor;
  $("export-jsonl").disabled = $("export-csv").disabled = !shown;
}

/** Runs the form's search (`cursor`: its next page, appended). */
async function search(cursor = null) {
  const query = cursor ? new URLSearchParams({ cursor, limit: String(PAGE_SIZE) }) : formQuery();
  if (!cursor) query.set("limit", String(PAGE_SIZE));
  $("search-submit").disabled = $("more").disabled = true;
  try {
    const { response, error } = await get(`/api/events?${query}`);
    if (error) {
      showError(error);
      if (!cursor) {
        // The results shown were another search's.
        lastQuery = nextCursor = null;
        $("hits").replaceChildren();
        showCount("");
      }
      return;
    }
    const page = await response.json();
    showError("");
    if (!cursor) {
      lastQuery = formQuery();
      $("hits").replaceChildren();
    }
    $("hits").append(...page.events.map(renderHit));
    nextCursor = page.next;
    showCount();
    if (location.hash) location.hash = "";
  } finally {
    $("search-submit").disabled = $("more").disabled = false;
  }
}

/** Downloads every hit of the last search as JSON lines or CSV (the token goes in a header, so not a link). */
async function download(format) {
  if (!lastQuery) return;
  const query = new URLSearchParams(lastQuery);
  query.set("format", format);
  const { response, error } = await get(`/api/events?${query}`);
  if (error) {
    showError(error);
    return;
  }
  const url = URL.createObjectURL(await response.blob());
  const link = /** @type {HTMLAnchorElement} */ (el("a"));
  link.href = url;
  link.download = `search.${format}`;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

// -- a hit in its channel -----------------------------------------------------------------------------------

/** The channel's own page, where there is one an operator can open (not a direct message). */
function channelPage(channel) {
  const [kind, ...rest] = channel.split(":");
  const name = encodeURIComponent(rest.join(":"));
  if (!rest.length) {
    if (channel === "media") return "/static/media.html";
    return ["audit", "monitor"].includes(channel) ? null : `/static/chat.html#${encodeURIComponent(channel)}`;
  }
  const pages = { kanban: "kanban.html", draw: "drawing.html", doc: "editor.html" };
  return pages[kind] ? `/static/${pages[kind]}#${name}` : null;
}

/** An event's text for the context list: what was typed, else its other fields. @param {any} event */
function eventText(event) {
  for (const value of [event.content, event.title, event.media?.title, event.description]) {
    if (typeof value === "string" && value) return value;
  }
  const envelope = ["type", "channel", "seq", "user_id", "nickname", "id", "ts"];
  const rest = Object.fromEntries(Object.entries(event).filter(([key]) => !envelope.includes(key)));
  const text = JSON.stringify(rest);
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}

async function showContext(channel, seq) {
  $("results").hidden = true;
  $("search-form").hidden = true;
  $("context").hidden = false;
  $("context-title").textContent = `${channel} around #${seq}`;
  const page = channelPage(channel);
  $("context-open").hidden = !page;
  if (page) $("context-open").href = page;
  const list = $("context-events");
  list.replaceChildren(el("li", "muted", "Loading…"));
  const query = new URLSearchParams({ after: String(Math.max(0, seq - AROUND)), limit: String(2 * AROUND + 1) });
  const { response, error } = await get(`/api/channels/${encodeURIComponent(channel)}/events?${query}`);
  if (error) {
    list.replaceChildren(el("li", "search-error", error));
    return;
  }
  const { events } = await response.json();
  list.replaceChildren(
    ...events.map((event) => {
      const item = el("li", event.seq === seq ? "context-event is-hit" : "context-event");
      item.dataset.seq = String(event.seq);
      if (event.seq === seq) item.setAttribute("aria-current", "true");
      const head = el("div", "hit-head");
      const seqLabel = el("span", "hit-where", `#${event.seq}`);
      const type = el("span", "hit-type", event.type);
      head.append(seqLabel, el("span", "hit-who", who(event)), type, renderTime(event.ts));
      item.append(head, el("p", "snippet", eventText(event)));
      return item;
    }),
  );
  list.querySelector(".is-hit")?.scrollIntoView({ block: "center" });
}

function showView() {
  const params = new URLSearchParams(location.hash.slice(1));
  const channel = params.get("channel");
  const seq = Number(params.get("seq"));
  if (channel && Number.isInteger(seq) && seq > 0) {
    showContext(channel, seq);
    return;
  }
  $("context").hidden = true;
  $("results").hidden = false;
  $("search-form").hidden = false;
}

// -- the page ---------------------------------------------------------------------------------------------

mountChrome({ title: "Search" });
$("conn").remove(); // no socket here: each search is one request
$("search-form").addEventListener("submit", (event) => {
  event.preventDefault();
  search();
});
$("more").addEventListener("click", () => search(nextCursor));
$("export-jsonl").addEventListener("click", () => download("jsonl"));
$("export-csv").addEventListener("click", () => download("csv"));
window.addEventListener("hashchange", showView);
if (!storedToken()) showSignedOut("this page is for operators: sign in with an operator's token");
showView();
$("q").focus();
