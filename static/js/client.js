/**
 * @file The browser client of collab's JSON channel socket (`GET /ws`, see docs/protocol.md).
 *
 * One `CollabClient` is one socket: a home channel plus any extra subscriptions. It keeps the last
 * `seq` it has seen per channel, reconnects with exponential backoff and full jitter, resumes every
 * channel with `since=<last seq>`, drops stored events it has seen already (so a page shows each
 * event once, in order, whatever the network did) and re-sends operations the server has not
 * acknowledged yet with their original `id` (so a retry is never stored twice).
 *
 * No dependencies; an ES module. See docs/client.md for a walk-through.
 *
 * @example
 * import { CollabClient } from "/static/js/client.js";
 * const client = new CollabClient({ channel: "general", nickname: "ada" });
 * client.on("statechange", ({ state }) => console.log(state));
 * client.on("message", (frame) => console.log(frame.seq, frame.nickname, frame.content));
 * client.connect();
 * await client.message("hello").ack;
 */

/**
 * Where the client is in its life:
 * - `idle`: created, `connect()` not called yet;
 * - `connecting`: the first attempt (or the first after `switchChannel`);
 * - `open`: the server has said `welcome`;
 * - `reconnecting`: the socket was lost; waiting for the backoff timer or trying again;
 * - `offline`: the browser reports no network; tries again as soon as it comes back;
 * - `closed`: `close()` was called, or the server refused us for good (bad token, private channel).
 * @typedef {"idle"|"connecting"|"open"|"reconnecting"|"offline"|"closed"} ConnectionState
 */

/**
 * A frame as it travels on the socket: a JSON object with a string `type`.
 * @typedef {{type: string, channel?: string, seq?: number, id?: string, [key: string]: any}} Frame
 */

/**
 * An operation sent with an `id` (message, publish, private): kept until the server echoes that
 * `id` in a stored event (resolve) or an `error` (reject), and re-sent after every reconnect meanwhile.
 * @typedef {object} PendingOp
 * @property {string} id          the operation's id (also on `frame.id`)
 * @property {Frame} frame        what is (re-)sent
 * @property {Promise<Frame>} ack resolves with the stored event that echoes `id`; rejects with an
 *                                `Error` whose `frame` is the server's `error` frame (or on `close()`)
 */

/** Server frames that are not stored events, even when they carry a `seq`. */
const CONTROL_TYPES = new Set([
  "welcome",
  "subscribed",
  "unsubscribed",
  "rooms",
  "presence",
  "presence_diff",
  "system",
  "error",
  "pong",
  "read",
  "state",
  "users_update",
  "heads",
  "dms",
]);

/** WebSocket close codes the server uses (docs/protocol.md, "Limits, heartbeats and close codes"). */
export const CloseCode = Object.freeze({
  NORMAL: 1000,
  GOING_AWAY: 1001,
  POLICY_VIOLATION: 1008,
  MESSAGE_TOO_BIG: 1009,
  TRY_AGAIN_LATER: 1013,
});

/**
 * The delay before reconnect attempt number `attempt` (0 for the first): exponential backoff with
 * "full jitter" — a uniform random pick in [0, min(cap, base·2^attempt)) — so that the clients a
 * server restart disconnected all at once do not all come back at once.
 * @param {number} attempt
 * @param {number} base   ms
 * @param {number} cap    ms
 * @param {() => number} [random] a uniform [0, 1) source (tests pass their own)
 * @returns {number} ms
 */
export function backoffDelay(attempt, base, cap, random = Math.random) {
  const ceiling = Math.min(cap, base * 2 ** Math.min(attempt, 30));
  return Math.floor(random() * ceiling);
}

/**
 * A fresh random id for an operation: `crypto.randomUUID()` where the page is a secure context,
 * else a version-4 UUID from `crypto.getRandomValues` (which plain-HTTP pages on a LAN address have).
 * @returns {string}
 */
