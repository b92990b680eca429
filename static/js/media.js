/**
 * @file The media page (static/media.html): a gallery of the media library, uploads with progress,
 * metadata editing, and every change by anyone shown live.
 *
 * The list comes from `GET /api/media`; the `media` channel's events (`new_media`, `media_updated`,
 * `media_deleted`, docs/media.md) keep it current. The socket is opened first and the list read
 * after, so nothing committed in between is missed; an event and the list may then say the same
 * thing twice, which is harmless: an item is replaced whole by id. Uploads and edits go over HTTP
 * with the socket's token (a guest token counts). Everything users typed reaches the DOM through
 * `textContent` only.
 */

import { $, createClient, el, ensureNickname, mountChrome, showMe } from "./ui.js";

const PAGE = 60;
const ID = /^[0-9a-f]{16}$/;

function size(bytes) {
  if (bytes >= 1024 * 1024) return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
  if (bytes >= 1024) return `${Math.round(bytes / 1024)} kB`;
  return `${bytes} B`;
}

// Not `item.url` (the file since issue 12): events stored earlier name the JSON resource there.
const fileUrl = (item) => `/api/media/${encodeURIComponent(item.id)}/file`;

// -- the items ------------------------------------------------------------------------------------------

/** @type {Map<string, any>} */
const items = new Map();
/** Items deleted while the list was loading: a late list must not bring them back. */
const deleted = new Set();
let nextCursor = null;
/** @type {import("./client.js").CollabClient} */
let client;

const canEdit = (item) =>
  client?.user != null &&
  (item.uploader?.id === client.user.id || (client.user.roles ?? []).some((r) => r === "operator" || r === "admin"));

function upsert(item, { fresh = false } = {}) {
  if (!item || typeof item.id !== "string" || !ID.test(item.id) || deleted.has(item.id)) return;
  const known = items.get(item.id);
  // Events and the list may arrive in any order: keep the newest version of an item.
  if (known && known.updated_at > item.updated_at) return;
  items.set(item.id, item);
  render(fresh ? item.id : null);
}

function remove(id) {
  deleted.add(id);
  if (items.delete(id)) render();
}

function thumb(item) {
  const box = el("div", "thumb");
  if (item.mime?.startsWith("image/")) {
    const img = el("img");
    img.loading = "lazy";
    img.decoding = "async";
    img.alt = item.title ?? "";
    img.src = fileUrl(item);
    if (item.width && item.height) {
      img.width = item.width;
      img.height = item.height;
    }
    box.append(img);
  } else if (item.mime === "video/mp4") {
    const video = el("video");
    video.controls = true;
    video.preload = "metadata";
    video.src = fileUrl(item);
    box.append(video);
  } else {
    const link = el("a", "kind", item.mime === "application/pdf" ? "PDF" : "FILE");
    link.href = fileUrl(item);
    link.target = "_blank";
    link.rel = "noopener";
    box.append(link);
  }
  return box;
}

function card(item) {
  const node = el("article", "item");
  node.dataset.id = item.id;
  const body = el("div", "item-body");
  body.append(el("h3", "item-title", item.title || "Untitled"));
  if (item.description) body.append(el("div", "item-description", item.description));
  const facts = [item.uploader?.name ?? "?", size(item.size)];
  if (item.width && item.height) facts.push(`${item.width}×${item.height}`);
  body.append(el("div", "item-meta", facts.join(" · ")));
  if (item.tags?.length) {
    const tags = el("div", "tags");
    for (const tag of item.tags) {
      const chip = el("button", "tag", tag);
      chip.type = "button";
      chip.title = `Show only “${tag}”`;
      chip.addEventListener("click", () => {
        $("filter").value = tag;
        render();
      });
      tags.append(chip);
    }
    body.append(tags);
  }
  node.append(thumb(item), body);
  if (canEdit(item)) {
    const actions = el("div", "item-actions");
    const edit = el("button", "edit", "Edit");
    edit.type = "button";
    edit.addEventListener("click", () => openEditor(item.id));
    const open = el("a", null, "Open");
    open.href = fileUrl(item);
    open.target = "_blank";
    open.rel = "noopener";
    actions.append(edit, open);
    node.append(actions);
  }
  return node;
}

