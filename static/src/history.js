// The editor's history panel: a slider over the document's versions (who changed what, when), a read-only
// view of any version, and "Restore this version" as a new edit (docs/editor.md, "The editor page").
//
// A version is a run of stored updates by one person with less than GROUP_GAP_MS between them (every
// keystroke is an update; nobody wants to slide over each one). The server lists the last 1,000 updates
// (GET /api/docs/{name}/versions) and rebuilds any of them (GET /api/docs/{name}/versions/{seq}).

import { $, el } from "../js/ui.js";
import { setText, textDiff } from "./text-diff.js";

export const GROUP_GAP_MS = 60_000;
const CONTEXT = 60; // characters shown around a change

/**
 * Runs of updates by one person, each ending less than `gapMs` before the next one starts.
 * @param {{seq: number, user_id: string|null, nickname: string|null, at: string}[]} updates oldest first
 * @returns {{seq: number, fromSeq: number, userId: string|null, nickname: string, at: string, updates: number}[]}
 */
export function groupVersions(updates, gapMs = GROUP_GAP_MS) {
  const versions = [];
  for (const update of updates) {
    const last = versions[versions.length - 1];
    const when = Date.parse(update.at);
    if (last && last.userId === update.user_id && when - Date.parse(last.at) < gapMs) {
      last.seq = update.seq;
      last.at = update.at;
      last.updates += 1;
    } else {
      versions.push({
        seq: update.seq,
        fromSeq: update.seq,
        userId: update.user_id,
        nickname: update.nickname || update.user_id || "someone",
        at: update.at,
        updates: 1,
      });
    }
  }
  return versions;
}

function renderPanel() {
  const panel = el("aside", "history-panel");
  panel.id = "history";
  panel.hidden = true;
  panel.setAttribute("aria-label", "Version history");
  const head = el("div", "history-head");
  const close = el("button", "toggle", "Close");
  close.id = "history-close";
  close.type = "button";
  head.append(el("h2", "", "History"), close);
  const slider = /** @type {HTMLInputElement} */ (el("input", "history-slider"));
  slider.id = "history-slider";
  slider.type = "range";
  slider.min = "0";
  slider.setAttribute("aria-label", "Version");
  const meta = el("p", "history-meta");
  meta.id = "history-meta";
  meta.setAttribute("aria-live", "polite");
  const changed = el("div", "history-diff");
  changed.id = "history-diff";
  const restore = el("button", "button-primary", "Restore this version");
  restore.id = "history-restore";
  restore.type = "button";
  const title = el("h3", "history-title");
  title.id = "history-title";
  const text = el("pre", "history-text");
  text.id = "history-text";
  panel.append(head, slider, meta, el("h4", "muted", "What changed"), changed, restore, title, text);
  return panel;
}

/** The change from `before` to `after`, with some context, as text nodes and <del>/<ins> (never markup). */
function renderChange(box, before, after) {
  const { from, removed, inserted } = textDiff(before, after);
  if (!removed && !inserted) {
    box.replaceChildren(el("span", "muted", "No change to the text (the title, or nothing visible)."));
    return;
  }
  const start = Math.max(0, from - CONTEXT);
  const lead = (start > 0 ? "…" : "") + before.slice(start, from);
  const tailStart = from + removed.length;
  const tail = before.slice(tailStart, tailStart + CONTEXT) + (tailStart + CONTEXT < before.length ? "…" : "");
  const parts = [document.createTextNode(lead)];
  if (removed) parts.push(el("del", "", removed));
  if (inserted) parts.push(el("ins", "", inserted));
  parts.push(document.createTextNode(tail));
  box.replaceChildren(...parts);
}

export class HistoryPanel {
  /**
   * @param {object} options
   * @param {string} options.name the document
   * @param {() => string|null} options.token the bearer token for the API
   * @param {import("yjs").Text} options.text the body
   * @param {import("yjs").Text} options.title the title
   * @param {boolean} options.readOnly no restore
   * @param {HTMLElement} options.parent where the panel goes
   */
  constructor({ name, token, text, title, readOnly, parent }) {
    Object.assign(this, { name, token, text, title, readOnly });
    this.versions = [];
    this.cache = new Map(); // seq -> {seq, text, title}
    this.shown = null;
    this.panel = renderPanel();
    parent.append(this.panel);
    $("history-close").addEventListener("click", () => this.close());
    $("history-slider").addEventListener("input", () => this.show(Number($("history-slider").value)));
    $("history-restore").addEventListener("click", () => this.restore());
    $("history-restore").disabled = readOnly;
  }

  get isOpen() {
    return !this.panel.hidden;
  }

  async api(path) {
    const token = this.token();
    if (!token) throw new Error("history needs a token: reconnect to get one");
    const answer = await fetch(`/api/docs/${encodeURIComponent(this.name)}${path}`, {
      headers: { Authorization: `Bearer ${token}` },
    });
    if (answer.status === 404) return null;
    if (!answer.ok) throw new Error(`the server answered ${answer.status}`);
    return answer.json();
  }

  async version(seq) {
    if (seq <= 0) return { seq: 0, text: "", title: "" };
    if (!this.cache.has(seq)) this.cache.set(seq, await this.api(`/versions/${seq}`));
    return this.cache.get(seq);
  }

  /** Opens the panel on the latest version. */
  async open() {
    this.panel.hidden = false;
    document.body.dataset.history = "open";
    $("history-meta").textContent = "Loading…";
    try {
      const listed = await this.api("/versions");
      this.versions = groupVersions(listed?.versions ?? []);
    } catch (error) {
      $("history-meta").textContent = `History is not available: ${error.message}`;
      return;
    }
    const slider = $("history-slider");
    slider.max = String(Math.max(0, this.versions.length - 1));
    slider.value = slider.max;
    slider.disabled = this.versions.length === 0;
    if (this.versions.length === 0) {
      $("history-meta").textContent = "Nothing saved yet.";
      $("history-restore").disabled = true;
      return;
    }
    await this.show(this.versions.length - 1);
  }

  close() {
    this.panel.hidden = true;
    delete document.body.dataset.history;
  }

  /** Shows version `index`: who, when, what changed, and the whole text read-only. */
  async show(index) {
    const version = this.versions[index];
    if (!version) return;
    this.shown = index;
    const when = new Date(version.at).toLocaleString();
    const edits = version.updates === 1 ? "1 edit" : `${version.updates} edits`;
    $("history-meta").textContent =
      `Version ${index + 1} of ${this.versions.length} · ${version.nickname} · ${when} · ${edits}`;
    const [before, after] = await Promise.all([this.version(version.fromSeq - 1), this.version(version.seq)]);
    if (this.shown !== index) return; // the slider moved on meanwhile
    renderChange($("history-diff"), before.text, after.text);
    $("history-title").textContent = after.title || "(no title)";
    $("history-text").textContent = after.text;
    // Restoring the latest version would change nothing.
    $("history-restore").disabled = this.readOnly || index === this.versions.length - 1;
  }

  /** Makes the shown version the document again, as one new edit of the body and the title. */
  async restore() {
    if (this.shown === null || this.readOnly) return;
    const chosen = await this.version(this.versions[this.shown].seq);
    this.text.doc.transact(() => {
      setText(this.text, chosen.text);
      setText(this.title, chosen.title);
    });
    this.close();
  }
}
