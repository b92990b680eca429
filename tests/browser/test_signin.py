"""The pages with guests off (issue 12, item 3): each shows a signed-out state and takes a token, pasted or
handed over in the URL fragment (`#token=…`, removed from the address bar), kept for the next visit; the
sockets carry it as a subprotocol, never in the URL (item 11)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect
from support.auth import token
from support.browser import PageWatch, browser_contexts
from support.servers import serving

PAGES = ["chat", "editor", "kanban", "drawing", "media", "monitor"]


@pytest.fixture(scope="module")
def members_only(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A server that admits signed-in users only."""
    with serving(tmp_path_factory.mktemp("members-only"), COLLAB_ALLOW_GUESTS="0") as process:
        yield process.url


@pytest.fixture
def new_context(browser: Browser, members_only: str) -> Iterator:
    with browser_contexts(browser, members_only) as make:
        yield make


def socket_urls(page: Page) -> list[str]:
    urls: list[str] = []
    page.on("websocket", lambda ws: urls.append(ws.url))
    return urls


@pytest.mark.parametrize("name", PAGES)
def test_every_page_shows_the_signed_out_state(new_context, watch: PageWatch, name: str) -> None:
    page = watch.attach(new_context().new_page())
    page.goto(f"/static/{name}.html")
    dialog = page.locator("#signin-dialog")
    expect(dialog).to_be_visible()
    expect(page.locator("#signin-reason")).to_contain_text("guest")
    expect(page.locator("#nick-dialog")).to_have_count(0 if name == "monitor" else 1)
    if name != "monitor":
        expect(page.locator("#nick-dialog")).not_to_be_visible()
    page.screenshot(path=f"/tmp/h12-signin-{name}.png")


def test_a_pasted_token_signs_in_and_is_kept(new_context, watch: PageWatch) -> None:
    context: BrowserContext = new_context()
    page = watch.attach(context.new_page())
    urls = socket_urls(page)
    page.goto("/static/chat.html")
    expect(page.locator("#signin-dialog")).to_be_visible()
    page.locator("#signin-token").fill("not a token")
    page.locator("#signin-submit").click()
    expect(page.locator("#signin-error")).to_contain_text("not a token")
    assert page.evaluate("localStorage.getItem('collab.token')") is None
    jwt = token("ann", name="Ann")
    page.locator("#signin-token").fill(jwt)
    page.locator("#signin-submit").click()
    expect(page.locator("#conn")).to_have_attribute("data-state", "open")
    expect(page.locator("#signin-dialog")).to_have_count(0)
    expect(page.locator("#me")).to_contain_text("Ann")
    page.screenshot(path="/tmp/h12-signin-chat-signed-in.png")
    # The next visit, another page: signed in already.
    editor = watch.attach(context.new_page())
    urls += socket_urls(editor)
    editor.goto("/static/editor.html#notes")
    expect(editor.locator("#conn")).to_have_attribute("data-state", "open")
    expect(editor.locator("#signin-dialog")).to_have_count(0)
    editor.locator(".cm-content").click()
    editor.keyboard.type("hello")
    expect(editor.locator(".cm-content")).to_contain_text("hello")
    editor.screenshot(path="/tmp/h12-signin-editor-signed-in.png")
    assert urls and all("token" not in url for url in urls), urls


def test_a_token_in_the_fragment_signs_in_and_leaves_the_address_bar(new_context, watch: PageWatch) -> None:
    context: BrowserContext = new_context()
    page = watch.attach(context.new_page())
    urls = socket_urls(page)
    jwt = token("bob", name="Bob")
    page.goto(f"/static/kanban.html#team&token={jwt}")
    expect(page.locator("#conn")).to_have_attribute("data-state", "open")
    assert page.evaluate("location.href").endswith("/static/kanban.html#team")
    expect(page.locator("#page-title")).to_contain_text("team")
    assert page.evaluate("localStorage.getItem('collab.token')") == jwt
    assert urls and all("token" not in url for url in urls), urls
    other = watch.attach(context.new_page())
    other.goto(f"/static/editor.html#token={jwt}")
    expect(other.locator("#conn")).to_have_attribute("data-state", "open")
    assert other.evaluate("location.hash") == ""


def test_a_refused_token_comes_back_to_the_signed_out_state(new_context, watch: PageWatch) -> None:
    page = watch.attach(new_context().new_page())
    expired = token("ann", ttl=-3600)
    page.goto(f"/static/editor.html#notes&token={expired}")
    expect(page.locator("#signin-dialog")).to_be_visible()
    page.keyboard.type("lost")  # the page behind the modal is inert: nothing to edit while signed out
    expect(page.locator("#signin-token")).to_have_value("lost")
    expect(page.locator(".cm-content")).not_to_contain_text("lost")
    assert page.evaluate("localStorage.getItem('collab.token')") is None
    page.screenshot(path="/tmp/h12-signin-editor-refused.png")


def test_the_index_lists_boards_and_documents_and_creates_new_ones(new_context, watch: PageWatch) -> None:
    context: BrowserContext = new_context()
    index = watch.attach(context.new_page())
    index.goto("/")
    expect(index.locator("#signin-dialog")).to_be_visible()  # guests off, no token: nothing to list
    jwt = token("cat", name="Cat")
    editor = watch.attach(context.new_page())
    editor.goto(f"/static/editor.html#plans&token={jwt}")
    expect(editor.locator("#conn")).to_have_attribute("data-state", "open")
    editor.locator(".cm-content").click()
    editor.keyboard.type("the plan")
    board = watch.attach(context.new_page())
    board.goto("/static/kanban.html#roadmap")
    expect(board.locator("#conn")).to_have_attribute("data-state", "open")
    board.get_by_placeholder("Add a column…").fill("Doing")
    board.get_by_role("button", name="Add column").click()
    expect(board.locator(".column")).to_have_count(1)
    index.reload()
    expect(index.locator("#docs a").first).to_contain_text("plans")
    expect(index.locator("#boards a").first).to_contain_text("roadmap")
    assert index.locator("#docs a").first.get_attribute("href") == "/static/editor.html#plans"
    index.screenshot(path="/tmp/h12-signin-index.png", full_page=True)
    index.locator("#new-board-name").fill("no spaces please")
    index.locator("#new-board button").click()
    expect(index.locator("#new-board-error")).to_contain_text("no spaces")
    index.locator("#new-board-name").fill("sketches")
    index.locator("#new-board-kind").select_option("drawing")
    index.locator("#new-board button").click()
    index.wait_for_url("**/static/drawing.html#sketches")
    expect(index.locator("#conn")).to_have_attribute("data-state", "open")
