// The editor's identity without a token: a guest token from `POST /api/guests`, stored where the chat
// page keeps the guest token its `welcome` gives (localStorage "collab.token"), so that one person keeps
// one id across connections and visits (docs/editor.md, "Guest tokens over HTTP").

import { TOKEN_KEY } from "../js/ui.js";

/**
 * A new guest token for `nickname`, stored; null when the server gives none (guests not allowed,
 * unreachable): the caller connects with `?nickname=` then, a new guest per connection.
 * @param {string} nickname
 * @returns {Promise<string|null>}
 */
export async function fetchGuestToken(nickname) {
  try {
    const answer = await fetch("/api/guests", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ nickname }),
    });
    if (answer.status !== 201) return null;
    const { token } = await answer.json();
    if (typeof token !== "string" || !token) return null;
    localStorage.setItem(TOKEN_KEY, token);
    return token;
  } catch {
    return null;
  }
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
