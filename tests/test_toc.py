"""The table of contents and the chapter files agree.

With `only_build_toc_files: true` a chapter missing from _toc.yml is silently left out of
the book, so this test makes that an error. It also keeps the intro's chapter map honest.
"""

import re
from pathlib import Path

from execute_chapters import toc_documents

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"
# A chapter-map row in book/intro.md: | title | `book/name.ipynb` | status |
MAP_ROW = re.compile(r"^\|.*\|\s*`(book/[\w-]+)\.(?:ipynb|md)`\s*\|\s*(\w+)\s*\|\s*$", re.MULTILINE)


def page_files() -> set[str]:
    """Pages in book/ as document names ("book/huggett"), whatever their extension."""
    return {f"book/{path.stem}" for ext in ("ipynb", "md") for path in BOOK.glob(f"*.{ext}")}


def test_every_page_is_in_the_toc():
    missing = page_files() - set(toc_documents())
    assert not missing, f"add these to _toc.yml (or delete them): {sorted(missing)}"


def test_every_toc_entry_has_a_file():
    missing = set(toc_documents()) - page_files()
    assert not missing, f"_toc.yml lists pages that do not exist in book/: {sorted(missing)}"


def test_toc_root_is_the_intro():
    assert toc_documents()[0] == "book/intro"


def test_chapter_map_status_matches_the_toc():
    rows = MAP_ROW.findall((BOOK / "intro.md").read_text())
    assert rows, "no chapter-map rows found in book/intro.md"
    in_toc = set(toc_documents())
    wrong = [
        (path, status) for path, status in rows
        if status != ("available" if path in in_toc else "planned")
    ]
    assert not wrong, (
        "book/intro.md chapter map: mark a chapter `available` when it is in _toc.yml, "
        f"`planned` otherwise: {wrong}"
    )
