"""Links between the pages hold: every `docs/<page>.md#<anchor>` that code, tests or docs cite,
and every relative link of the Markdown pages, names a file and a heading that exist."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CITED = re.compile(r"docs/([a-z-]+\.md)#([a-z0-9_-]+)")
LINK = re.compile(r"\]\(([^)\s]+)\)")
PAGES = [
    REPO / "README.md",
    REPO / "CHANGELOG.md",
    REPO / "benchmarks" / "RESULTS.md",
    REPO / "modulefiles" / "README.md",
    *sorted((REPO / "docs").glob("*.md")),
]


def anchor(heading: str) -> str:
    """GitHub's slug: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def anchors(page: Path) -> set[str]:
    text = re.sub(r"(?ms)^```.*?^```", "", page.read_text())  # no headings inside code blocks
    return {anchor(h) for h in re.findall(r"(?m)^#+ (.*)$", text)}


def test_cited_anchors_exist() -> None:
    cited: dict[tuple[str, str], set[str]] = {}
    for folder in ("uvmod", "lua", "tcl", "sh", "tests", "docs", "benchmarks", ".ci"):
        for path in (REPO / folder).rglob("*"):
            if path.is_file() and path.suffix in {".py", ".lua", ".tcl", ".sh", ".md", ""}:
                for page, name in CITED.findall(path.read_text(errors="replace")):
                    cited.setdefault((page, name), set()).add(str(path.relative_to(REPO)))
    assert ("design.md", "per-key-builds") in cited, "no citations found: the pattern is wrong"
    missing = {
        f"docs/{page}#{name}": sorted(files)
        for (page, name), files in cited.items()
        if not (REPO / "docs" / page).is_file() or name not in anchors(REPO / "docs" / page)
    }
    assert missing == {}


def test_relative_links_of_the_pages_exist() -> None:
    broken: list[str] = []
    for page in PAGES:
        text = re.sub(r"(?ms)^```.*?^```", "", page.read_text())
        for target in LINK.findall(text):
            if re.match(r"[a-z]+:", target):  # https:, mailto:
                continue
            path, _, name = target.partition("#")
            linked = (page.parent / path).resolve() if path else page
            if not linked.exists():
                broken.append(f"{page.relative_to(REPO)}: {target} (no such file)")
            elif name and linked.suffix == ".md" and name not in anchors(linked):
                broken.append(f"{page.relative_to(REPO)}: {target} (no such heading)")
    assert broken == []
