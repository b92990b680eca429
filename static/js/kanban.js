/**
 * @file The kanban page (static/kanban.html#<board>): the board `kanban:<board>` live for everyone.
 *
 * The server's board is the `state` frame the server sends on every join, plus every stored event with
 * a higher seq (docs/boards.md). What the page shows is that board with this page's own commands that
 * are not acknowledged yet applied on top (optimistic): a drop moves the card at once, the echo of the
 * stored event confirms it (the server's ranks decide the final order), an `error` takes it back.
 * Everything users typed reaches the DOM through `textContent` only.
 */

import { newId } from "./client.js";
import { KANBAN, byRank } from "./kanban-model.js";
import { Replica } from "./replica.js";
import { $, BOARD_NAME, avatar, connectBoard, el, ensureNickname, hue, mountBoard, nameFromHash, notice } from "./ui.js";

const boardName = nameFromHash(BOARD_NAME, "main");
const channel = `kanban:${boardName}`;

// -- the board as the server has it ----------------------------------------------------------------

/** The server's board: the `state` frame, then every stored event (kanban-model.js). */
const server = new Replica(KANBAN);

// -- what the page shows: the server's board and our commands in flight -----------------------------

/** Commands sent and not acknowledged yet, in the order they were made. @type {Map<string, any>} */
const pending = new Map();

/**
 * @returns {Array<{id: string, title: string, pending?: boolean, cards: any[]}>} columns in order, each
 *   with its cards in order
 */
function view() {
  const board = server.board;
  const columns = [...board.columns.values()].sort(byRank).map((column) => ({ ...column, cards: [] }));
  const byId = new Map(columns.map((column) => [column.id, column]));
  for (const card of [...board.cards.values()].sort(byRank)) byId.get(card.column)?.cards.push({ ...card });
  for (const op of pending.values()) applyPending(columns, byId, op);
  return columns;
}

function findCard(columns, id) {
  for (const column of columns) {
    const index = column.cards.findIndex((card) => card.id === id);
    if (index >= 0) return { column, index, card: column.cards[index] };
  }
  return null;
}

const place = (list, item, position) => list.splice(Math.min(position ?? list.length, list.length), 0, item);

/** A command applied the way the server would apply it to the board in view. */
function applyPending(columns, byId, op) {
  const found = op.card ? findCard(columns, op.card) : null;
  const column = byId.get(op.column);
  switch (op.type) {
    case "card_add":
      if (column && !found) {
        place(column.cards, { id: op.card, title: op.title, description: "", assignee: null, labels: [], pending: true });
      }
      break;
    case "card_move":
      if (found && column) {
        found.column.cards.splice(found.index, 1);
        place(column.cards, { ...found.card, pending: true }, op.position);
      }
      break;
    case "card_edit":
      if (found) {
        const card = found.card;
        for (const key of ["title", "description", "assignee", "labels"]) if (key in op) card[key] = op[key];
        card.pending = true;
      }
      break;
    case "card_remove":
      if (found) found.column.cards.splice(found.index, 1);
      break;
    case "column_add":
      if (!column) {
        const added = { id: op.column, title: op.title, cards: [], pending: true };
        place(columns, added, op.position);
        byId.set(op.column, added);
      }
      break;
    case "column_rename":
      if (column) column.title = op.title;
      break;
    case "column_move":
      if (column) {
        columns.splice(columns.indexOf(column), 1);
        place(columns, column, op.position);
      }
      break;
    case "column_remove":
      if (column) columns.splice(columns.indexOf(column), 1);
      break;
  }
}

// -- rendering (keyed: elements are kept and moved, so focus and typed text survive updates) --------

const columnViews = new Map();
const cardViews = new Map();
let dragging = null;
let renderAgain = false;
let addColumnForm = null;

