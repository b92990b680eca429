// The editor's identity without a token: a guest token from `POST /api/guests`, stored where the chat
// page keeps the guest token its `welcome` gives (localStorage "collab.token"), so that one person keeps
// one id across connections and visits (docs/editor.md, "Guest tokens over HTTP").

import { TOKEN_KEY } from "../js/ui.js";

/**
 * A new guest token for `nickname` (a made-up name without one), stored. `refused`: the server's reason
 * when it admits no guests (403), so the page shows its signed-out state; both null when the server is
 * out of reach (the editor works offline then).
 * @param {string} [nickname]
 * @returns {Promise<{token: string|null, refused: string|null}>}
 */
export async function requestGuest(nickname) {
  try {
    const answer = await fetch("/api/guests", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ nickname }),
    });
    if (answer.status === 403) {
      const body = await answer.json().catch(() => ({}));
      return { token: null, refused: body.message ?? "guests are not allowed" };
    }
    if (answer.status !== 201) return { token: null, refused: null };
    const { token } = await answer.json();
    if (typeof token !== "string" || !token) return { token: null, refused: null };
    localStorage.setItem(TOKEN_KEY, token);
    return { token, refused: null };
  } catch {
    return { token: null, refused: null };
  }
}

/**
 * A new guest token for `nickname`, stored; null when the server gives none (guests not allowed,
 * unreachable): the caller connects with `?nickname=` then, a new guest per connection.
 * @param {string} nickname
 * @returns {Promise<string|null>}
 */
export async function fetchGuestToken(nickname) {
  return (await requestGuest(nickname)).token;
}

/** The claims of a JWT, unverified (the server verifies; this only decides how the page looks). */
export function claims(token) {
  try {
    const part = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    return JSON.parse(atob(part));
  } catch {
    return {};
  }
}

/** Whether a token is a guest token (its name can change by taking a new one). */
export function isGuestToken(token) {
  return claims(token).iss === "collab-guest";
}
