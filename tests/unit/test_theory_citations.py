"""Every section of the theory document that the repository cites is a heading of docs/theory.md.

Docstrings and comments name the section they implement by number: ``docs/theory.md §3.6``,
``docs/theory.md 3.4 item 3``, ``docs/theory.md §3.4, §3.5``, ``docs/theory.md 3.3-3.5``, and
in the older spelling ``THEORY.md §3.6 step 3``. A renumbered or removed section would leave
those citations pointing nowhere, so this test parses each one from the tracked text files
and checks that every number it cites (every number of a range, and the item or step it
names) exists in docs/theory.md. Words after the number are not sections: in
"§2 (Thm 3)" or "3.8, revision 2" only 2 and 3.8 are cited.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
THEORY = Path("docs/theory.md")
SCANNED_SUFFIXES = {".py", ".md", ".j2", ".html", ".json", ".yaml", ".yml", ".toml"}
EXCLUDED_DIRS = ("tests/data/",)

_NUM = r"\d+(?:\.\d+)*"
# Between tokens: spaces, and at most one line break followed by a comment marker, so that a
# citation wrapped inside a comment or docstring is still read as one.
_GAP = r"[ \t]*(?:\n[ \t]*(?:#+|//|\*)?[ \t]*)?"
_REF = (
    rf"(?P<num>{_NUM})"
    rf"(?:{_GAP}(?:-|–|to){_GAP}§?{_GAP}(?P<end>{_NUM}))?"
    rf"(?:{_GAP}\(?(?:items?|steps?){_GAP}(?P<item>\d+)(?:{_GAP}-{_GAP}(?P<item_end>\d+))?)?"
)
# The number right after the document's name, with an optional "§" or "section".
_FIRST = re.compile(rf"{_GAP}(?:(?:§|sections?\b){_GAP})?{_REF}")
# Further numbers of a list: "§3.4, §3.5", "3.6, 3.7", "§3.4.2 and §3.5.2".
_NEXT = re.compile(rf"{_GAP}(?:,{_GAP}and\b|,|and\b|&){_GAP}(?:§|sections?\b)?{_GAP}{_REF}")
# Any "§N" later on the line of a citation: "§3.6 (the map A) and §3.7 (H, H+)".
_SECTION_SIGN = re.compile(rf"§{_GAP}{_REF}")
_NAME = re.compile(r"theory\.md", re.IGNORECASE)
_HEADING = re.compile(rf"^#{{1,6}}[ \t]+(?P<num>{_NUM})\.?[ \t]", re.MULTILINE)
_LIST_ITEM = re.compile(r"^[ \t]*(?P<n>\d+)\.[ \t]", re.MULTILINE)


@dataclass(frozen=True)
class Citation:
    """One section number cited at ``path:line``, with the item or steps it names, if any."""

    path: str
    line: int
    section: str
    items: tuple[int, ...]
    text: str

    def where(self) -> str:
        return f"{self.path}:{self.line}"


def _sections(document: str) -> dict[str, set[int]]:
    """Numbered headings of the document -> numbers of the items (list or sub-heading) under it."""
    headings = list(_HEADING.finditer(document))
    sections: dict[str, set[int]] = {}
    for index, heading in enumerate(headings):
        stop = headings[index + 1].start() if index + 1 < len(headings) else len(document)
        body = document[heading.end() : stop]
        sections[heading["num"]] = {int(m["n"]) for m in _LIST_ITEM.finditer(body)}
    for number in list(sections):
        parent, _, last = number.rpartition(".")
        if parent in sections:
            sections[parent].add(int(last))
    return sections


def _expand(start: str, end: str | None) -> list[str]:
    """The numbers of a range: "3.3-3.5" -> 3.3, 3.4, 3.5; across levels only the two ends."""
    if end is None:
        return [start]
    head, _, first = start.rpartition(".")
    end_head, _, last = end.rpartition(".")
    if head != end_head or int(last) < int(first):
        return [start, end]
    prefix = f"{head}." if head else ""
    return [f"{prefix}{n}" for n in range(int(first), int(last) + 1)]


def _citations_of(match: re.Match[str], path: str, text: str) -> list[Citation]:
    line = text.count("\n", 0, match.start("num")) + 1
    items: tuple[int, ...] = ()
    if match["item"] is not None:
        last = int(match["item_end"] or match["item"])
        items = tuple(range(int(match["item"]), last + 1))
    snippet = " ".join(match.group(0).split())
    return [
        Citation(path, line, section, items, snippet)
        for section in _expand(match["num"], match["end"])
    ]


def citations_in(path: str, text: str) -> list[Citation]:
    """Every section cited in ``text`` after a mention of the theory document."""
    found: list[Citation] = []
    for name in _NAME.finditer(text):
        position = name.end()
        match = _FIRST.match(text, position)
        if match is None:
            continue  # "THEORY.md's quantities", "THEORY.md does not define": no section
        found += _citations_of(match, path, text)
        position = match.end()
        while (match := _NEXT.match(text, position)) is not None:
            found += _citations_of(match, path, text)
            position = match.end()
        line_end = text.find("\n", position)
        rest_end = len(text) if line_end < 0 else line_end
        for match in _SECTION_SIGN.finditer(text, position, rest_end):
            found += _citations_of(match, path, text)
    return found


SELF = Path(__file__).resolve().relative_to(ROOT).as_posix()


def _tracked_text_files() -> list[str]:
    try:
        listed = subprocess.run(
            ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True, timeout=60
        ).stdout.decode()
    except (OSError, subprocess.CalledProcessError) as error:
        pytest.skip(f"not a git checkout ({error})")
    return sorted(
        name
        for name in listed.split("\0")
        if name
        and Path(name).suffix in SCANNED_SUFFIXES
        and Path(name) != THEORY
        and name != SELF  # its own examples cite missing sections on purpose
        and not name.startswith(EXCLUDED_DIRS)
        and (ROOT / name).is_file()
    )


def _all_citations() -> list[Citation]:
    found: list[Citation] = []
    for name in _tracked_text_files():
        text = (ROOT / name).read_text(encoding="utf-8", errors="replace")
        found += citations_in(name, text)
    return found


def problems(citations: list[Citation], sections: dict[str, set[int]]) -> list[str]:
    """``path:line`` lines for citations of a missing section, or of a missing item of one."""
    found = set()
    for c in citations:
        if c.section not in sections:
            found.add(f"{c.where()}: §{c.section} in {c.text!r}")
            continue
        for item in c.items:
            if item not in sections[c.section]:
                found.add(f"{c.where()}: §{c.section} item {item} in {c.text!r}")
    return sorted(found)


@pytest.mark.integration  # starts a process
def test_every_cited_section_of_the_theory_document_exists() -> None:
    sections = _sections((ROOT / THEORY).read_text(encoding="utf-8"))
    citations = _all_citations()
    # About 180 citations in some 50 files: a parser that finds none must not pass.
    assert len(citations) > 50, f"only {len(citations)} theory citations found; parser broken?"
    wrong = problems(citations, sections)
    headings = ", ".join(sorted(sections, key=lambda s: [int(p) for p in s.split(".")]))
    assert not wrong, (
        f"{len(wrong)} citation(s) of sections that docs/theory.md does not have "
        f"(its numbered headings: {headings}):\n" + "\n".join(wrong)
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("see THEORY.md §3.6).", [("3.6", ())]),
        ("(docs/theory.md 3.4 item 3)", [("3.4", (3,))]),
        ("THEORY.md §3.4, §3.5 and", [("3.4", ()), ("3.5", ())]),
        ("THEORY.md 3.6-3.7", [("3.6", ()), ("3.7", ())]),
        ("THEORY.md 3.3-3.5)", [("3.3", ()), ("3.4", ()), ("3.5", ())]),
        ("THEORY.md §2-§3.5 for", [("2", ()), ("3.5", ())]),
        ("THEORY.md section 3.", [("3", ())]),
        ("THEORY.md §2 (Thm 3):", [("2", ())]),
        ("THEORY.md 3.8, revision 2)", [("3.8", ())]),
        ("THEORY.md §3.6 (steps 1-3; see", [("3.6", (1, 2, 3))]),
        ("THEORY.md §3.6 (the map A) and §3.7 (H, H+)", [("3.6", ()), ("3.7", ())]),
        ("THEORY.md §3.4.1: U", [("3.4.1", ())]),
        ("(THEORY.md\n    §3.9): 2 for", [("3.9", ())]),
        ("# the rounding of THEORY.md\n    # 3.6's 2Q I", [("3.6", ())]),
        ("THEORY.md default 8", []),
        ("THEORY.md's quantities", []),
        ("THEORY.md: factor / 2", []),
    ],
)
def test_citation_forms_are_parsed(text: str, expected: list[tuple[str, tuple[int, ...]]]) -> None:
    assert [(c.section, c.items) for c in citations_in("x.py", text)] == expected


def test_numbered_items_of_a_section_count_as_its_items() -> None:
    document = "## 3. Engine\n### 3.4 U\n#### 3.4.1 Gauss\n1. step\n### 3.6 N\n1. a\n2. b\n"
    assert _sections(document) == {"3": {4, 6}, "3.4": {1}, "3.4.1": {1}, "3.6": {1, 2}}


def test_a_missing_section_or_item_is_reported_with_its_place() -> None:
    sections = _sections("## 2. Results\n### 3.6 N\n1. a\n2. b\n")
    text = "ok THEORY.md §2\nbad docs/theory.md §3.13\nworse THEORY.md 3.6 step 3\n"
    assert problems(citations_in("a.py", text), sections) == [
        "a.py:2: §3.13 in '§3.13'",
        "a.py:3: §3.6 item 3 in '3.6 step 3'",
    ]