function render() {
  if (!server.board) return;
  if (dragging) {
    renderAgain = true; // moving elements under the pointer would cancel the drag
    return;
  }
  const board = $("board");
  board.setAttribute("aria-busy", "false");
  board.dataset.seq = String(server.seq);
  const columns = view();
  const shownColumns = new Set(columns.map((column) => column.id));
  const shownCards = new Set(columns.flatMap((column) => column.cards.map((card) => card.id)));
  for (const [id, view] of columnViews) {
    if (!shownColumns.has(id)) {
      view.root.remove();
      columnViews.delete(id);
    }
  }
  for (const [id, node] of cardViews) {
    if (!shownCards.has(id)) {
      node.remove();
      cardViews.delete(id);
    }
  }
  columns.forEach((column, index) => {
    const view = columnView(column, index, columns.length);
    if (board.children[index] !== view.root) board.insertBefore(view.root, board.children[index] ?? addColumnForm);
    column.cards.forEach((card, position) => {
      const node = cardView(card);
      if (view.list.children[position] !== node) view.list.insertBefore(node, view.list.children[position] ?? null);
    });
  });
}

function columnView(column, index, count) {
  let view = columnViews.get(column.id);
  if (!view) {
    const root = $("column-template").content.firstElementChild.cloneNode(true);
    view = {
      root,
      title: root.querySelector(".column-title"),
      count: root.querySelector(".column-count"),
      list: root.querySelector(".cards"),
      left: root.querySelector(".move-left"),
      right: root.querySelector(".move-right"),
      remove: root.querySelector(".remove-column"),
      form: root.querySelector(".add-card"),
      index: 0,
    };
    wireColumn(column.id, view);
    columnViews.set(column.id, view);
  }
  view.index = index;
  view.root.dataset.columnId = column.id;
  view.root.classList.toggle("pending", Boolean(column.pending));
  view.root.setAttribute("aria-label", column.title);
  if (document.activeElement !== view.title) view.title.value = column.title;
  view.count.textContent = String(column.cards.length);
  view.left.disabled = index === 0;
  view.right.disabled = index === count - 1;
  return view;
}

function cardView(card) {
  let node = cardViews.get(card.id);
  if (!node) {
    node = el("li", "card");
    node.draggable = true;
    node.tabIndex = 0;
    wireCard(card.id, node);
    cardViews.set(card.id, node);
  }
  node.dataset.cardId = card.id;
  node.classList.toggle("pending", Boolean(card.pending));
  const foot = el("div", "card-foot");
  for (const label of card.labels ?? []) {
    const chip = el("span", "label", label);
    chip.style.setProperty("--hue", String(hue(label)));
    foot.append(chip);
  }
  if (card.assignee) {
    const who = el("span", "card-assignee");
    who.append(avatar(card.assignee, card.assignee), el("span", "", card.assignee));
    foot.append(who);
  }
  const parts = [el("div", "card-title", card.title)];
  if (card.description) parts.push(el("div", "card-description", card.description));
  parts.push(foot);
  node.replaceChildren(...parts);
  return node;
}

// -- commands ---------------------------------------------------------------------------------------

let client = null;

/** Send a command (re-sent after a reconnect until acknowledged) and show it at once. */
function command(frame) {
  const op = client.request(frame, channel);
  pending.set(op.id, op.frame);
  op.ack.then(
    () => settle(op.id),
    (error) => {
      settle(op.id);
      if (frame.type !== "card_edit") notice(`Not done: ${error.frame?.message ?? error.message}`);
    },
  );
  render();
  return op;
}

function settle(id) {
  if (pending.delete(id)) render();
}

/** Where a card is in the board in view: its column and its index there. */
function positionOf(cardId) {
  const found = findCard(view(), cardId);
  return found ? { column: found.column.id, index: found.index } : null;
}

function moveCard(cardId, column, position) {
  const now = positionOf(cardId);
  if (!now || (now.column === column && now.index === position)) return;
  command({ type: "card_move", card: cardId, column, position });
}

