/**
 * @file A kanban board as the server folds it (collab/boards/kanban.py is the truth): the reducers of its
 * stored events and the order every client agrees on. No DOM, so the test that folds every recorded board
 * log through it (tests/boards/test_js_reducers.py) can import it in Node and keep it in step with Python.
 *
 * A board is `{columns: Map<id, column>, cards: Map<id, card>}` and the reducers change it in place (the
 * page keeps one board; the server's states are immutable because it snapshots them). As on the server,
 * an event that no longer applies (a field of the wrong type, an unknown card or column, a duplicate id)
 * changes nothing: every reducer answers whether it changed the board.
 */

const isText = (value) => typeof value === "string";
const isLabels = (value) => Array.isArray(value) && value.every(isText);
/** A JSON object (what Python's `isinstance(value, dict)` accepts), not an array or null. */
const isRecord = (value) => typeof value === "object" && value !== null && !Array.isArray(value);
/** A map entry only when `key` is a string (ids come off the wire). */
const get = (map, key) => (isText(key) ? map.get(key) : undefined);

/** The fields of a card that `card_edit` changes, in the order conflicts list them. */
export const CARD_FIELDS = Object.freeze(["title", "description", "assignee", "labels"]);

const sameValue = (a, b) =>
  Array.isArray(a) && Array.isArray(b) ? a.length === b.length && a.every((item, i) => item === b[i]) : a === b;

/** The version of `card` that last changed `field` (its current version when not recorded, as in Python). */
export function changedAt(card, field) {
  const version = isRecord(card.changed) ? card.changed[field] : undefined;
  return Number.isInteger(version) ? version : card.version;
}

/** Columns by (rank, id), cards of a column by (rank, id): ranks compare as plain strings, as in Python. */
export const byRank = (a, b) =>
  a.rank < b.rank ? -1 : a.rank > b.rank ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0;

const REDUCERS = {
  column_added(board, e) {
    if (!isText(e.column) || !isText(e.title) || !isText(e.rank) || board.columns.has(e.column)) return false;
    board.columns.set(e.column, { id: e.column, title: e.title, rank: e.rank });
    return true;
  },
  column_renamed(board, e) {
    const column = get(board.columns, e.column);
    if (!column || !isText(e.title)) return false;
    column.title = e.title;
    return true;
  },
  column_moved(board, e) {
    const column = get(board.columns, e.column);
    if (!column || !isText(e.rank)) return false;
    column.rank = e.rank;
    return true;
  },
  column_removed(board, e) {
    if (!get(board.columns, e.column)) return false;
    board.columns.delete(e.column);
    for (const [id, card] of board.cards) if (card.column === e.column) board.cards.delete(id);
    return true;
  },
  columns_rebalanced(board, e) {
    if (!isRecord(e.ranks)) return false;
    for (const [id, rank] of Object.entries(e.ranks)) {
      const column = board.columns.get(id);
      if (column && isText(rank)) column.rank = rank;
    }
    return true;
  },
  card_added(board, e) {
    if (!isText(e.card) || !isText(e.rank) || !isText(e.title) || board.cards.has(e.card)) return false;
    if (!get(board.columns, e.column)) return false;
    board.cards.set(e.card, {
      id: e.card,
      column: e.column,
      rank: e.rank,
      title: e.title,
      description: isText(e.description) ? e.description : "",
      assignee: isText(e.assignee) ? e.assignee : null,
      labels: isLabels(e.labels) ? [...e.labels] : [],
      version: 1,
      changed: Object.fromEntries(CARD_FIELDS.map((field) => [field, 1])),
    });
    return true;
  },
  card_edited(board, e) {
    const card = get(board.cards, e.card);
    if (!card) return false;
    const before = { ...card };
    if (isText(e.title)) card.title = e.title;
    if (isText(e.description)) card.description = e.description;
    if ("assignee" in e && (e.assignee === null || isText(e.assignee))) card.assignee = e.assignee;
    if (isLabels(e.labels)) card.labels = [...e.labels];
    card.version += 1;
    // A field the event carries with the value it had already is not changed by it.
    card.changed = Object.fromEntries(
      CARD_FIELDS.map((field) => [
        field,
        sameValue(card[field], before[field]) ? changedAt(before, field) : card.version,
      ]),
    );
    return true;
  },
  card_moved(board, e) {
    const card = get(board.cards, e.card);
    if (!card || !isText(e.rank) || !get(board.columns, e.column)) return false;
    card.column = e.column;
    card.rank = e.rank;
    return true;
  },
  card_removed(board, e) {
    return isText(e.card) && board.cards.delete(e.card);
  },
  cards_rebalanced(board, e) {
    if (!isText(e.column) || !isRecord(e.ranks)) return false;
    for (const [id, rank] of Object.entries(e.ranks)) {
      const card = board.cards.get(id);
      if (card && card.column === e.column && isText(rank)) card.rank = rank;
    }
    return true;
  },
};

/** The kanban board kind, shaped like the server's `Projection` (see replica.js). */
export const KANBAN = Object.freeze({
  kind: "kanban",
  reducers: REDUCERS,
  /** @returns {{columns: Map<string, any>, cards: Map<string, any>}} */
  initial: () => ({ columns: new Map(), cards: new Map() }),
  /** A board from its JSON form (the `state` frame's `board`), copied. */
  fromJSON: (json) => ({
    columns: new Map(Object.entries(json.columns).map(([id, column]) => [id, { ...column }])),
    cards: new Map(Object.entries(json.cards).map(([id, card]) => [id, { ...card, labels: [...card.labels], ...(isRecord(card.changed) ? { changed: { ...card.changed } } : {}) }])),
  }),
  /** The board in the server's JSON form. */
  toJSON: (board) => ({ columns: Object.fromEntries(board.columns), cards: Object.fromEntries(board.cards) }),
});
