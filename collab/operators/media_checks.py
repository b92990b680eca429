"""What clients may send to the media library: ids, file names, titles, descriptions, tags. Each check
gives the clean value or raises `ProtocolError` (`NotFound` for an id: a bad one names nothing)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote

from collab.errors import NotFound, ProtocolError

ID_PATTERN = re.compile(r"^[0-9a-f]{16}\Z")
MAX_TITLE = 200
MAX_DESCRIPTION = 5000
MAX_TAGS = 20
MAX_TAG = 40
MAX_FILENAME = 255
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")  # control characters but tab and newline
# In a file name, every control character (C0, DEL, C1) and the Unicode line and paragraph separators:
# the name goes back out in a Content-Disposition header, where a line break cannot be sent.
_NAME_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def check_id(media_id: str) -> str:
    """Ids are 16 hex digits; anything else (`../..` included) is simply not found."""
    if not ID_PATTERN.match(media_id):
        raise NotFound(f"no media {media_id[:40]!r}")
    return media_id


def check_filename(raw: str | None) -> str | None:
    """A plain file name (kept as metadata only), or None. A name with a path in it is refused, and so is
    one with a control character (a line feed, a tab…): refused rather than cleaned, since no browser
    sends one and a name quietly changed would not be the name the user sees on their disk."""
    if raw is None or raw == "":
        return None
    for name in (raw, unquote(raw)):  # some clients percent-encode the name in the header
        if "/" in name or "\\" in name or "\x00" in name or name.strip() in (".", "..") or len(name) > MAX_FILENAME:
            raise ProtocolError("the file name must be a plain name of at most 255 characters, without a path")
        if _NAME_CONTROL.search(name):
            raise ProtocolError("the file name must not contain control characters (line feeds, tabs…)")
    return unicodedata.normalize("NFC", raw).strip() or None


def _text(value: Any, field: str, limit: int, *, multiline: bool) -> str:
    if not isinstance(value, str):
        raise ProtocolError(f"field '{field}' must be a string")
    text = _CONTROL.sub("", unicodedata.normalize("NFC", value))
    if not multiline:
        text = " ".join(text.split())
    text = text.strip()
    if len(text) > limit:
        raise ProtocolError(f"field '{field}' is longer than {limit} characters")
    return text


def check_tags(value: Any) -> tuple[str, ...]:
    """A list of tags (or one comma-separated string): trimmed, lower case, without repeats."""
    if isinstance(value, str):
        value = value.split(",")
    if not isinstance(value, list) or not all(isinstance(tag, str) for tag in value):
        raise ProtocolError("field 'tags' must be a list of strings")
    tags: dict[str, None] = {}
    for raw in value:
        tag = _text(raw, "tags", MAX_TAG, multiline=False).lower()
        if "," in tag:
            raise ProtocolError("a tag cannot contain a comma")
        if tag:
            tags[tag] = None
    if len(tags) > MAX_TAGS:
        raise ProtocolError(f"at most {MAX_TAGS} tags")
    return tuple(tags)


def check_changes(changes: Mapping[str, Any]) -> dict[str, Any]:
    """The metadata a client may change: `title`, `description`, `tags`; any other field is refused."""
    unknown = set(changes) - {"title", "description", "tags"}
    if unknown:
        raise ProtocolError(f"unknown field(s): {', '.join(sorted(unknown))} (title, description, tags)")
    checked: dict[str, Any] = {}
    if "title" in changes:
        checked["title"] = _text(changes["title"], "title", MAX_TITLE, multiline=False)
    if "description" in changes:
        checked["description"] = _text(changes["description"], "description", MAX_DESCRIPTION, multiline=True)
    if "tags" in changes:
        checked["tags"] = check_tags(changes["tags"])
    return checked
