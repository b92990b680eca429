// Loads the editor's bundle (static/dist/editor.js, built by `make setup`) and, when it cannot be loaded,
// says how to build it. A script of its own rather than an `onerror` attribute: the pages'
// Content-Security-Policy runs no inline script or handler (app/security_headers.py).
import("/static/dist/editor.js").catch((error) => {
  document.getElementById("build-missing").hidden = false;
  throw error; // the console keeps the reason
});