function matches(item, filter) {
  if (!filter) return true;
  const haystack = [item.title, item.description, item.uploader?.name, ...(item.tags ?? [])].join("\n").toLowerCase();
  return haystack.includes(filter);
}

function render(freshId = null) {
  const filter = $("filter").value.trim().toLowerCase();
  const shown = [...items.values()]
    .filter((item) => matches(item, filter))
    .sort((a, b) => (a.created_at === b.created_at ? (a.id < b.id ? 1 : -1) : a.created_at < b.created_at ? 1 : -1));
  // Cards are rebuilt, but an image already loaded is reused (no flicker, no refetch).
  const old = new Map([...$("gallery").children].map((node) => [node.dataset.id, node]));
  const nodes = shown.map((item) => {
    const node = card(item);
    const before = old.get(item.id);
    const img = before?.querySelector(".thumb img");
    if (img && img.complete && node.querySelector(".thumb img")) {
      img.alt = item.title ?? "";
      node.querySelector(".thumb").replaceChildren(img);
    }
    if (item.id === freshId) node.classList.add("fresh");
    return node;
  });
  $("gallery").replaceChildren(...nodes);
  $("empty").hidden = items.size > 0;
  $("count").textContent = items.size ? `${shown.length} of ${items.size}${nextCursor ? "+" : ""}` : "";
  $("more").hidden = !nextCursor;
}

async function loadPage() {
  const query = new URLSearchParams({ limit: String(PAGE) });
  if (nextCursor) query.set("cursor", nextCursor);
  const response = await fetch(`/api/media?${query}`);
  if (!response.ok) throw new Error(`the list did not load (${response.status})`);
  const page = await response.json();
  nextCursor = page.next;
  for (const item of page.media) upsert(item);
  $("gallery").setAttribute("aria-busy", "false");
  render();
}

// -- HTTP with the socket's token -------------------------------------------------------------------------

function authHeaders() {
  return client?.token ? { Authorization: `Bearer ${client.token}` } : {};
}

async function errorText(response) {
  try {
    const body = await response.json();
    return body.message ?? `${response.status}`;
  } catch {
    return `the server answered ${response.status}`;
  }
}

/** Upload with progress (fetch cannot report it): resolves with the stored item. */
function send(form, onProgress) {
  return new Promise((resolve, reject) => {
    const request = new XMLHttpRequest();
    request.open("POST", "/api/media");
    for (const [key, value] of Object.entries(authHeaders())) request.setRequestHeader(key, value);
    request.responseType = "json";
    request.upload.addEventListener("progress", (event) => {
      if (event.lengthComputable) onProgress(event.loaded / event.total);
    });
    request.addEventListener("load", () => {
      if (request.status === 201) resolve(request.response);
      else reject(new Error(request.response?.message ?? `the server answered ${request.status}`));
    });
    request.addEventListener("error", () => reject(new Error("the upload did not reach the server")));
    request.send(form);
  });
}

function setStatus(...nodes) {
  $("upload-status").replaceChildren(...nodes);
}

