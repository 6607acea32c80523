"""The rule book, docs/rules.md, served in the admin as HTML and cited from its pages.

Admin pages cite rules ("R14") as links to ``/admin/tasksync/syncrun/rules/#r14-…``: the page
renders the repository's docs/rules.md (or the file named by the TASKSYNC_RULE_BOOK setting)
with markdown-it-py, raw HTML off, so the page shows what the file says and nothing it could
inject. Headings get GitHub's anchors (``#r8-conflicts``), the ones docs/rules.md itself uses.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

from django.conf import settings
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _
from markdown_it import MarkdownIt

RULE_HEADING = re.compile(r"^## R([1-9][0-9]?)\. (.+?)\s*$", re.MULTILINE)


def rule_book_path() -> Path:
    return Path(
        getattr(settings, "TASKSYNC_RULE_BOOK", None) or settings.BASE_DIR / "docs" / "rules.md"
    )


@functools.lru_cache(maxsize=4)
def _read(path: Path, mtime_ns: int) -> str:
    return path.read_text(encoding="utf-8")


def rule_book_text() -> str | None:
    """The rule book's Markdown, or None when the file is not there (e.g. an install without
    the repository's docs/)."""
    path = rule_book_path()
    try:
        return _read(path, path.stat().st_mtime_ns)
    except OSError:
        return None


def heading_slug(text: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[^\w\- ]", "", text.strip().lower())
    return text.replace(" ", "-")


def rule_titles() -> dict[int, str]:
    text = rule_book_text() or ""
    return {int(n): f"R{n}. {title}" for n, title in RULE_HEADING.findall(text)}


def rule_link(number: int):
    """ "R14" as a link to its section of the rule book (plain text when the book lacks it)."""
    title = rule_titles().get(number)
    if title is None:
        return f"R{number}"
    url = f"{reverse('admin:tasksync_rule_book')}#{heading_slug(title)}"
    return format_html('<a href="{}" title="{}">R{}</a>', url, title, number)


def rule_citation(number: int):
    """A changelist's line under its title: which rule its rows keep a record of."""
    title = rule_titles().get(number)
    if title is None:
        return None
    url = f"{reverse('admin:tasksync_rule_book')}#{heading_slug(title)}"
    return format_html('{} <a href="{}">{}</a>', _("Rule book:"), url, title)


def rule_book_html(text: str):
    """The Markdown as HTML: raw HTML in the file is escaped, headings carry their anchors."""
    md = MarkdownIt("commonmark", {"html": False}).enable("table")
    tokens = md.parse(text)
    for opening, inline in zip(tokens, tokens[1:], strict=False):
        if opening.type == "heading_open" and inline.type == "inline":
            opening.attrSet("id", heading_slug(inline.content))
    return mark_safe(md.renderer.render(tokens, md.options, {}))  # noqa: S308 - escaped above


class RuleCitedAdmin:
    """A ModelAdmin mixin: the changelist names the rule (``rule``) its rows are about."""

    rule: int | None = None

    def changelist_view(self, request, extra_context=None):
        if self.rule is not None:
            extra_context = {**(extra_context or {}), "rule_citation": rule_citation(self.rule)}
        return super().changelist_view(request, extra_context)
