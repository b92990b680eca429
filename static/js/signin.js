/**
 * @file Signing in, shared by every page: a token handed over in the URL fragment (`#token=…`, or
 * `#<name>&token=…` beside the page's own name), the signed-out state with a form to paste a token, and
 * the subprotocols that carry the token on a socket instead of the URL (docs/client.md, "Signing in").
 *
 * The token is kept in localStorage["collab.token"], where every page looks for it, so a sign-in on one
 * page holds for the others and for the next visit. Importing this module takes a fragment token at once,
 * before a page reads its name from the hash.
 */

import { el } from "./dom.js";

/** localStorage key of the token (a JWT, or the guest token a `welcome` gave); ui.js re-exports it. */
export const TOKEN_KEY = "collab.token";

/** The subprotocol the server answers when a socket offers its token as `collab.token.<token>`. */
export const AUTH_PROTOCOL = "collab.auth";

/**
 * The subprotocols that sign a socket in with `token` (docs/protocol.md, "Who connects"): the token is
 * in a request header, never in the URL that proxies log. None without a token.
 * @param {string|null|undefined} token
 * @returns {string[]}
 */
export function tokenProtocols(token) {
  return token ? [AUTH_PROTOCOL, `collab.token.${token}`] : [];
}

/**
 * Takes `token=…` out of the URL fragment: stores it and removes it from the address bar (and so from
 * the history) with `history.replaceState`, leaving the rest of the fragment (a board's name) as it was.
 * The fragment, never the query string: a fragment is not sent to the server or written to its logs.
 * @returns {boolean} whether a token was there
 */
export function takeFragmentToken() {
  if (typeof location === "undefined" || !location.hash.includes("token=")) return false;
  const parts = location.hash.slice(1).split("&");
  const rest = parts.filter((part) => !part.startsWith("token="));
  const given = parts.find((part) => part.startsWith("token="));
  let token = "";
  try {
    token = decodeURIComponent(given.slice("token=".length)).trim();
  } catch {
    token = ""; // a malformed %-escape: not a token
  }
  if (token) localStorage.setItem(TOKEN_KEY, token);
  const hash = rest.length ? `#${rest.join("&")}` : "";
  history.replaceState(history.state, "", `${location.pathname}${location.search}${hash}`);
  return Boolean(token);
}

takeFragmentToken();

/**
 * Whether this server admits no guests, asked without a token in hand (`POST /api/guests`: 403 when guests
 * are off; the guest token it may give is not kept). The pages ask before prompting for a nickname.
 * @returns {Promise<string|null>} the server's reason, or null (guests welcome, or no answer)
 */
export async function guestsRefused() {
  try {
    const answer = await fetch("/api/guests", { method: "POST", headers: { "Content-Type": "application/json" }, body: "{}" });
    if (answer.status !== 403) return null;
    const body = await answer.json().catch(() => ({}));
    return body.message ?? "guests are not allowed";
  } catch {
    return null;
  }
}

/**
 * The signed-out state: a modal that says why (`reason`, from the server's refusal) and takes a token,
 * pasted. A token given is stored and the page reloads with it; the page behind stays out of reach
 * (a modal dialog makes it inert), so nothing can be edited while nobody is signed in.
 * @param {string} [reason] why the server refused, in a sentence
 */
export function showSignedOut(reason) {
  document.body.dataset.signedOut = "true";
  let dialog = /** @type {HTMLDialogElement|null} */ (document.getElementById("signin-dialog"));
  if (!dialog) {
    dialog = /** @type {HTMLDialogElement} */ (el("dialog", "dialog signin"));
    dialog.id = "signin-dialog";
    dialog.setAttribute("aria-labelledby", "signin-title");
    const form = el("form");
    form.id = "signin-form";
    const title = el("h2", "", "Sign in");
    title.id = "signin-title";
    const why = el("p", "signin-reason");
    why.id = "signin-reason";
    const help = el(
      "p",
      "muted",
      "This server admits signed-in users only. Paste the access token you were given (your application " +
        "can also hand it over as #token=… in this page's address). It stays in this browser, for every page.",
    );
    const input = /** @type {HTMLTextAreaElement} */ (el("textarea"));
    input.id = "signin-token";
    input.rows = 3;
    input.required = true;
    input.spellcheck = false;
    input.autocomplete = "off";
    input.setAttribute("aria-label", "Access token");
    input.placeholder = "eyJhbGciOi…";
    const error = el("p", "signin-error");
    error.id = "signin-error";
    error.setAttribute("role", "alert");
    const submit = el("button", "button-primary", "Sign in");
    submit.id = "signin-submit";
    submit.type = "submit";
    const actions = el("div", "dialog-actions");
    actions.append(submit);
    form.append(title, why, help, input, error, actions);
    dialog.append(form);
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const token = input.value.replace(/\s+/g, "");
      // A JWT is three base64url parts; anything else would only come back refused.
      if (!/^[\w-]+\.[\w-]+\.[\w-]*$/.test(token)) {
        error.textContent = "That is not a token: a token is three parts separated by dots (eyJ….….…).";
        return;
      }
      localStorage.setItem(TOKEN_KEY, token);
      location.reload();
    });
    // Escape would close a modal dialog: without a token there is nothing behind it to use.
    dialog.addEventListener("cancel", (event) => event.preventDefault());
    document.body.append(dialog);
  }
  document.getElementById("signin-reason").textContent = reason ? `The server said: ${reason}.` : "";
  for (const open of document.querySelectorAll("dialog[open]")) if (open !== dialog) open.close();
  if (!dialog.open) dialog.showModal();
  document.getElementById("signin-token").focus();
}
