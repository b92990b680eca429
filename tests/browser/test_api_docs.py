"""`/api/docs`: the OpenAPI description as Swagger UI (bundled from npm into static/dist), rendered in
Chromium under the page's Content-Security-Policy, and the publish API tried from it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, expect
from support.auth import token
from support.browser import PageWatch, browser_contexts

ROOT = Path(__file__).resolve().parents[2]
SHOTS = Path(os.environ.get("COLLAB_SHOTS", "/tmp"))
# Every violation the page reports, caught or not (an `eval` that a library tries and catches too).
RECORD_VIOLATIONS = """
    window.cspViolations = [];
    document.addEventListener("securitypolicyviolation", (event) => {
        window.cspViolations.push(`${event.violatedDirective} ${event.blockedURI}`);
    });
"""


@pytest.fixture(autouse=True)
def _bundled() -> None:
    if not (ROOT / "static" / "dist" / "swagger-ui" / "swagger-ui-bundle.js").is_file():
        pytest.skip("static/dist/swagger-ui is missing: run `make setup`")


@pytest.mark.browser
@pytest.mark.parametrize("viewport", [{"width": 1280, "height": 900}, {"width": 390, "height": 844}])
def test_the_api_docs_page_renders_the_description(browser: Browser, server: str, watch: PageWatch, viewport) -> None:
    with browser_contexts(browser, server, viewport=viewport) as new_context:
        _renders(new_context(), watch, viewport)


def _renders(context: BrowserContext, watch: PageWatch, viewport: dict[str, int]) -> None:
    context.add_init_script(RECORD_VIOLATIONS)
    page = watch.attach(context.new_page())
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    response = page.goto("/api/docs")
    assert response is not None and response.ok
    assert "default-src 'self'" in response.headers["content-security-policy"]
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("collab")
    publish = page.locator(".opblock-post", has_text="/api/channels/{channel}/events")
    expect(publish).to_be_visible()
    expect(page.locator(".opblock-get", has_text="/api/channels/{channel}/events")).to_be_visible()
    expect(page.locator(".opblock", has_text="/api/broadcast")).to_be_visible()
    expect(page.locator("#api-docs-status")).to_be_hidden()
    page.screenshot(path=str(SHOTS / f"api-docs-top-{viewport['width']}.png"), full_page=False)
    # An operation opens, with its request body's schema and its answers.
    publish.locator(".opblock-summary").click()
    expect(publish.locator(".responses-table")).to_contain_text("429")
    expect(publish.locator(".parameters")).to_contain_text("channel")
    publish.scroll_into_view_if_needed()
    page.screenshot(path=str(SHOTS / f"api-docs-{viewport['width']}.png"), full_page=False)
    page.wait_for_timeout(300)
    assert page.evaluate("window.cspViolations") == []
    origin = page.evaluate("location.origin")
    assert all(url.startswith(origin) for url in requests), [u for u in requests if not u.startswith(origin)]


@pytest.mark.browser
def test_the_publish_api_can_be_tried_from_the_page(new_context, watch: PageWatch) -> None:
    """Authorize with a service token, try POST /api/broadcast: Swagger UI's request goes out under the
    page's policy and shows the stored event."""
    context: BrowserContext = new_context()
    page = watch.attach(context.new_page())
    page.goto("/api/docs")
    page.get_by_role("button", name="Authorize").first.click()
    page.locator(".dialog-ux input[type=text]").fill(token("docs-try", roles=["service"]))
    page.locator(".dialog-ux .auth-btn-wrapper button.authorize").click()
    page.locator(".dialog-ux button.btn-done").click()
    broadcast = page.locator(".opblock-post", has_text="/api/broadcast")
    broadcast.locator(".opblock-summary").click()
    broadcast.get_by_role("button", name="Try it out").click()
    broadcast.locator("textarea.body-param__text").fill('{"event": "hello", "data": {"from": "the docs page"}}')
    broadcast.get_by_role("button", name="Execute").click()
    live = broadcast.locator(".live-responses-table")
    expect(live.locator("tbody .response-col_status")).to_contain_text("201")
    expect(live).to_contain_text('"channel": "broadcast:all"')
    live.scroll_into_view_if_needed()
    page.screenshot(path=str(SHOTS / "api-docs-tried.png"), full_page=False)


@pytest.mark.browser
def test_a_trailing_slash_leads_to_the_page_and_document_texts_keep_their_path(new_context) -> None:
    context: BrowserContext = new_context()
    page = context.new_page()
    page.goto("/api/docs/")
    assert page.url.endswith("/api/docs")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("collab")
    answer = context.request.get("/api/docs/notes")  # a document's text: operators only, as before
    assert answer.status == 401 and answer.json()["error"] == "unauthorized"
