/**
 * @file A board as a page holds it (docs/boards.md): the `state` frame the server sends on every join,
 * then every stored event with a higher seq folded in with the board kind's reducers (kanban-model.js,
 * drawing-model.js). No DOM: the pages use it, and so does the Node driver of the reducer test.
 */

/**
 * A board kind as the pages know it (the server's `Projection`, collab/projections/base.py).
 * @typedef {object} BoardKind
 * @property {string} kind
 * @property {Record<string, (board: any, event: any) => any>} reducers change the board in place and
 *           answer what changed (false: nothing)
 * @property {() => any} initial
 * @property {(json: any) => any} fromJSON  the board of a `state` frame
 * @property {(board: any) => any} toJSON   the board in the server's JSON form
 */

export class Replica {
  /** @param {BoardKind} kind */
  constructor(kind) {
    this.kind = kind;
    /** The board, null until the first `state` frame. */
    this.board = null;
    /** The seq of the last event in `board`. */
    this.seq = 0;
  }

  /**
   * Takes one frame of the board's channel.
   * @param {any} frame
   * @returns {any} null when the frame changes nothing here (not a board frame, before the first `state`,
   *   which includes it, or seen already); "state" for a `state` frame; else the reducer's answer
   */
  receive(frame) {
    if (frame.type === "state") {
      this.board = this.kind.fromJSON(frame.board);
      this.seq = frame.seq;
      return "state";
    }
    if (!Object.hasOwn(this.kind.reducers, frame.type) || typeof frame.seq !== "number") return null;
    if (this.board === null || frame.seq <= this.seq) return null;
    this.seq = frame.seq;
    return this.kind.reducers[frame.type](this.board, frame);
  }
}
