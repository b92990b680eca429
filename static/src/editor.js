// The collaborative editor (static/editor.html): CodeMirror 6 bound to a Yjs document with y-codemirror.next,
// synced by y-websocket's unmodified WebsocketProvider with the server's /ws/doc/<name> (docs/editor.md),
// kept in the browser by y-indexeddb, with a title, a Markdown preview and the document's history.
// Bundled by `npm run build` (esbuild) into static/dist/editor.js.
//
// The document name is the page's hash (#notes), "welcome" without one. The chrome, the stored nickname
// and token, the connection badge and the socket URL are the other pages' (static/js/ui.js, client.js).
// Who you are: the stored token (a JWT, or the guest token the chat page or this one got), else a guest
// token asked for with the stored nickname (POST /api/guests) and stored, so one person keeps one id.
// Offline, edits stay in the page's Y.Doc and in IndexedDB (a closed tab loses nothing) and merge when the
// socket is back (y-websocket reconnects by itself; "Work offline" disconnects on purpose).

import * as Y from "yjs";
import { WebsocketProvider } from "y-websocket";
import { yCollab, yUndoManagerKeymap } from "y-codemirror.next";
import { basicSetup } from "codemirror";
import { EditorState } from "@codemirror/state";
import { EditorView, keymap } from "@codemirror/view";
import MarkdownIt from "markdown-it";
import { showHtml } from "./safe-html.js";
import { IndexeddbPersistence } from "y-indexeddb";
import { CloseCode, defaultSocketUrl } from "../js/client.js";
import {
  $,
  el,
  ensureNickname,
  forgetToken,
  mountChrome,
  nameFromHash,
  renderState,
  setTitle,
  showMe,
  storedNickname,
  storedToken,
} from "../js/ui.js";
import { showSignedOut, tokenProtocols } from "../js/signin.js";
import { claims, fetchGuestToken, isGuestToken, requestGuest } from "./guest.js";
import { HistoryPanel } from "./history.js";
import { setText } from "./text-diff.js";

// The Y.Text the editor binds to; GET /api/docs/{name} reads the same one. The title is another Y.Text.
export const TEXT_ROOT = "content";
export const TITLE_ROOT = "title";
const TITLE_MAX = 200;
const COLOR_KEY = "collab.editor.color";
const COLORS = ["#e11d48", "#2563eb", "#16a34a", "#d97706", "#7c3aed", "#0891b2", "#db2777", "#65a30d"];
const DOC_NAME = /^[\w.\-:@]{1,190}$/;

function pickColor() {
  let color = localStorage.getItem(COLOR_KEY);
  if (!COLORS.includes(color)) {
    color = COLORS[Math.floor(Math.random() * COLORS.length)];
    localStorage.setItem(COLOR_KEY, color);
  }
  return color;
}

