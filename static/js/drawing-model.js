/**
 * @file A drawing board as the server folds it (collab/boards/drawing.py is the truth): the reducers of
 * its stored events. No DOM, so the test that folds every recorded board log through it
 * (tests/boards/test_js_reducers.py) can import it in Node and keep it in step with Python.
 *
 * A board is `{strokes: [{id, user_id, points, color, width, tool}]}`, strokes in the order they were
 * stored (the order they are painted in); the reducers change it in place. As on the server, an event
 * that no longer applies changes nothing: `stroke_added` answers "added" (the page paints just that
 * stroke on top), the others whether they changed the board.
 */

const REDUCERS = {
  stroke_added(board, e) {
    if (typeof e.stroke !== "string" || board.strokes.some((s) => s.id === e.stroke)) return false;
    if (!Array.isArray(e.points) || typeof e.color !== "string" || typeof e.tool !== "string") return false;
    if (typeof e.width !== "number") return false;
    board.strokes.push({ id: e.stroke, user_id: e.user_id, points: e.points, color: e.color, width: e.width, tool: e.tool });
    return "added";
  },
  /** `stroke_erased` and `stroke_undone`: the stroke goes, wherever it is in the stack. */
  stroke_removed(board, e) {
    const before = board.strokes.length;
    board.strokes = board.strokes.filter((s) => s.id !== e.stroke);
    return board.strokes.length !== before;
  },
  board_cleared(board) {
    const had = board.strokes.length > 0;
    board.strokes = [];
    return had;
  },
};

/** The drawing board kind, shaped like the server's `Projection` (see replica.js). */
export const DRAWING = Object.freeze({
  kind: "draw",
  reducers: {
    stroke_added: REDUCERS.stroke_added,
    stroke_erased: REDUCERS.stroke_removed,
    stroke_undone: REDUCERS.stroke_removed,
    board_cleared: REDUCERS.board_cleared,
  },
  /** @returns {{strokes: any[]}} */
  initial: () => ({ strokes: [] }),
  /** A board from its JSON form (the `state` frame's `board`), copied. */
  fromJSON: (json) => ({ strokes: json.strokes.map((stroke) => ({ ...stroke })) }),
  /** The board in the server's JSON form. */
  toJSON: (board) => ({ strokes: board.strokes }),
});
