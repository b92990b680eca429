"""Every page has an icon: its `<link rel=icon>`s load and draw in Chromium, `/favicon.ico` (which
browsers and tools ask for on their own) is an icon rather than a 404, and loading a page asks for
nothing the server does not have."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser, Response
from support.browser import PageWatch

ROOT = Path(__file__).resolve().parents[3]
PAGES = sorted(["/", *(f"/static/{path.name}" for path in (ROOT / "static").glob("*.html"))])
# Draws each icon the page names in an <img> (as the tab would) and says how wide it came out.
ICON_SIZES = """() => Promise.all([...document.querySelectorAll("link[rel~=icon]")].map((link) =>
    new Promise((resolve) => {
        const img = new Image();
        img.onload = () => resolve([link.getAttribute("href"), img.naturalWidth]);
        img.onerror = () => resolve([link.getAttribute("href"), 0]);
        img.src = link.href;
    })))"""


@pytest.mark.browser
def test_every_page_has_an_icon_and_no_404(browser: Browser, page_server: str, watch: PageWatch) -> None:
    for path in PAGES:
        if path.endswith("editor.html") and not (ROOT / "static" / "dist" / "editor.js").is_file():
            continue  # its bundle is built by `make setup`; the other pages show the same links
        context = browser.new_context(base_url=page_server)
        context.add_init_script('localStorage.setItem("collab.nickname", "Iconic")')
        page = watch.attach(context.new_page())
        missing: list[str] = []

        def note_404(response: Response, missing: list[str] = missing) -> None:
            if response.status == 404:
                missing.append(response.url)

        page.on("response", note_404)
        assert (response := page.goto(path)) is not None and response.ok, path
        icons = page.evaluate(ICON_SIZES)
        assert sorted(href for href, _ in icons) == ["/favicon.ico", "/static/favicon.svg"], (path, icons)
        assert all(width > 0 for _, width in icons), (path, icons)
        page.wait_for_timeout(200)
        assert missing == [], (path, missing)
        context.close()

    context = browser.new_context(base_url=page_server)
    answer = context.request.get("/favicon.ico")
    assert answer.status == 200 and answer.headers["content-type"] == "image/x-icon"
    assert answer.body()[:4] == b"\x00\x00\x01\x00"  # an ICO header
    context.close()
