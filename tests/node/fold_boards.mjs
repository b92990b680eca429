// Folds board frames through the pages' own reducers (static/js/replica.js with kanban-model.js or
// drawing-model.js), as a page does. Run by tests/boards/test_js_reducers.py; by hand:
//
//   echo '[{"kind": "kanban", "frames": [{"type": "state", "seq": 0, "board": {"columns": {}, "cards": {}}}]}]' \
//     | node tests/node/fold_boards.mjs
//
// stdin: a JSON list of cases `{kind, frames}` (`kind` as in the fixtures: "kanban" or "draw"); stdout: a
// JSON list with, per case, `{seq, board}`: the replica's seq and its board in the server's JSON form.
import { readFileSync } from "node:fs";
import { DRAWING } from "../../static/js/drawing-model.js";
import { KANBAN } from "../../static/js/kanban-model.js";
import { Replica } from "../../static/js/replica.js";

const KINDS = { [KANBAN.kind]: KANBAN, [DRAWING.kind]: DRAWING };

const cases = JSON.parse(readFileSync(0, "utf8"));
const results = cases.map(({ kind, frames }) => {
  if (!Object.hasOwn(KINDS, kind)) throw new Error(`no board kind ${JSON.stringify(kind)}`);
  const replica = new Replica(KINDS[kind]);
  for (const frame of frames) replica.receive(frame);
  return { seq: replica.seq, board: replica.board === null ? null : KINDS[kind].toJSON(replica.board) };
});
process.stdout.write(JSON.stringify(results));
