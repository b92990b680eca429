"""The kanban page's card dialog in two pages at once (issue 12): an edit carries only the fields its user
changed, so edits of different fields merge without a conflict dialog, and a conflict names only the
fields both people changed."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from .test_pages import OpenPage, add_card, add_column, cards, fresh, settled


def open_card(page: Page, title: str) -> None:
    page.locator(".card", has_text=title).click()
    expect(page.locator("#card-dialog")).to_be_visible()


def fields(page: Page) -> dict[str, str]:
    """The dialog's fields as its user sees them."""
    names = ("title", "description", "assignee", "labels")
    return {name: page.locator(f"#card-{name}").input_value() for name in names}


def two_pages_on_one_card(open_page: OpenPage) -> tuple[Page, Page]:
    path = fresh("kanban")
    ann, bob = open_page(path, "ann"), open_page(path, "bob")
    add_column(ann, "To do")
    add_card(ann, 0, "Shared card")
    expect(cards(bob, 0)).to_have_text(["Shared card"])
    settled(ann)
    for page in (ann, bob):
        open_card(page, "Shared card")
    return ann, bob


@pytest.mark.browser
def test_edits_of_different_fields_merge_without_a_conflict(open_page: OpenPage) -> None:
    ann, bob = two_pages_on_one_card(open_page)
    bob.locator("#card-description").fill("Bob's")
    ann.locator("#card-title").fill("Ann's title")
    ann.locator("#card-labels").fill("bug, ux")
    ann.locator("#card-assignee").fill("ann")
    ann.locator("#card-save").click()
    expect(ann.locator("#card-dialog")).to_be_hidden()
    expect(cards(bob, 0)).to_have_text(["Ann's title"])

    # Bob was typing his description meanwhile: his open dialog follows ann's fields, his text stays.
    expect(bob.locator("#card-title")).to_have_value("Ann's title")
    expect(bob.locator("#card-labels")).to_have_value("bug, ux")
    bob.locator("#card-description").fill("Bob's description")
    bob.locator("#card-save").click()
    expect(bob.locator("#card-dialog")).to_be_hidden()
    expect(bob.locator("#conflict")).to_be_hidden()
    merged = {"title": "Ann's title", "description": "Bob's description", "assignee": "ann", "labels": "bug, ux"}
    for page in (ann, bob):
        settled(page)
        expect(page.locator(".card .card-description")).to_have_text(["Bob's description"])
        open_card(page, "Ann's title")
        assert fields(page) == merged
        page.locator("#card-cancel").click()


@pytest.mark.browser
def test_a_field_both_changed_is_the_only_conflict_shown(open_page: OpenPage) -> None:
    ann, bob = two_pages_on_one_card(open_page)
    bob.locator("#card-title").fill("Bob's title")
    bob.locator("#card-assignee").fill("bob")
    ann.locator("#card-title").fill("Ann's title")
    ann.locator("#card-description").fill("Ann's description")
    ann.locator("#card-save").click()
    expect(ann.locator("#card-dialog")).to_be_hidden()
    expect(cards(bob, 0)).to_have_text(["Ann's title"])

    bob.locator("#card-save").click()
    conflict = bob.locator("#conflict")
    expect(conflict).to_be_visible()
    expect(conflict.locator("dt")).to_have_text(["Title"])  # not the description, which only ann changed
    expect(conflict.locator("dd")).to_have_text(["Ann's title"])
    expect(bob.locator("#card-title.conflicted")).to_have_count(1)
    bob.locator("#conflict-mine").click()
    expect(bob.locator("#card-dialog")).to_be_hidden()
    for page in (ann, bob):
        settled(page)
        expect(cards(page, 0)).to_have_text(["Bob's title"])
        open_card(page, "Bob's title")
        assert fields(page) == {
            "title": "Bob's title",
            "description": "Ann's description",
            "assignee": "bob",
            "labels": "",
        }
        page.locator("#card-cancel").click()


@pytest.mark.browser
def test_taking_theirs_keeps_the_users_other_changes(open_page: OpenPage) -> None:
    ann, bob = two_pages_on_one_card(open_page)
    bob.locator("#card-title").fill("Bob's title")
    bob.locator("#card-labels").fill("later")
    ann.locator("#card-title").fill("Ann's title")
    ann.locator("#card-save").click()
    expect(cards(bob, 0)).to_have_text(["Ann's title"])

    bob.locator("#card-save").click()
    expect(bob.locator("#conflict dt")).to_have_text(["Title"])
    bob.locator("#conflict-theirs").click()
    assert fields(bob) == {"title": "Ann's title", "description": "", "assignee": "", "labels": "later"}
    bob.locator("#card-save").click()
    expect(bob.locator("#card-dialog")).to_be_hidden()
    for page in (ann, bob):
        expect(page.locator(".card .label")).to_have_text(["later"])
        expect(cards(page, 0)).to_have_text(["Ann's title"])


@pytest.mark.browser
def test_an_edit_based_on_a_version_the_page_had_not_seen_past_merges(open_page: OpenPage) -> None:
    """Bob's page is offline while ann saves, so his edit goes out based on version 1 once he is back: the
    server merges it (the case a page's live following cannot cover)."""
    ann, bob = two_pages_on_one_card(open_page)
    bob.context.set_offline(True)
    expect(bob.locator("#conn")).not_to_have_attribute("data-state", "open")
    ann.locator("#card-title").fill("Ann's title")
    ann.locator("#card-labels").fill("bug, ux")
    ann.locator("#card-assignee").fill("ann")
    ann.locator("#card-save").click()
    expect(ann.locator("#card-dialog")).to_be_hidden()
    bob.locator("#card-description").fill("Bob's description")
    bob.locator("#card-save").click()
    bob.context.set_offline(False)
    expect(bob.locator("#card-dialog")).to_be_hidden(timeout=30_000)
    expect(bob.locator("#conflict")).to_be_hidden()
    for page in (ann, bob):
        settled(page)
        open_card(page, "Ann's title")
        assert fields(page) == {
            "title": "Ann's title",
            "description": "Bob's description",
            "assignee": "ann",
            "labels": "bug, ux",
        }
        page.locator("#card-cancel").click()