export async function start() {
  const name = nameFromHash(DOC_NAME, "welcome");
  const readonly = el("span", "readonly-badge", "read-only");
  readonly.id = "readonly";
  readonly.hidden = true;
  const toggle = el("button", "toggle", "Work offline");
  toggle.id = "offline-toggle";
  toggle.type = "button";
  toggle.title = "Stop syncing for now: your edits are kept in this browser and merge when you go back online";
  let rename = null; // once the provider exists
  mountChrome({
    title: name,
    extras: [readonly],
    people: true,
    actions: [toggle],
    nickname: "Others see it next to your cursor.",
    rename: (chosen) => rename?.(chosen),
  });
  setTitle(name, `${name} · editor · collab`);

  // Who we are: a JWT's name is fixed; a guest (token or not yet) is named after the stored nickname.
  let token = storedToken();
  const fixedName = token && !isGuestToken(token) ? claims(token).name : undefined;
  if (!token) {
    // Asked before the nickname: a server that admits no guests gets the signed-out state, not a
    // nickname prompt and then an editor that never connects.
    const { token: guest, refused } = await requestGuest(storedNickname() || undefined);
    if (refused) {
      showSignedOut(refused);
      return;
    }
    token = guest;
  }
  if (!fixedName) {
    const named = Boolean(storedNickname());
    await ensureNickname();
    // The guest token was made before the name was chosen: take one that carries it.
    if (!named && token) token = (await fetchGuestToken(storedNickname())) ?? token;
  }
  const readOnly = token ? (claims(token).roles ?? []).includes("readonly") : false;
  const user = { name: fixedName ?? (token ? claims(token).name : null) ?? storedNickname(), color: pickColor() };
  user.colorLight = `${user.color}33`;

  const doc = new Y.Doc();
  const text = doc.getText(TEXT_ROOT);
  const title = doc.getText(TITLE_ROOT);
  // The document in this browser too: a closed tab's offline edits are here on the next visit, and the
  // provider's sync sends them then (a Yjs merge: whatever the server already has is not applied twice).
  const persistence = new IndexeddbPersistence(`collab.doc:${name}`, doc);
  await Promise.race([persistence.whenSynced, new Promise((resolve) => setTimeout(resolve, 2000))]);

  // The token as a subprotocol, never in the URL (docs/editor.md); a guest without one sends its name.
  const params = token ? {} : { nickname: user.name };
  const provider = new WebsocketProvider(defaultSocketUrl("/ws/doc"), name, doc, {
    params,
    protocols: tokenProtocols(token),
  });
  provider.awareness.setLocalStateField("user", user);

  // A stored token this server refuses (another server's guest token, an expired JWT, or a bad document
  // name): forget it and come back as a guest with a new guest token, once. y-websocket reconnects by
  // itself with the new params.
  let refused = false;
  provider.on("connection-close", (event) => {
    if (event?.code !== CloseCode.POLICY_VIOLATION) return;
    if (provider.protocols.length && !refused) {
      refused = true;
      forgetToken();
      token = null;
      provider.protocols = [];
      provider.params = { nickname: user.name };
      requestGuest(user.name).then(({ token: fresh, refused: noGuests }) => {
        if (noGuests) {
          provider.disconnect();
          showSignedOut(event.reason || noGuests);
          return;
        }
        if (!fresh) return;
        token = fresh;
        provider.params = {};
        provider.protocols = tokenProtocols(fresh);
      });
    } else if (!provider.protocols.length) {
      // No token and refused: guests are off here (or were turned off).
      provider.disconnect();
      showSignedOut(event.reason || "guests are not allowed");
    }
  });

  const view = new EditorView({
    parent: $("editor"),
    state: EditorState.create({
      doc: text.toString(),
      extensions: [
        keymap.of(yUndoManagerKeymap),
        basicSetup,
        EditorView.lineWrapping,
        EditorState.readOnly.of(readOnly),
        yCollab(text, provider.awareness),
        // Names above remote cursors all the time, not only on hover.
        EditorView.theme({ ".cm-ySelectionInfo": { opacity: 1, fontFamily: "inherit", borderRadius: "3px 3px 3px 0" } }),
      ],
    }),
  });

  // -- what the page shows ----------------------------------------------------------------------
  // `offline`: the user's "Work offline"; `networkGone`: the browser says it has no network. A socket can
  // look connected for half a minute after the network went (nothing tells it), so the browser's word
  // wins: the page shows offline and drops the socket, as the other pages' client does (client.js).
  let offline = false;
  let networkGone = navigator.onLine === false;
  const renderStatus = () => {
    const state = networkGone
      ? "no-network"
      : offline
        ? "offline"
        : provider.wsconnected
        ? provider.synced
          ? "open"
          : "connecting"
        : "reconnecting";
    const label = {
      open: "Live",
      connecting: "Syncing…",
      reconnecting: "Reconnecting…",
      offline: "Offline",
      "no-network": "No network",
    }[state];
    renderState(state === "no-network" ? "offline" : state, { label });
    // The badge stays short (a phone's top bar has room for a word); what it means is its tooltip.
    $("conn").title = {
      offline: "Offline: your edits are kept here and merge when you go online",
      "no-network": "No network: your edits are kept here and merge when it is back",
    }[state] ?? "";
    $("offline-toggle").textContent = offline ? "Work online" : "Work offline";
  };
  provider.on("status", renderStatus);
  provider.on("sync", renderStatus);
  $("offline-toggle").addEventListener("click", () => {
    offline = !offline;
    if (offline) provider.disconnect();
    else if (!networkGone) provider.connect();
    renderStatus();
  });
  window.addEventListener("offline", () => {
    networkGone = true;
    provider.disconnect();
    renderStatus();
  });
  window.addEventListener("online", () => {
    networkGone = false;
    if (!offline) provider.connect(); // at once, not after y-websocket's backoff
    renderStatus();
  });
  if (networkGone) provider.disconnect();
  renderStatus();

  const renderPeople = () => {
    const list = $("people");
    const people = [];
    for (const [clientId, state] of provider.awareness.getStates()) {
      if (state?.user?.name) people.push({ clientId, ...state.user, me: clientId === doc.clientID });
    }
    people.sort((a, b) => (b.me ? 1 : 0) - (a.me ? 1 : 0) || a.name.localeCompare(b.name));
    list.replaceChildren(
      ...people.map((person) => {
        const item = document.createElement("li");
        item.className = "who-person";
        item.dataset.clientId = String(person.clientId);
        const dot = document.createElement("span");
        dot.className = "who-dot";
        dot.style.background = /^#[0-9a-f]{6}$/i.test(person.color) ? person.color : "#888";
        const label = document.createElement("span");
        label.textContent = person.me ? `${person.name} (you)` : person.name; // text, never markup
        item.append(dot, label);
        return item;
      }),
    );
  };
  provider.awareness.on("change", renderPeople);
  renderPeople();

  const showName = () => showMe({ id: claims(token ?? "").sub ?? user.name, name: user.name }, { hidden: true });
  showName();
  if (fixedName) {
    // The name comes with the token.
    $("me").disabled = true;
    $("me").title = "Your name, as others see it";
  }
  // A guest renamed keeps editing: the others see the new name at once (awareness). The guest token
  // carries the name the history shows, so a new name is a new guest token (as on the chat page), used
  // from the next connection on: the socket reconnects now unless working offline.
  rename = async (chosen) => {
    user.name = chosen;
    provider.awareness.setLocalStateField("user", { ...user });
    showName();
    const fresh = await fetchGuestToken(chosen);
    if (fresh) token = fresh;
    provider.params = fresh ? {} : { nickname: chosen };
    provider.protocols = tokenProtocols(fresh);
    showName();
    if (!offline && provider.wsconnected) {
      provider.disconnect();
      provider.connect();
    }
  };
  $("readonly").hidden = !readOnly;
  window.addEventListener("hashchange", () => location.reload());

  // -- the title: a Y.Text of its own, edited in place like the body -------------------------------
  const titleInput = /** @type {HTMLInputElement} */ ($("doc-title"));
  titleInput.maxLength = TITLE_MAX;
  titleInput.disabled = readOnly;
  const showTitle = () => {
    const value = title.toString();
    if (titleInput.value !== value) {
      const [start, end] = [titleInput.selectionStart, titleInput.selectionEnd];
      titleInput.value = value;
      if (document.activeElement === titleInput) titleInput.setSelectionRange(start, end);
    }
    document.title = `${value || name} · editor · collab`;
  };
  titleInput.addEventListener("input", () => setText(title, titleInput.value.slice(0, TITLE_MAX)));
  title.observe(showTitle);
  showTitle();

  // -- the Markdown preview: markdown-it without raw HTML (it is escaped), unsafe links refused -----
  const markdown = new MarkdownIt({ html: false, linkify: true });
  // Links open beside the editor, and the page they open gets no handle on this one.
  const renderLink = markdown.renderer.rules.link_open ?? ((tokens, i, options, env, self) => self.renderToken(tokens, i, options));
  markdown.renderer.rules.link_open = (tokens, i, options, env, self) => {
    tokens[i].attrSet("target", "_blank");
    tokens[i].attrSet("rel", "noopener noreferrer");
    return renderLink(tokens, i, options, env, self);
  };
  let previewQueued = false;
  const renderPreview = () => {
    previewQueued = false;
    showHtml($("preview"), markdown.render(text.toString()));
  };
  text.observe(() => {
    if (!previewQueued) {
      previewQueued = true;
      requestAnimationFrame(renderPreview);
    }
  });
  renderPreview();
  const shell = $("editor-shell");
  const showView = (mode) => {
    shell.dataset.view = mode;
    for (const button of document.querySelectorAll(".view-switch button")) {
      button.setAttribute("aria-pressed", String(button.dataset.view === mode));
    }
  };
  for (const button of document.querySelectorAll(".view-switch button")) {
    button.addEventListener("click", () => showView(button.dataset.view));
  }
  showView(matchMedia("(max-width: 760px)").matches ? "write" : "split");

  // -- history ---------------------------------------------------------------------------------
  const history = new HistoryPanel({ name, token: () => token, text, title, readOnly, parent: shell });
  $("history-open").addEventListener("click", () => (history.isOpen ? history.close() : history.open()));

  // For the tests and the curious.
  window.collabEditor = { doc, text, title, provider, persistence, view, name, readOnly, history, markdown };
  return window.collabEditor;
}

start();
