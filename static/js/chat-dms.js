/**
 * @file The chat page's direct-message conversations (static/js/chat.js): what this browser knows of
 * them, kept in localStorage per user, merged with the server's list (`list_dms`, docs/protocol.md "The
 * list of conversations"), so a conversation another user began while none of this user's pages was
 * open is there too, with its unread count.
 */

/** Conversations kept per user in localStorage (the most recent), and how many are followed live. */
export const DMS_KEEP = 100;
export const DMS_FOLLOWED = 50;

/**
 * One conversation: the other user (`peer`) and their `name`, the pair's `channel` (null until its
 * first message), the last `seq` known, the `read` position, and `at`, the time of its last message (ms).
 * @typedef {{peer: string, name: string, channel: string|null, seq: number, read: number, at: number}} Dm
 */

const storageKey = (userId) => `collab.chat.dms.${userId}`;

/** A whole number ≥ 0 from what storage or the server gave (anything else: 0). @returns {number} */
const whole = (value) => (Number.isSafeInteger(value) && value > 0 ? value : 0);

export class Conversations {
  /** @param {() => string|null} peerInView the peer of the conversation in view (null: a room is) */
  constructor(peerInView) {
    /** @type {Map<string, Dm>} by peer */
    this.all = new Map();
    /** The user whose conversations are loaded (from localStorage, on `welcome`). */
    this.owner = null;
    this._inView = peerInView;
  }

  /** @param {string} peer @returns {Dm|undefined} */
  get(peer) {
    return this.all.get(peer);
  }

  /** @returns {IterableIterator<Dm>} */
  values() {
    return this.all.values();
  }

  /**
   * The conversation with `peer`, made if new; `name` replaces the one known.
   * @param {string} peer @param {string} [name] @returns {Dm}
   */
  open(peer, name) {
    let dm = this.all.get(peer);
    if (!dm) {
      dm = { peer, name: name ?? peer, channel: null, seq: 0, read: 0, at: Date.now() };
      this.all.set(peer, dm);
    } else if (name) {
      dm.name = name;
    }
    return dm;
  }

  /** @param {Dm} dm @returns {number} its unread messages (none while in view) */
  unread(dm) {
    return this._inView() === dm.peer ? 0 : Math.max(0, dm.seq - dm.read);
  }

  /** @param {number} count @returns {Dm[]} the `count` most recent conversations that have a channel */
  recent(count) {
    return [...this.all.values()]
      .filter((dm) => dm.channel)
      .sort((a, b) => b.at - a.at)
      .slice(0, count);
  }

  /** Keeps the conversations in localStorage (one nobody wrote in yet only while in view). */
  save() {
    if (!this.owner) return;
    const kept = [...this.all.values()]
      .filter((dm) => dm.channel || dm.peer === this._inView())
      .sort((a, b) => b.at - a.at)
      .slice(0, DMS_KEEP);
    try {
      localStorage.setItem(storageKey(this.owner), JSON.stringify(kept));
    } catch {
      // Storage full or refused: the conversations live as long as the page.
    }
  }

  /** Adds the conversations stored for `userId` to those the page has (a known one keeps its place). */
  load(userId) {
    this.owner = userId;
    let stored = [];
    try {
      stored = JSON.parse(localStorage.getItem(storageKey(userId)) ?? "[]");
    } catch {
      stored = [];
    }
    if (!Array.isArray(stored)) return;
    for (const entry of stored) {
      if (!entry || typeof entry.peer !== "string") continue;
      const dm = this.open(entry.peer);
      if (dm.name === dm.peer && typeof entry.name === "string") dm.name = entry.name;
      if (typeof entry.channel === "string") dm.channel = entry.channel;
      dm.seq = Math.max(dm.seq, whole(entry.seq));
      dm.read = Math.max(dm.read, whole(entry.read));
      dm.at = Number(entry.at) || 0;
    }
  }

  /**
   * Merges a `dms` frame's entries: a conversation this browser never saw is added (its messages count
   * as unread up to the server's read position), a known one moves on to the server's head and read
   * position (the user may have read it in another browser). Malformed entries are skipped.
   * @param {unknown} entries the frame's `dms`
   * @returns {Dm[]} the conversations whose channel this page did not know before
   */
  merge(entries) {
    const learned = [];
    if (!Array.isArray(entries)) return learned;
    for (const entry of entries) {
      if (!entry || typeof entry.peer !== "string" || !entry.peer || typeof entry.channel !== "string") continue;
      const name = typeof entry.peer_name === "string" && entry.peer_name ? entry.peer_name : undefined;
      const known = this.all.has(entry.peer);
      const dm = this.open(entry.peer, name);
      if (dm.channel !== entry.channel) learned.push(dm);
      dm.channel = entry.channel;
      dm.seq = Math.max(dm.seq, whole(entry.seq));
      dm.read = Math.min(dm.seq, Math.max(dm.read, whole(entry.last_read)));
      // Placed by its last message (a new one is not "now": it may be old news).
      const at = Date.parse(entry.last_event_at);
      const last = Number.isNaN(at) ? 0 : at;
      dm.at = known ? Math.max(dm.at, last) : last;
    }
    return learned;
  }
}
