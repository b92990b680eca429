"""What the pages may not do, checked in their source: text typed by users reaches the DOM only as
text, so no HTML-parsing sink may appear in our own static files (third-party bundles in static/dist
are not ours to check)."""

from __future__ import annotations

import re
from pathlib import Path

STATIC = Path(__file__).resolve().parents[2] / "static"
SINKS = re.compile(r"innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\s*\(|new Function\s*\(")


def test_no_html_parsing_sinks_in_static_files():
    offenders = []
    for path in sorted(STATIC.rglob("*")):
        if path.suffix not in {".js", ".html", ".mjs"} or "dist" in path.relative_to(STATIC).parts:
            continue
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            if SINKS.search(line):
                offenders.append(f"{path.relative_to(STATIC)}:{number}: {line.strip()}")
    assert not offenders, "HTML-parsing sinks in static/:\n" + "\n".join(offenders)


CHROME = re.compile(
    r'id="(conn|conn-label|me|nick-dialog|nick-form|nick-input|notice|page-title)"|<style|class="topbar"'
)


def test_the_pages_leave_their_chrome_and_styles_to_ui_js_and_app_css():
    """The top bar, the nickname prompt and the notice are rendered by static/js/ui.js (`mountChrome`)
    and every page's styles live in static/css/app.css: a page's HTML holds only its own content."""
    offenders = [
        f"{path.name}: {match.group(0)}"
        for path in sorted(STATIC.glob("*.html"))
        for match in CHROME.finditer(path.read_text())
    ]
    assert not offenders, "chrome or styles copied into a page:\n" + "\n".join(offenders)
    css = (STATIC / "css" / "app.css").read_text()
    assert len(re.findall(r"^\.avatar \{", css, re.M)) == 1, "one .avatar rule in app.css"
