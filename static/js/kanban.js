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
import { CARD_FIELDS, KANBAN, byRank } from "./kanban-model.js";
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
    node.setAttribute("aria-describedby", "kanban-help");
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
  node.addEventListener("click", () => {
    if (Date.now() - touchDropped > 400) openCard(id); // the click that ends a touch drag is not a tap
  });
  node.addEventListener("keydown", (event) => onCardKey(id, event));
  wireTouch(id, node);
}

// -- the keyboard: arrows go from card to card, Shift+arrows move the focused card ---------------------

const STEPS = { ArrowUp: [0, -1], ArrowDown: [0, 1], ArrowLeft: [-1, 0], ArrowRight: [1, 0] };

function onCardKey(id, event) {
  if (event.key === "Enter" || event.key === " ") {
    event.preventDefault();
    openCard(id);
    return;
  }
  const step = STEPS[event.key];
  if (!step || event.altKey || event.ctrlKey || event.metaKey) return;
  event.preventDefault();
  const columns = view();
  const at = columns.findIndex((column) => column.cards.some((card) => card.id === id));
  if (at < 0) return;
  const index = columns[at].cards.findIndex((card) => card.id === id);
  const [dx, dy] = step;
  const target = columns[at + dx];
  if (!target) return;
  if (!event.shiftKey) {
    // Focus the neighbour: above or below, or the card at the same height in the next column.
    const cards = target.cards;
    const next = dx ? cards[Math.min(index, cards.length - 1)] : cards[index + dy];
    if (next) cardViews.get(next.id)?.focus();
    return;
  }
  const others = target.cards.filter((card) => card.id !== id).length;
  const position = dx ? Math.min(index, others) : index + dy;
  if (position < 0 || position > others) return;
  moveCard(id, target.id, position);
  cardViews.get(id)?.focus(); // the node was moved in the DOM, which drops focus
  announce(`${columns[at].cards[index].title}: ${target.title}, position ${position + 1} of ${others + 1}`);
}

function announce(text) {
  $("kanban-live").textContent = text;
}

// -- touch: hold a card, then drag it (a short touch taps it open, a swipe scrolls the board) -------------

const HOLD_MS = 300;
const SLOP = 10; // px a finger may move while holding
let touchDropped = 0;

function wireTouch(id, node) {
  let hold = null;
  let start = null;
  let ghost = null;
  const cancelHold = () => {
    clearTimeout(hold);
    hold = null;
  };
  node.addEventListener(
    "touchstart",
    (event) => {
      if (event.touches.length !== 1 || dragging) return;
      const touch = event.touches[0];
      start = { x: touch.clientX, y: touch.clientY };
      hold = setTimeout(() => {
        hold = null;
        dragging = id;
        node.classList.add("dragging");
        ghost = node.cloneNode(true);
        ghost.classList.add("touch-ghost");
        ghost.style.width = `${node.getBoundingClientRect().width}px`;
        document.body.append(ghost);
        placeGhost(ghost, start.x, start.y);
        navigator.vibrate?.(10);
      }, HOLD_MS);
    },
    { passive: true },
  );
  node.addEventListener(
    "touchmove",
    (event) => {
      const touch = event.touches[0];
      if (hold && Math.hypot(touch.clientX - start.x, touch.clientY - start.y) > SLOP) cancelHold();
      if (dragging !== id || !ghost) return;
      event.preventDefault(); // the board does not scroll under a dragged card
      placeGhost(ghost, touch.clientX, touch.clientY);
      const view = columnUnder(touch.clientX, touch.clientY);
      for (const other of columnViews.values()) other.list.classList.toggle("drop-target", other === view);
      if (view) view.list.insertBefore(marker, dropIndex(view.list, touch.clientY).before);
      else marker.remove();
    },
    { passive: false },
  );
  const finish = (event, drop) => {
    cancelHold();
    if (dragging !== id || !ghost) return;
    event.preventDefault();
    const touch = event.changedTouches[0];
    const view = drop && touch ? columnUnder(touch.clientX, touch.clientY) : null;
    const index = view ? dropIndex(view.list, touch.clientY).index : 0;
    ghost.remove();
    ghost = null;
    node.classList.remove("dragging");
    touchDropped = Date.now();
    endDrag();
    if (view) {
      const column = [...columnViews].find(([, each]) => each === view)[0];
      moveCard(id, column, index);
    }
  };
  node.addEventListener("touchend", (event) => finish(event, true));
  node.addEventListener("touchcancel", (event) => finish(event, false));
  node.addEventListener("contextmenu", (event) => {
    if (dragging === id || hold) event.preventDefault(); // a long press drags, it opens no menu
  });
}

