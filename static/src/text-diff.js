// The smallest single change that turns one text into another: what a restore applies to a Y.Text (so it
// is a normal edit, relayed and stored like a keystroke) and what the history panel highlights.

/**
 * The span where `before` and `after` differ: the common prefix and suffix are kept.
 * @param {string} before
 * @param {string} after
 * @returns {{from: number, removed: string, inserted: string}} `removed` is before[from…], `inserted` replaces it
 */
export function textDiff(before, after) {
  let start = 0;
  const shortest = Math.min(before.length, after.length);
  while (start < shortest && before.charCodeAt(start) === after.charCodeAt(start)) start++;
  let end = 0;
  while (
    end < shortest - start &&
    before.charCodeAt(before.length - 1 - end) === after.charCodeAt(after.length - 1 - end)
  ) {
    end++;
  }
  return {
    from: start,
    removed: before.slice(start, before.length - end),
    inserted: after.slice(start, after.length - end),
  };
}

/**
 * Turns a Y.Text into `target` with one delete and one insert, in one transaction of its document.
 * @param {import("yjs").Text} ytext
 * @param {string} target
 * @param {unknown} [origin] the transaction's origin
 * @returns {boolean} whether anything changed
 */
export function setText(ytext, target, origin = null) {
  const { from, removed, inserted } = textDiff(ytext.toString(), target);
  if (!removed && !inserted) return false;
  ytext.doc.transact(() => {
    if (removed) ytext.delete(from, removed.length);
    if (inserted) ytext.insert(from, inserted);
  }, origin);
  return true;
}