// -- drag and drop ----------------------------------------------------------------------------------

const marker = el("li", "drop-marker");

/** The index a card dropped at `y` gets in `list` (the dragged card itself not counted). */
function dropIndex(list, y) {
  const cards = [...list.querySelectorAll(".card")].filter((node) => node.dataset.cardId !== dragging);
  const index = cards.findIndex((node) => {
    const box = node.getBoundingClientRect();
    return y < box.top + box.height / 2;
  });
  return { index: index < 0 ? cards.length : index, before: index < 0 ? null : cards[index] };
}

function wireCard(id, node) {
  node.addEventListener("dragstart", (event) => {
    dragging = id;
    event.dataTransfer.setData("text/plain", id);
    event.dataTransfer.effectAllowed = "move";
    requestAnimationFrame(() => node.classList.add("dragging"));
  });
  node.addEventListener("dragend", () => {
    node.classList.remove("dragging");
    endDrag();
  });
  node.addEventListener("click", () => openCard(id));
  node.addEventListener("keydown", (event) => {
    if (event.key === "Enter") openCard(id);
  });
}

function endDrag() {
  dragging = null;
  marker.remove();
  for (const view of columnViews.values()) view.list.classList.remove("drop-target");
  if (renderAgain) {
    renderAgain = false;
    render();
  }
}

function wireColumn(id, view) {
  view.root.addEventListener("dragover", (event) => {
    if (!dragging) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = "move";
    const { before } = dropIndex(view.list, event.clientY);
    for (const other of columnViews.values()) other.list.classList.toggle("drop-target", other === view);
    view.list.insertBefore(marker, before);
  });
  view.root.addEventListener("drop", (event) => {
    if (!dragging) return;
    event.preventDefault();
    const card = dragging;
    const { index } = dropIndex(view.list, event.clientY);
    endDrag();
    moveCard(card, id, index);
  });
  view.title.addEventListener("keydown", (event) => {
    if (event.key === "Enter") view.title.blur();
    if (event.key === "Escape") {
      view.title.value = server.board.columns.get(id)?.title ?? view.title.value;
      view.title.blur();
    }
  });
  view.title.addEventListener("change", () => {
    const title = view.title.value.trim();
    const current = view.title.getAttribute("aria-label");
    if (title && title !== current) command({ type: "column_rename", column: id, title });
    else view.title.value = current;
  });
  view.left.addEventListener("click", () => command({ type: "column_move", column: id, position: view.index - 1 }));
  view.right.addEventListener("click", () => command({ type: "column_move", column: id, position: view.index + 1 }));
  let armed = null;
  view.remove.addEventListener("click", () => {
    // Two clicks, no `confirm()`: deleting a column deletes its cards.
    if (armed) {
      clearTimeout(armed);
      armed = null;
      command({ type: "column_remove", column: id });
      return;
    }
    view.remove.textContent = "Delete?";
    armed = setTimeout(() => {
      armed = null;
      view.remove.textContent = "×";
    }, 3000);
  });
  view.form.addEventListener("submit", (event) => {
    event.preventDefault();
    const input = view.form.elements.namedItem("title");
    const title = input.value.trim();
    if (!title) return;
    input.value = "";
    command({ type: "card_add", card: newId(), column: id, title });
  });
}

function makeAddColumnForm() {
  const form = el("form", "add-column");
  form.autocomplete = "off";
  const input = el("input");
  input.name = "title";
  input.maxLength = 100;
  input.placeholder = "Add a column…";
  input.setAttribute("aria-label", "New column title");
  const button = el("button", "button-quiet", "Add column");
  button.type = "submit";
  form.append(input, button);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const title = input.value.trim();
    if (!title) return;
    input.value = "";
    command({ type: "column_add", column: newId(), title });
  });
  return form;
}

// -- the card dialog --------------------------------------------------------------------------------

/** The card being edited and the version the edit is based on. */
let editing = null;