function placeGhost(ghost, x, y) {
  ghost.style.transform = `translate(${x - 20}px, ${y - 20}px)`;
}

/** The column whose box is under the point (x, y), if any. */
function columnUnder(x, y) {
  for (const view of columnViews.values()) {
    const box = view.root.getBoundingClientRect();
    if (x >= box.left && x <= box.right && y >= box.top && y <= box.bottom) return view;
  }
  return null;
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
//
// An edit carries only the fields the user changed (docs/boards.md: edits merge field by field), based on
// the version the dialog opened: someone else's change of another field meanwhile merges on the server,
// and a conflict names only the fields both changed, each shown with the other person's value.

const FIELD_NAMES = { title: "Title", description: "Description", assignee: "Assignee", labels: "Labels" };

/** The card being edited: its id, the version the edit is based on and the fields as the dialog opened. */
let editing = null;

function fieldsOf(card) {
  return {
    title: card.title,
    description: card.description ?? "",
    assignee: card.assignee ?? null,
    labels: [...(card.labels ?? [])],
  };
}

const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);

function openCard(id) {
  const card = findCard(view(), id)?.card;
  const confirmed = server.board.cards.get(id);
  if (!card || !confirmed) return; // not stored yet
  // Based on the server's version plus our own edits still in flight.
  const ours = [...pending.values()].filter((op) => op.type === "card_edit" && op.card === id).length;
  editing = { id, version: confirmed.version + ours, base: fieldsOf(card) };
  fillForm(editing.base);
  $("conflict").hidden = true;
  $("card-error").hidden = true;
  $("card-save").disabled = false;
  fillColumnChoice(card);
  $("card-dialog").showModal();
  $("card-title").focus();
}

/**
 * Someone else's edit of the card arrived while its dialog is open. When it changed none of the fields
 * the user is changing, the dialog follows it: the other fields show the new values and the edit is based
 * on the new version (nothing the user has not seen can be overwritten). When it changed one of them,
 * the dialog stays as it is and based on its version, so saving shows that field's conflict.
 */
function followCard() {
  if (!editing || editing.diverged) return;
  const card = server.board.cards.get(editing.id);
  if (!card || card.version <= editing.version) return;
  const now = formFields();
  const touched = CARD_FIELDS.filter((name) => !same(now[name], editing.base[name]));
  const theirs = fieldsOf(card);
  if (touched.some((name) => !same(theirs[name], editing.base[name]))) {
    editing.diverged = true;
    return;
  }
  editing.base = theirs;
  editing.version = card.version;
  fillForm({ ...theirs, ...Object.fromEntries(touched.map((name) => [name, now[name]])) }, touched);
}

function fillForm(fields, keep = []) {
  const text = {
    title: fields.title,
    description: fields.description,
    assignee: fields.assignee ?? "",
    labels: fields.labels.join(", "),
  };
  for (const name of CARD_FIELDS) {
    const input = $(`card-${name}`);
    if (!keep.includes(name)) input.value = text[name]; // what the user is typing stays as typed
    input.classList.remove("conflicted");
  }
}

function parseLabels(text) {
  const labels = [];
  for (const part of text.split(",")) {
    const label = part.trim();
    if (label && !labels.includes(label)) labels.push(label);
  }
  return labels;
}