function wireUpload() {
  const input = $("file");
  const drop = $("drop");
  const chosen = () => {
    const file = input.files?.[0];
    $("drop-name").textContent = file ? `${file.name} · ${size(file.size)}` : "Choose or drop a file…";
    $("upload-submit").disabled = !file || client?.state !== "open";
  };
  input.addEventListener("change", chosen);
  drop.addEventListener("click", (event) => {
    if (event.target !== input) input.click();
  });
  drop.addEventListener("dragover", (event) => {
    event.preventDefault();
    drop.classList.add("over");
  });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (event) => {
    event.preventDefault();
    drop.classList.remove("over");
    if (event.dataTransfer?.files?.length) {
      input.files = event.dataTransfer.files;
      chosen();
    }
  });
  $("upload").addEventListener("submit", async (event) => {
    event.preventDefault();
    const file = input.files?.[0];
    if (!file) return;
    const form = new FormData();
    const title = $("upload-title").value.trim();
    const tags = $("upload-tags").value.trim();
    if (title) form.append("title", title);
    if (tags) form.append("tags", tags);
    form.append("file", file, file.name);
    const bar = el("progress");
    bar.max = 1;
    bar.value = 0;
    setStatus(el("span", null, `Uploading ${file.name}…`), bar);
    $("upload-submit").disabled = true;
    try {
      const item = await send(form, (done) => (bar.value = done));
      upsert(item, { fresh: true });
      setStatus(el("span", null, `Uploaded “${item.title}”.`));
      $("upload").reset();
      chosen();
    } catch (error) {
      const line = el("span", "form-error", `Not uploaded: ${error.message}`);
      line.id = "upload-error";
      setStatus(line);
      $("upload-submit").disabled = false;
    }
  });
  return chosen;
}

// -- editing ---------------------------------------------------------------------------------------------

let editing = null;

function openEditor(id) {
  const item = items.get(id);
  if (!item) return;
  editing = id;
  $("edit-title").value = item.title ?? "";
  $("edit-description").value = item.description ?? "";
  $("edit-tags").value = (item.tags ?? []).join(", ");
  $("edit-error").hidden = true;
  $("edit-delete").textContent = "Delete";
  $("edit-delete").dataset.armed = "";
  $("edit-dialog").showModal();
}

function editError(message) {
  $("edit-error").textContent = message;
  $("edit-error").hidden = false;
}

function wireEditor() {
  $("edit-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const id = editing;
    const tags = $("edit-tags").value.split(",").map((t) => t.trim()).filter(Boolean);
    const response = await fetch(`/api/media/${encodeURIComponent(id)}`, {
      method: "PUT",
      headers: { "Content-Type": "application/json", ...authHeaders() },
      body: JSON.stringify({ title: $("edit-title").value, description: $("edit-description").value, tags }),
    });
    if (!response.ok) {
      editError(await errorText(response));
      return;
    }
    upsert(await response.json());
    $("edit-dialog").close();
  });
  $("edit-cancel").addEventListener("click", () => $("edit-dialog").close());
  // Two clicks delete: the first arms the button (no `confirm()`, which blocks every page).
  $("edit-delete").addEventListener("click", async () => {
    const button = $("edit-delete");
    if (!button.dataset.armed) {
      button.dataset.armed = "1";
      button.textContent = "Really delete?";
      return;
    }
    const response = await fetch(`/api/media/${encodeURIComponent(editing)}`, {
      method: "DELETE",
      headers: authHeaders(),
    });
    if (!response.ok && response.status !== 404) {
      editError(await errorText(response));
      return;
    }
    remove(editing);
    $("edit-dialog").close();
  });
}

// -- the connection ----------------------------------------------------------------------------------------

function start(onReady) {
  client = createClient({ channel: "media" }, { body: false });
  let listed = false;
  client.on("statechange", () => onReady());
  client.on("welcome", (frame) => {
    showMe(frame.user);
    if (!listed) {
      listed = true;
      loadPage().catch((error) => setStatus(el("span", "form-error", error.message)));
    } else {
      render(); // who may edit what depends on the user
    }
  });
  client.on("new_media", (frame) => upsert(frame.media, { fresh: true }));
  client.on("media_updated", (frame) => upsert(frame.media));
  client.on("media_deleted", (frame) => remove(frame.media_id));
  client.connect();
}

async function main() {
  mountChrome({ title: "Media", nickname: "Your uploads show it." });
  const refreshUpload = wireUpload();
  wireEditor();
  $("filter").addEventListener("input", () => render());
  $("more").addEventListener("click", () => loadPage().catch((error) => setStatus(el("span", "form-error", error.message))));
  await ensureNickname();
  start(refreshUpload);
}

main();
