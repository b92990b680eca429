"""Headers every response carries, whatever answers it (a page, a static file, the API, an error):

- `Content-Security-Policy`: the pages load their scripts, styles, images and sockets from this
  server only, run no inline script or `eval`, and cannot be framed (`frame-ancestors 'none'`). A
  response that sets its own policy keeps it (a media file: app/media_http.py's sandbox).
- `X-Frame-Options: DENY`: `frame-ancestors` for browsers that predate it.
- `X-Content-Type-Options: nosniff`: a response is only ever the type it says it is.

The pages (static/*.html) hold no inline script, inline event handler or `style` attribute, and their
scripts set styles through the CSSOM (`element.style`), which the policy allows. One exception: the
editor's CodeMirror writes its styles into `<style>` elements as it runs, so editor.html also allows
inline styles (never inline scripts); a nonce (CodeMirror's `EditorView.cspNonce`) would need the page
templated per request. The API docs page (`/api/docs`, Swagger UI) also allows `data:` images, which
its stylesheet draws icons with. tests/hardening/pages loads each page and fails on any policy violation, and so
does every page test (support.browser).
"""

from __future__ import annotations

from aiohttp import web

PAGE_CSP = "; ".join(
    [
        "default-src 'self'",  # scripts, styles, images, media, fonts, workers, fetch and WebSocket
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
# The pages whose scripts write <style> elements (CodeMirror's), and their policy.
INLINE_STYLE_PAGES = frozenset({"/static/editor.html"})
INLINE_STYLE_CSP = f"{PAGE_CSP}; style-src 'self' 'unsafe-inline'"
# The API docs page (app/openapi): Swagger UI's stylesheet draws a few icons as `data:` images.
DATA_IMAGE_PAGES = frozenset({"/api/docs", "/static/api-docs.html"})
DATA_IMAGE_CSP = f"{PAGE_CSP}; img-src 'self' data:"
HEADERS = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
}


async def add_security_headers(request: web.Request, response: web.StreamResponse) -> None:
    if response.status == 101:
        # A WebSocket upgrade: no document to frame or sniff, and the headers would be kept on the
        # socket's response object for its whole life (about 0.6 KB a socket).
        return
    if request.path in INLINE_STYLE_PAGES:
        policy = INLINE_STYLE_CSP
    elif request.path in DATA_IMAGE_PAGES:
        policy = DATA_IMAGE_CSP
    else:
        policy = PAGE_CSP
    response.headers.setdefault("Content-Security-Policy", policy)
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)


def setup(app: web.Application) -> None:
    """Every response of `app`, raised errors and static files included (`on_response_prepare`)."""
    app.on_response_prepare.append(add_security_headers)