/** The fields as the form has them now. */
function formFields() {
  return {
    title: $("card-title").value.trim(),
    description: $("card-description").value,
    assignee: $("card-assignee").value.trim() || null,
    labels: parseLabels($("card-labels").value),
  };
}

/** The fields the user changed since the dialog opened (or since the last conflict was resolved). */
function changedFields() {
  const now = formFields();
  return Object.fromEntries(CARD_FIELDS.filter((name) => !same(now[name], editing.base[name])).map((n) => [n, now[n]]));
}

function saveCard() {
  if (!editing) return;
  if (!$("card-title").value.trim()) return;
  const changes = changedFields();
  moveFromDialog();
  if (Object.keys(changes).length === 0) {
    closeCard();
    return;
  }
  const edit = { type: "card_edit", card: editing.id, version: editing.version, ...changes };
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
      if (frame?.code === "conflict" && frame.card) showConflict(frame.card, frame.fields ?? Object.keys(changes));
      else showCardError(frame?.message ?? error.message);
    },
  );
}

function showCardError(text) {
  const box = $("card-error");
  box.textContent = text;
  box.hidden = false;
}

const shown = (name, value) =>
  name === "labels" ? value.join(", ") || "none" : name === "assignee" ? value || "nobody" : value || "—";

/**
 * Someone changed `fields` of the card meanwhile (the rest of the edit did not conflict, but an edit is
 * stored whole or not at all): show their value of each; the user takes theirs or keeps their own.
 * Either way the form is rebased on the card as it is now: fields the user did not change show the
 * current values, so a second save sends only the user's own changes again.
 */
function showConflict(card, fields) {
  const theirs = fieldsOf(card);
  $("conflict-title").textContent =
    fields.length === 1
      ? `Someone changed the ${FIELD_NAMES[fields[0]].toLowerCase()} while you were editing. Theirs:`
      : `Someone changed these fields while you were editing. Theirs:`;
  const list = $("conflict-card");
  list.replaceChildren();
  for (const name of fields) {
    const value = el("dd", "", shown(name, theirs[name]));
    value.dataset.field = name;
    list.append(el("dt", "", FIELD_NAMES[name] ?? name), value);
    $(`card-${name}`)?.classList.add("conflicted");
  }
  $("conflict").hidden = false;
  $("conflict").dataset.version = String(card.version);
  $("conflict").dataset.fields = fields.join(" ");
  const rebase = (keepMine) => {
    const now = formFields();
    const mine = CARD_FIELDS.filter((name) => !same(now[name], editing.base[name]));
    const merged = { ...theirs };
    for (const name of mine) if (keepMine || !fields.includes(name)) merged[name] = now[name];
    editing.version = card.version;
    editing.base = theirs;
    editing.diverged = false;
    fillForm(merged);
    $("conflict").hidden = true;
  };
  $("conflict-theirs").onclick = () => rebase(false);
  $("conflict-mine").onclick = () => {
    rebase(true);
    saveCard();
  };
}

/** The dialog's column choice: every column in order, the card's own selected. */
function fillColumnChoice(card) {
  const select = $("card-column");
  const columns = view();
  const own = columns.find((column) => column.cards.some((other) => other.id === card.id));
  select.replaceChildren(
    ...columns.map((column) => {
      const option = el("option", "", column.title);
      option.value = column.id;
      return option;
    }),
  );
  select.value = own?.id ?? "";
  editing.column = select.value;
}

/** A column chosen in the dialog moves the card to the end of that column. */
function moveFromDialog() {
  const column = $("card-column").value;
  if (!editing || !column || column === editing.column) return;
  const target = view().find((each) => each.id === column);
  if (!target) return;
  editing.column = column;
  moveCard(editing.id, column, target.cards.filter((card) => card.id !== editing.id).length);
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
  if (frame.type === "card_edited" && frame.card === editing?.id) followCard();
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