function openCard(id) {
  const card = findCard(view(), id)?.card;
  const confirmed = server.board.cards.get(id);
  if (!card || !confirmed) return; // not stored yet
  // Based on the server's version plus our own edits still in flight.
  const ours = [...pending.values()].filter((op) => op.type === "card_edit" && op.card === id).length;
  editing = { id, version: confirmed.version + ours };
  fillForm(card);
  $("conflict").hidden = true;
  $("card-error").hidden = true;
  $("card-save").disabled = false;
  $("card-dialog").showModal();
  $("card-title").focus();
}

function fillForm(card) {
  $("card-title").value = card.title;
  $("card-description").value = card.description ?? "";
  $("card-assignee").value = card.assignee ?? "";
  $("card-labels").value = (card.labels ?? []).join(", ");
}

function parseLabels(text) {
  const labels = [];
  for (const part of text.split(",")) {
    const label = part.trim();
    if (label && !labels.includes(label)) labels.push(label);
  }
  return labels;
}

function saveCard() {
  if (!editing) return;
  const title = $("card-title").value.trim();
  if (!title) return;
  const edit = {
    type: "card_edit",
    card: editing.id,
    version: editing.version,
    title,
    description: $("card-description").value,
    assignee: $("card-assignee").value.trim() || null,
    labels: parseLabels($("card-labels").value),
  };
  const sent = editing;
  $("card-save").disabled = true;
  command(edit).ack.then(
    () => {
      if (editing === sent) closeCard();
    },
    (error) => {
      if (editing !== sent) return;
      $("card-save").disabled = false;
      const frame = error.frame;
      if (frame?.code === "conflict" && frame.card) showConflict(frame.card);
      else showCardError(frame?.message ?? error.message);
    },
  );
}

function showCardError(text) {
  const box = $("card-error");
  box.textContent = text;
  box.hidden = false;
}

/** Someone changed the card meanwhile: show their card; the user takes it or keeps their own. */
function showConflict(card) {
  $("conflict-title").textContent =
    `Someone changed this card while you were editing (now version ${card.version}). Their card:`;
  const list = $("conflict-card");
  list.replaceChildren();
  for (const [name, value] of [
    ["Title", card.title],
    ["Description", card.description || "—"],
    ["Assignee", card.assignee || "nobody"],
    ["Labels", (card.labels ?? []).join(", ") || "none"],
  ]) {
    list.append(el("dt", "", name), el("dd", "", value));
  }
  $("conflict").hidden = false;
  $("conflict").dataset.version = String(card.version);
  $("conflict-theirs").onclick = () => {
    editing.version = card.version;
    fillForm(card);
    $("conflict").hidden = true;
  };
  $("conflict-mine").onclick = () => {
    editing.version = card.version;
    $("conflict").hidden = true;
    saveCard();
  };
}

function closeCard() {
  editing = null;
  $("card-dialog").close();
}

function wireDialog() {
  $("card-form").addEventListener("submit", (event) => {
    event.preventDefault();
    saveCard();
  });
  $("card-cancel").addEventListener("click", closeCard);
  $("card-dialog").addEventListener("close", () => {
    editing = null;
  });
  $("card-delete").addEventListener("click", () => {
    if (!editing) return;
    command({ type: "card_remove", card: editing.id });
    closeCard();
  });
}

// -- the connection ---------------------------------------------------------------------------------

function onFrame(frame) {
  if (frame.channel !== channel || server.receive(frame) === null) return;
  // The echo of our own command confirms it: the stored board has it now.
  if (frame.id) pending.delete(frame.id);
  render();
}

async function main() {
  mountBoard("Kanban", boardName, "Others see it on the board.");
  addColumnForm = makeAddColumnForm();
  $("board").append(addColumnForm);
  wireDialog();
  await ensureNickname();
  client = connectBoard(channel, onFrame);
}

main();
