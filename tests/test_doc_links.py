"""Every link from the README and docs/ to a section of a project document lands on a heading:
results.md's headings carry dates and row numbers that change as results come in, and a
renamed heading silently breaks the README's links to it."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LINK = re.compile(r"\]\(([^)\s]*?)#([^)\s]+)\)")  # [text](path#anchor)


@cache  # one read per document, however many links point into it
def anchors(md: Path) -> set[str]:
    """The section anchors GitHub makes of a file's headings (duplicates get -1, -2, ...)."""
    counts: dict[str, int] = {}
    found = set()
    in_code = False
    for line in md.read_text().splitlines():
        if line.startswith("```"):
            in_code = not in_code
        heading = None if in_code else re.match(r"^#{1,6}\s+(.*)$", line)
        if heading:
            slug = re.sub(r"[^\w\- ]", "", heading.group(1).strip().lower()).replace(" ", "-")
            n = counts.get(slug, 0)
            counts[slug] = n + 1
            found.add(slug if n == 0 else f"{slug}-{n}")
    return found


def test_anchor_slugs_follow_github():
    # punctuation dropped, spaces to hyphens, a repeated heading numbered
    md = ROOT / "docs" / "results.md"
    assert "reproduce" in anchors(md)
    assert "the-shipped-checkpoint-checkpointsdemo" in anchors(md)


def test_every_section_link_lands_on_a_heading():
    checked, broken = 0, []
    for md in [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]:
        for path, anchor in LINK.findall(md.read_text()):
            target = (md.parent / path).resolve() if path else md
            if target.suffix != ".md" or not target.is_file():
                continue
            checked += 1
            if anchor not in anchors(target):
                broken.append(f"{md.relative_to(ROOT)} -> {path}#{anchor}")
    assert checked > 5, "no section links found: the pattern no longer matches the docs"
    assert not broken, "links to headings that do not exist:\n" + "\n".join(broken)
