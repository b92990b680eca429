// The collaborative editor (static/editor.html): CodeMirror 6 bound to a Yjs document with y-codemirror.next,
// synced by y-websocket's unmodified WebsocketProvider with the server's /ws/doc/<name> (docs/editor.md).
// Bundled by `npm run build` (esbuild) into static/dist/editor.js.
//
// The document name is the page's hash (#notes), "welcome" without one. The chrome, the stored nickname
// and token, the connection badge and the socket URL are the other pages' (static/js/ui.js, client.js).
// Who you are: the stored token (the chat page stores its guest token there) or a new guest named after
// the stored nickname (asked for when there is none). Offline, edits stay in the page's Y.Doc and merge
// when the socket is back (y-websocket reconnects by itself; "Go offline" disconnects on purpose).

import * as Y from "yjs";
import { WebsocketProvider } from "y-websocket";
import { yCollab, yUndoManagerKeymap } from "y-codemirror.next";
import { basicSetup } from "codemirror";
import { EditorState } from "@codemirror/state";
import { EditorView, keymap } from "@codemirror/view";
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

// The Y.Text the editor binds to; GET /api/docs/{name} reads the same one.
export const TEXT_ROOT = "content";
const COLOR_KEY = "collab.editor.color";
const COLORS = ["#e11d48", "#2563eb", "#16a34a", "#d97706", "#7c3aed", "#0891b2", "#db2777", "#65a30d"];
const DOC_NAME = /^[\w.\-:@]{1,190}$/;

/** The claims of a JWT, unverified (the server verifies; this only decides how the page looks). */
function claims(token) {
  try {
    const part = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    return JSON.parse(atob(part));
  } catch {
    return {};
  }
}

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
  const toggle = el("button", "toggle", "Go offline");
  toggle.id = "offline-toggle";
  toggle.type = "button";
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

  const token = storedToken();
  const fixedName = token ? claims(token).name : undefined;
  if (!fixedName) await ensureNickname();
  const readOnly = token ? (claims(token).roles ?? []).includes("readonly") : false;
  const user = { name: fixedName ?? storedNickname(), color: pickColor() };
  user.colorLight = `${user.color}33`;

  const doc = new Y.Doc();
  const text = doc.getText(TEXT_ROOT);
  const params = token ? { token } : { nickname: user.name };
  const provider = new WebsocketProvider(defaultSocketUrl("/ws/doc"), name, doc, { params });
  provider.awareness.setLocalStateField("user", user);

  // A stored token this server refuses (another server's guest token, an expired JWT, or a bad document
  // name): forget it and come back as a guest, once. y-websocket reconnects by itself with the new params.
  provider.on("connection-close", (event) => {
    if (event?.code === CloseCode.POLICY_VIOLATION && provider.params.token) {
      forgetToken();
      provider.params = { nickname: user.name };
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
  // `offline`: the user's "Go offline"; `networkGone`: the browser says it has no network. A socket can
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
    $("offline-toggle").textContent = offline ? "Go online" : "Go offline";
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
  // A guest renamed keeps editing: the others see the new name at once (awareness), no reload.
  rename = (chosen) => {
    user.name = chosen;
    if (!provider.params.token) provider.params = { nickname: chosen };
    provider.awareness.setLocalStateField("user", { ...user });
    showName();
  };
  $("readonly").hidden = !readOnly;
  window.addEventListener("hashchange", () => location.reload());

  // For the tests and the curious.
  window.collabEditor = { doc, text, provider, view, name, readOnly };
  return window.collabEditor;
}

start();