export function newId() {
  if (typeof crypto.randomUUID === "function") return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/**
 * A socket URL on the page's own server (`ws:` or `wss:` to match the page).
 * @param {string} [path] `/ws` (the channel socket) or `/ws/doc` (the editor's, y-websocket adds the name)
 * @returns {string}
 */
export function defaultSocketUrl(path = "/ws") {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${location.host}${path}`;
}

/**
 * A reconnecting, resuming client of one `/ws` socket.
 *
 * Events (use `on(type, handler)`; the handler gets the frame or the detail object):
 * - `statechange` `{state, previous, delay?, reason?}` — see {@link ConnectionState}; `delay` is the
 *   backoff before the next attempt when `state` is `reconnecting`;
 * - one event per server frame type (`welcome`, `message`, `event`, `private`, `rooms`, `room_added`,
 *   `presence`, `presence_diff`, `system`, `read`, `subscribed`, `unsubscribed`, `state`, `error`,
 *   `pong`, …), stored events only once and in seq order per channel;
 * - `frame` — every frame that got through, whatever its type;
 * - `fatal` `{code, reason, error}` — the server refused us for good; the state is `closed`;
 * - `gap` `{channel, expected, got}` — a stored event skipped a seq (the client resyncs by reconnecting).
 */
export class CollabClient {
  /**
   * @param {object} [options]
   * @param {string} [options.url]         socket URL; default the page's own `/ws`
   * @param {string} [options.channel]     home channel (default `general`)
   * @param {string} [options.nickname]    the name a guest shows
   * @param {string} [options.token]       a JWT, or the guest token a previous `welcome` gave
   * @param {number} [options.since]       resume the home channel after this seq (0: whole history);
   *                                       omitted: live events only
   * @param {() => (string|null|Promise<string|null>)} [options.refreshToken] called when the server
   *        refuses the token (`unauthorized`); its answer (`null`: connect as a guest) is tried once
   * @param {{base?: number, cap?: number}} [options.backoff]   ms; default 500 and 15000
   * @param {{interval?: number, timeout?: number}} [options.heartbeat] ms; after `interval` without a
   *        frame the client pings, and gives the socket up when nothing arrives `timeout` ms later
   *        (default 15000 and 5000): a socket can stay "open" on a dead network for minutes
   * @param {number} [options.maxFrameBytes] larger frames are refused before sending (the server
   *        would close the socket with 1009); default 1 MiB − 1
   * @param {typeof WebSocket} [options.WebSocket] the WebSocket class (tests may pass a fake)
   */
  constructor(options = {}) {
    this.url = options.url ?? defaultSocketUrl();
    /** @type {string} */
    this.channel = options.channel ?? "general";
    this.nickname = options.nickname ?? null;
    /** @type {string|null} */
    this.token = options.token ?? null;
    this.refreshToken = options.refreshToken ?? null;
    this.backoff = { base: 500, cap: 15000, ...options.backoff };
    this.heartbeat = { interval: 15000, timeout: 5000, ...options.heartbeat };
    this.maxFrameBytes = options.maxFrameBytes ?? 1024 * 1024 - 1;
    this.WebSocket = options.WebSocket ?? globalThis.WebSocket;

    /** @type {ConnectionState} */
    this.state = "idle";
    /** The `client_id` and `user` of the last `welcome`. */
    this.clientId = null;
    /** @type {{id: string, name: string, roles: string[], guest: boolean}|null} */
    this.user = null;
    /** Per channel, the last seq seen (a resume asks for what comes after it). @type {Map<string, number>} */
    this.positions = new Map();
    if (options.since != null) this.positions.set(this.channel, options.since);
    /** Extra channels (beyond the home one) and the `since` asked for when first subscribed. @type {Map<string, number|null>} */
    this.subscriptions = new Map();
    /** Operations not acknowledged yet, in the order they were made. @type {Map<string, PendingOp & {channel: string|null, resolve: Function, reject: Function}>} */
    this.pending = new Map();

    this._events = new EventTarget();
    this._socket = null;
    // Each socket gets a generation; callbacks of an abandoned socket see a newer one and do nothing.
    // (Chromium keeps a socket "open" while the network is gone; it may fire much later.)
    this._generation = 0;
    /** Channels this socket may send to right now: home after `welcome`, extras after `subscribed`. */
    this._ready = new Set();
    this._attempt = 0;
    this._retryTimer = null;
    this._heartbeatTimer = null;
    this._deadlineTimer = null;
    this._lastFrameAt = 0;
    this._opened = false;
    this._refreshed = false;
    this._lastError = null;
    this._started = false;
    this._onOnline = () => this._networkBack();
    this._onOffline = () => this._networkGone();
  }

  // -- events --------------------------------------------------------------------------------

  /**
   * Listen to an event (see the class comment).
   * @param {string} type
   * @param {(detail: any) => void} handler
   * @returns {() => void} a function that removes the handler
   */
  on(type, handler) {
    const listener = (event) => handler(event.detail);
    this._events.addEventListener(type, listener);
    return () => this._events.removeEventListener(type, listener);
  }

  /** @param {string} type @param {any} detail */
  _emit(type, detail) {
    this._events.dispatchEvent(new CustomEvent(type, { detail }));
  }

  /** @param {ConnectionState} state @param {object} [extra] */
  _setState(state, extra = {}) {
    const previous = this.state;
    this.state = state;
    if (previous !== state || extra.delay !== undefined) this._emit("statechange", { state, previous, ...extra });
  }

  // -- lifecycle -----------------------------------------------------------------------------

  /** Start connecting (and keep reconnecting until `close()`). */
  connect() {
    if (this.state !== "idle" && this.state !== "closed") return;
    if (typeof window !== "undefined") {
      window.addEventListener("online", this._onOnline);
      window.addEventListener("offline", this._onOffline);
    }
    this._started = true;
    this._attempt = 0;
    this._open();
  }

  /**
   * Close for good: no reconnect; unacknowledged operations are rejected.
   * @param {string} [reason]
   */
  close(reason = "client closed") {
    this._started = false;
    this._abandonSocket(CloseCode.NORMAL, reason);
    clearTimeout(this._retryTimer);
    if (typeof window !== "undefined") {
      window.removeEventListener("online", this._onOnline);
      window.removeEventListener("offline", this._onOffline);
    }
    for (const op of this.pending.values()) op.reject(new Error("the client was closed"));
    this.pending.clear();
    this._setState("closed", { reason });
  }

  /**
   * Make `channel` the home channel: the socket is replaced by one for `channel` (extra
   * subscriptions and unacknowledged operations carry over). A channel seen before resumes after
   * its last seq; a new one after `since` (omitted: live events only).
   * @param {string} channel
   * @param {{since?: number}} [options]
   */
  switchChannel(channel, { since } = {}) {
    this.channel = channel;
    this.subscriptions.delete(channel);
    if (since != null && !this.positions.has(channel)) this.positions.set(channel, since);
    this._abandonSocket(CloseCode.NORMAL, "switching channel");
    clearTimeout(this._retryTimer);
    this._opened = false;
    this._attempt = 0;
    // After a refusal (a private room) another channel may well be allowed; after close(), nothing opens.
    if (this._started) this._open();
  }

  /**
   * Forget the last seq seen on `channel` (the next join or subscribe starts over).
   * @param {string} channel
   */
  forget(channel) {
    this.positions.delete(channel);
  }

  /**
   * The last seq seen on `channel`, or `undefined`.
   * @param {string} channel
   * @returns {number|undefined}
   */
  lastSeq(channel) {
    return this.positions.get(channel);
  }

  _socketUrl() {
    const url = new URL(this.url, typeof location !== "undefined" ? location.href : undefined);
    url.searchParams.set("channel", this.channel);
    // A room someone creates arrives as one `room_added` frame, not as a whole new `rooms` list.
    url.searchParams.set("room_changes", "1");
    if (this.nickname) url.searchParams.set("nickname", this.nickname);
    const since = this.positions.get(this.channel);
    if (since != null) url.searchParams.set("since", String(since));
    return url.toString();
  }

  _open() {
    clearTimeout(this._retryTimer);
    // Never two sockets: one still opening would live on at the server as a second session.
    if (this._socket) this._abandonSocket(CloseCode.NORMAL, "replaced");
    if (typeof navigator !== "undefined" && navigator.onLine === false) {
      this._networkGone();
      return;
    }
    this._setState(this._opened ? "reconnecting" : "connecting");
    const generation = ++this._generation;
    this._ready.clear();
    this._lastError = null;
    let socket;
    try {
      // The token travels as a subprotocol, not in the URL that proxies log (docs/protocol.md).
      const protocols = this.token ? ["collab.auth", `collab.token.${this.token}`] : [];
      socket = new this.WebSocket(this._socketUrl(), protocols);
    } catch (error) {
      this._lost(`cannot open the socket: ${error}`);
      return;
    }
    this._socket = socket;
    socket.onmessage = (event) => {
      if (generation === this._generation) this._receive(event.data);
    };
    socket.onclose = (event) => {
      if (generation === this._generation) this._closed(event.code, event.reason);
    };
    // An error is always followed by a close event: that is where we act.
    socket.onerror = () => {};
  }

  /**
   * Stop using the current socket without waiting for it: its callbacks are ignored from now on.
   * @param {number} code @param {string} reason
   */
  _abandonSocket(code, reason) {
    this._generation += 1;
    this._stopHeartbeat();
    this._ready.clear();
    const socket = this._socket;
    this._socket = null;
    if (socket && socket.readyState <= 1) {
      try {
        socket.close(code, reason.slice(0, 120));
      } catch {
        // Already closing: nothing to do.
      }
    }
  }

  /** @param {number} code @param {string} reason */
  async _closed(code, reason) {
    this._socket = null;
    this._stopHeartbeat();
    this._ready.clear();
    if (this.state === "closed") return;
    if (code === CloseCode.POLICY_VIOLATION) {
      const error = this._lastError;
      // A refused channel says `forbidden` just before the close; with no error right before it, the
      // token expired (or was revoked) while connected.
      const tokenRefused = error === null || error.code === "unauthorized";
      if (tokenRefused && this.refreshToken && !this._refreshed) {
        // A stale token (a guest token from another server secret, an expired JWT): ask once for another.
        this._refreshed = true;
        const generation = this._generation;
        this.token = (await this.refreshToken()) ?? null;
        if (generation === this._generation && this.state !== "closed") this._open();
        return;
      }
      this._setState("closed", { reason: reason || error?.message || "refused by the server" });
      this._emit("fatal", { code, reason, error });
      return;
    }
    this._lost(reason || `socket closed (${code})`);
  }

  /** The socket is gone: try again after a backoff delay. @param {string} reason */
  _lost(reason) {
    this._socket = null;
    if (typeof navigator !== "undefined" && navigator.onLine === false) {
      this._networkGone();
      return;
    }
    const delay = backoffDelay(this._attempt, this.backoff.base, this.backoff.cap);
    this._attempt += 1;
    this._opened = true;
    this._setState("reconnecting", { delay, reason });
    clearTimeout(this._retryTimer);
    this._retryTimer = setTimeout(() => this._open(), delay);
  }

  _networkGone() {
    if (this.state === "closed") return;
    this._abandonSocket(CloseCode.GOING_AWAY, "network gone");
    this._opened = true;
    this._setState("offline");
    // Browsers do not always say when the network is back: try again now and then anyway.
    clearTimeout(this._retryTimer);
    this._retryTimer = setTimeout(() => this._open(), this.backoff.cap);
  }

  _networkBack() {
    if (this.state !== "offline" && this.state !== "reconnecting") return;
    if (this._socket) return; // an attempt is under way already
    this._attempt = 0;
    this._open();
  }

  // -- heartbeat -----------------------------------------------------------------------------

  _startHeartbeat() {
    this._stopHeartbeat();
    const { interval, timeout } = this.heartbeat;
    if (!(interval > 0)) return;
    this._heartbeatTimer = setInterval(() => {
      if (this._deadlineTimer !== null || performance.now() - this._lastFrameAt < interval) return;
      const pingedAt = performance.now();
      this.send({ type: "ping" });
      this._deadlineTimer = setTimeout(() => {
        this._deadlineTimer = null;
        if (this._lastFrameAt < pingedAt) {
          this._abandonSocket(CloseCode.GOING_AWAY, "heartbeat timeout");
          this._lost("no answer to ping");
        }
      }, timeout);
    }, Math.max(50, interval / 2));
  }

  _stopHeartbeat() {
    clearInterval(this._heartbeatTimer);
    clearTimeout(this._deadlineTimer);
    this._heartbeatTimer = null;
    this._deadlineTimer = null;
  }

  // -- receiving -----------------------------------------------------------------------------

  /** @param {string} text */
  _receive(text) {
    this._lastFrameAt = performance.now();
    let frame;
    try {
      frame = JSON.parse(text);
    } catch {
      console.warn("collab: ignoring a frame that is not JSON", text);
      return;
    }
    if (!frame || typeof frame.type !== "string") return;
    // Only an error that is the socket's last word explains a close that follows (see _closed).
    this._lastError = frame.type === "error" ? frame : null;
    switch (frame.type) {
      case "welcome":
        this._welcome(frame);
        break;
      case "subscribed":
        if (!this.positions.has(frame.channel)) this.positions.set(frame.channel, frame.seq);
        this._ready.add(frame.channel);
        this._emit("subscribed", frame);
        this._emit("frame", frame);
        this._flushPending(frame.channel);
        return;
      case "error":
        this._error(frame);
        break;
      case "state":
        // A resume that reached past what the server keeps: the state replaces the history.
        if (typeof frame.seq === "number" && frame.channel) this.positions.set(frame.channel, frame.seq);
        break;
      default:
        if (!CONTROL_TYPES.has(frame.type) && typeof frame.seq === "number" && frame.channel) {
          if (!this._stored(frame)) return;
        }
    }
    this._emit(frame.type, frame);
    this._emit("frame", frame);
  }

  /** @param {Frame} frame */
  _welcome(frame) {
    this.clientId = frame.client_id;
    this.user = frame.user;
    if (frame.token) this.token = frame.token;
    if (!this.positions.has(this.channel)) this.positions.set(this.channel, frame.seq);
    this._ready.add(this.channel);
    this._attempt = 0;
    this._opened = true;
    this._refreshed = false;
    this._setState("open");
    this._startHeartbeat();
    for (const [channel, since] of this.subscriptions) this._sendSubscribe(channel, since);
    // After the event is emitted: the page sees `welcome` before the echoes of its retries.
    queueMicrotask(() => this._flushPending(this.channel));
  }

  /**
   * A stored event: acknowledge its id, then let it through only if it is the next one.
   * @param {Frame} frame
   * @returns {boolean} whether to emit it
   */
  _stored(frame) {
    // The echo acknowledges even when it is a duplicate (a retry answered with the stored event).
    if (typeof frame.id === "string" && this.pending.has(frame.id)) {
      const op = this.pending.get(frame.id);
      if (!this.user || frame.user_id === this.user.id) {
        this.pending.delete(frame.id);
        op.resolve(frame);
      }
    }
    const channel = frame.channel;
    const last = this.positions.get(channel);
    if (last !== undefined && frame.seq <= last) return false;
    if (last !== undefined && frame.seq > last + 1 && this._ready.has(channel)) {
      // A hole in a channel we follow: never show events out of order; resume from `last` instead.
      console.warn(`collab: ${channel} jumped from seq ${last} to ${frame.seq}; resyncing`);
      this._emit("gap", { channel, expected: last + 1, got: frame.seq });
      this._abandonSocket(CloseCode.NORMAL, "resync");
      this._lost("resync after a gap");
      return false;
    }
    this.positions.set(channel, frame.seq);
    return true;
  }

  /** @param {Frame} frame */
  _error(frame) {
    if (typeof frame.id === "string" && this.pending.has(frame.id)) {
      const op = this.pending.get(frame.id);
      this.pending.delete(frame.id);
      const error = new Error(frame.message || frame.code);
      error.frame = frame;
      op.reject(error);
    } else if (frame.code === "rate_limited" && this.pending.size) {
      // The frame was dropped unread: its operation is retried (the id keeps that idempotent).
      setTimeout(() => {
        for (const op of this.pending.values()) this._sendPending(op);
      }, 1000);
    }
  }

  // -- sending -------------------------------------------------------------------------------

  /**
   * Send one frame as is when the socket is open.
   * @param {Frame} frame
   * @returns {boolean} whether it was sent (false while not connected: nothing is queued)
   * @throws {RangeError} when the frame is as large as the server's limit
   */
  send(frame) {
    const text = JSON.stringify(frame);
    if (text.length * 3 >= this.maxFrameBytes && new TextEncoder().encode(text).length >= this.maxFrameBytes) {
      throw new RangeError(`frame of ${text.length} characters is over the server's limit`);
    }
    const socket = this._socket;
    if (!socket || socket.readyState !== 1 || !this._ready.size) return false;
    socket.send(text);
    return true;
  }

  /**
   * Send `frame` with an id now or as soon as its channel is ready, and again after every reconnect
   * until the server acknowledges it.
   * @param {Frame} frame
   * @param {string|null} channel the channel it must go to (null: any socket will do)
   * @returns {PendingOp}
   */
  request(frame, channel) {
    const id = frame.id ?? newId();
    const full = { ...frame, id };
    // Checked up front: an oversized frame would close the socket on every retry.
    const size = new TextEncoder().encode(JSON.stringify(full)).length;
    if (size >= this.maxFrameBytes) throw new RangeError(`frame of ${size} bytes is over the server's limit`);
    let resolve;
    let reject;
    const ack = new Promise((res, rej) => {
      resolve = res;
      reject = rej;
    });
    // Callers that do not await `ack` must not get "unhandled rejection" noise.
    ack.catch(() => {});
    const op = { id, frame: full, ack, channel, resolve, reject };
    this.pending.set(id, op);
    this._sendPending(op);
    return { id, frame: full, ack };
  }

  /** @param {{frame: Frame, channel: string|null}} op */
  _sendPending(op) {
    if (op.channel !== null && !this._ready.has(op.channel)) return;
    const frame = { ...op.frame };
    // A chat message goes to the socket's home channel unless it names another subscribed one.
    if (frame.type === "message" && op.channel !== this.channel) frame.channel = op.channel;
    this.send(frame);
  }

  /** @param {string} channel */
  _flushPending(channel) {
    for (const op of this.pending.values()) {
      if (op.channel === channel || op.channel === null) this._sendPending(op);
    }
  }

  /**
   * A chat message (to the home channel, or to another subscribed one).
   * @param {string} content
   * @param {{channel?: string, id?: string}} [options]
   * @returns {PendingOp}
   */
  message(content, { channel = this.channel, id } = {}) {
    return this.request({ type: "message", content, ...(id ? { id } : {}) }, channel);
  }

  /**
   * A direct message to a user (`user:<id>`) or a connected client id.
   * @param {string} target
   * @param {string} content
   * @param {{id?: string}} [options] `id`: an operation id made before (a message kept across a reload)
   * @returns {PendingOp}
   */
  privateMessage(target, content, { id } = {}) {
    return this.request({ type: "private", target, content, ...(id ? { id } : {}) }, null);
  }

  /**
   * A pub/sub event on a subscribed channel (or the home one).
   * @param {string} channel
   * @param {string} event
   * @param {any} data
   * @returns {PendingOp}
   */
  publish(channel, event, data) {
    return this.request({ type: "publish", channel, event, data }, channel);
  }

  /**
   * Follow another channel on this socket; kept across reconnects (resumed after its last seq).
   * @param {string} channel
   * @param {{since?: number}} [options] `since`: replay after this seq the first time (omitted: live only)
   */
  subscribe(channel, { since } = {}) {
    if (channel === this.channel || this.subscriptions.has(channel)) return;
    this.subscriptions.set(channel, since ?? null);
    if (this._ready.has(this.channel)) this._sendSubscribe(channel, since ?? null);
  }

  /**
   * Whether the socket is in `channel` now (its `welcome` or `subscribed` came): frames that need it,
   * like `read`, are refused otherwise.
   * @param {string} channel
   * @returns {boolean}
   */
  joined(channel) {
    return this._ready.has(channel);
  }

  /** @param {string} channel */
  unsubscribe(channel) {
    if (!this.subscriptions.delete(channel)) return;
    this._ready.delete(channel);
    this.send({ type: "unsubscribe", channel });
  }

  /** @param {string} channel @param {number|null} since */
  _sendSubscribe(channel, since) {
    const last = this.positions.get(channel) ?? since;
    if (last != null) this.positions.set(channel, last);
    this.send({ type: "subscribe", channel, ...(last != null ? { since: last } : {}) });
  }

  /**
   * Tell the server (and the channel's members) how far this user has read.
   * @param {number} seq
   * @param {string} [channel]
   * @returns {boolean} whether it was sent
   */
  markRead(seq, channel = this.channel) {
    return this.send({ type: "read", channel, seq });
  }

  /** Ask for the room list again (answered with a `rooms` frame). @returns {boolean} */
  listRooms() {
    return this.send({ type: "list_rooms" });
  }

  /**
   * Ask for the user's direct-message conversations (answered with a `dms` frame).
   * @param {{limit?: number, before?: string}} [options] `limit`: 1–200 (the server's default: 50);
   *        `before`: the `next` of an earlier `dms` frame, for the page after it
   * @returns {boolean} whether it was sent
   */
  listDms({ limit, before } = {}) {
    return this.send({ type: "list_dms", ...(limit != null ? { limit } : {}), ...(before != null ? { before } : {}) });
  }

  /**
   * Create a chat room (this socket then gets a new `rooms` list, the others `room_added`).
   * @param {string} name
   * @param {{private?: boolean, members?: string[]}} [options]
   * @returns {boolean} whether it was sent
   */
  createRoom(name, { private: isPrivate = false, members } = {}) {
    return this.send({ type: "create_room", name, ...(isPrivate ? { private: true, members: members ?? [] } : {}) });
  }

  /** @returns {boolean} whether it was sent */
  ping() {
    return this.send({ type: "ping" });
  }
}
