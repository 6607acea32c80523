"""The rule book is docs/rules.md, and what the repository cites is in it.

Code, templates, tests and docs cite rules by number ("R8", "# R17") and link them as
``docs/rules.md#r8-conflicts``. These tests fail when a cited number or a linked anchor has no
section in docs/rules.md, and when a file points at notes a reader of the repository cannot open
(the unpublished shared research notes) instead of the public page they stand for.
No database, no network: the files are read from disk.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
RULES = ROOT / "docs" / "rules.md"
THIS_FILE = Path(__file__).resolve()

SKIP_DIRS = {
    ".git",
    ".venv",
    "venv",
    "node_modules",
    "__pycache__",
    ".pytest_cache",
    ".ruff_cache",
    ".hypothesis",
    "var",
    "staticfiles",
    "test-results",
    "htmlcov",
    "build",
    "dist",
}
TEXT_SUFFIXES = {
    ".py",
    ".html",
    ".md",
    ".txt",
    ".js",
    ".css",
    ".po",
    ".toml",
    ".cfg",
    ".ini",
    ".yml",
    ".yaml",
    ".sh",
}
# Text files without a telling suffix. Never ".env": it holds secrets.
TEXT_NAMES = {"Makefile", ".env.example", "run"}

# "R8", "R17's", "R1–R18", "(R10)"; not "HR2", "R2D2", "005R0000001" or "R2_x".
RULE_CITE = re.compile(r"(?<![A-Za-z0-9_])R([1-9][0-9]?)(?![A-Za-z0-9_])")
RULE_HEADING = re.compile(r"^## R([1-9][0-9]?)\. (.+?)\s*$", re.MULTILINE)
RULES_LINK = re.compile(r"rules\.md#([A-Za-z0-9_-]+)")

# Pointers into the project's unpublished research notes. A comment cites the public page instead
# (Salesforce's documentation, a library's docs or source), with its title and URL.
PRIVATE_POINTERS = [
    re.compile(r"\breference\s+(?:salesforce-api\.md\s+)?§", re.IGNORECASE),
    re.compile(r"\bref\.\s*§", re.IGNORECASE),
    re.compile(r"\breference\s+S\d", re.IGNORECASE),
    re.compile(r"tooling[- ]notes", re.IGNORECASE),
    re.compile(r"salesforce-api\.md|prior-art\.md|/work/shared"),
    # The shared notes' rule book: the repository's own is docs/rules.md.
    re.compile(r"\bSPEC(?:\.md\b| R\d)"),
    # The notes' source tags: "S39b", "S45/S46", "(reference §4, S51)".
    re.compile(r"(?<![A-Za-z0-9_])S[1-9][0-9]?[a-d]?(?![A-Za-z0-9_])"),
]
# A bare "§2.3" is a pointer into the notes too, unless it is a section of an RFC.
SECTION_SIGN = re.compile(r"§\s*\d")
RFC_NEARBY = re.compile(r"RFC\s*\d+\s*$")


def _repo_text_files():
    for folder, dirs, names in os.walk(ROOT):
        dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS and not d.endswith(".egg-info"))
        for name in sorted(names):
            path = Path(folder) / name
            if path == THIS_FILE or not (path.suffix in TEXT_SUFFIXES or name in TEXT_NAMES):
                continue
            try:
                yield path.relative_to(ROOT).as_posix(), path.read_text(encoding="utf-8")
            except UnicodeDecodeError:
                continue


def _line_of(text: str, index: int) -> int:
    return text.count("\n", 0, index) + 1


def _slug(heading: str) -> str:
    """The anchor GitHub and most Markdown renderers give a heading."""
    slug = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return slug.replace(" ", "-")


def _rules() -> dict[int, str]:
    """Rule number -> its section's anchor."""
    return {
        int(number): _slug(f"R{number}. {title}")
        for number, title in RULE_HEADING.findall(RULES.read_text(encoding="utf-8"))
    }


@pytest.fixture(scope="module")
def files():
    return list(_repo_text_files())


def test_the_rule_book_has_one_section_per_rule_from_r1_in_order():
    # R1–R19 today; a new rule takes the next number, and no number is reused or skipped.
    numbers = [int(n) for n, _ in RULE_HEADING.findall(RULES.read_text(encoding="utf-8"))]
    assert numbers == list(range(1, len(numbers) + 1))
    assert len(numbers) >= 19


def test_rule_anchors_read_as_number_and_title():
    rules = _rules()
    assert rules[8] == "r8-conflicts"
    assert rules[13] == "r13-api-budget"
    assert all(anchor.startswith(f"r{n}-") for n, anchor in rules.items())


def test_the_readme_links_the_rule_book():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "(docs/rules.md)" in readme
    assert "SPEC.md" not in readme


def test_every_cited_rule_number_has_a_section_in_the_rule_book(files):
    known = set(_rules())
    unknown = [
        f"{name}:{_line_of(text, m.start())}: R{m.group(1)}"
        for name, text in files
        for m in RULE_CITE.finditer(text)
        if int(m.group(1)) not in known
    ]
    assert not unknown, "Rules cited but missing from docs/rules.md:\n" + "\n".join(unknown)


def test_every_link_into_the_rule_book_reaches_a_section(files):
    anchors = set(_rules().values())
    broken = [
        f"{name}:{_line_of(text, m.start())}: #{m.group(1)}"
        for name, text in files
        for m in RULES_LINK.finditer(text)
        if m.group(1) not in anchors
    ]
    assert not broken, "Links to missing sections of docs/rules.md:\n" + "\n".join(broken)


def _private_pointers(text: str) -> list[tuple[int, str]]:
    found = []
    for pattern in PRIVATE_POINTERS:
        found += [(m.start(), m.group(0)) for m in pattern.finditer(text)]
    for m in SECTION_SIGN.finditer(text):
        if not RFC_NEARBY.search(text[max(0, m.start() - 30) : m.start()]):
            found.append((m.start(), m.group(0)))
    return sorted(found)


def test_the_pointer_check_tells_notes_from_public_citations():
    assert _private_pointers("# Terminal answers (reference §4, S50).")
    assert _private_pointers("REQUESTS_CA_BUNDLE overrides verify (tooling notes, Gotcha)")
    assert _private_pointers("10 minutes (reference S39b); one minute of margin")
    assert _private_pointers("* `composite/sobjects` (§2.4):")
    assert _private_pointers("the staff side of tasksync (SPEC R8, R11)")
    assert not _private_pointers('"""PKCE, RFC 7636 §4.1/4.2."""')
    assert not _private_pointers("Content-Length (RFC 9112\n        §6). Every byte")
    assert not _private_pointers("S256 code_challenge; R12; SystemModstamp; HTTP 503")


def test_no_file_points_at_the_unpublished_notes(files):
    # This file quotes the patterns and is not scanned.
    offenders: dict[str, str] = {}
    for name, text in files:
        for index, snippet in _private_pointers(text):
            offenders.setdefault(f"{name}:{_line_of(text, index)}", snippet)
    assert not offenders, (
        "Cite the public page (title and URL) instead of the unpublished notes:\n"
        + "\n".join(f"{where}: {snippet!r}" for where, snippet in offenders.items())
    )
