"""Every `docs/design.md#<anchor>` that code, tests or docs cite names a heading of that page."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CITED = re.compile(r"docs/design\.md#([a-z0-9-]+)")


def _anchor(heading: str) -> str:
    """GitHub's slug: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def test_cited_design_anchors_exist() -> None:
    design = (REPO / "docs" / "design.md").read_text()
    anchors = {_anchor(h) for h in re.findall(r"(?m)^#+ (.*)$", design)}
    cited: dict[str, set[str]] = {}
    for folder in ("uvmod", "lua", "tcl", "sh", "tests", "docs", "benchmarks", ".ci"):
        for path in (REPO / folder).rglob("*"):
            if path.is_file() and path.suffix in {".py", ".lua", ".tcl", ".sh", ".md", ""}:
                for anchor in CITED.findall(path.read_text(errors="replace")):
                    cited.setdefault(anchor, set()).add(str(path.relative_to(REPO)))
    assert cited, "no citations found: the pattern is wrong"
    missing = {a: sorted(files) for a, files in cited.items() if a not in anchors}
    assert missing == {}
