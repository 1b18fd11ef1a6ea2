"""Every problem doctor can report has a troubleshooting entry under the same words."""

from __future__ import annotations

import re
from pathlib import Path

from uvmod.doctor.findings import all_problems
from uvmod.doctor.result import Problem

DOCS = Path(__file__).resolve().parents[2] / "docs"


def _headings() -> set[str]:
    text = (DOCS / "troubleshooting.md").read_text()
    return {m.group(1).strip() for m in re.finditer(r"^## (.+)$", text, re.MULTILINE)}


def test_every_problem_title_is_a_troubleshooting_heading() -> None:
    headings = _headings()
    missing = [p.title for p in all_problems() if p.title not in headings]
    assert not missing, f"add these headings to docs/troubleshooting.md: {missing}"


def test_catalog_is_complete_and_titles_are_unique() -> None:
    titles = [p.title for p in all_problems()]
    assert len(titles) == len(set(titles))
    assert len(titles) >= 20  # the catalog is found through the module's globals


def test_anchor_matches_github_slugs() -> None:
    assert Problem("the uv on PATH is not the module's wrapper").anchor == (
        "the-uv-on-path-is-not-the-modules-wrapper"
    )
    assert Problem("a .venv inside the project counts").anchor == "a-venv-inside-the-project-counts"
    assert Problem("UV_ variables change it").anchor == "uv_-variables-change-it"


def test_user_guide_documents_doctor() -> None:
    text = (DOCS / "user-guide.md").read_text()
    assert "## When something is wrong: `uvmod doctor`" in text
    assert "uvmod doctor --json" in text
