"""What a check returns: a status, a one-line finding and a one-line fix.

Every finding that is not "ok" starts with the title of a Problem, and docs/troubleshooting.md has
a heading with exactly those words (tests/doctor/test_docs.py keeps the two in step), so a user
can search the docs for what doctor printed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

TROUBLESHOOTING = "docs/troubleshooting.md"


class Status(StrEnum):
    OK = "ok"
    WARN = "warn"  # worth knowing; uv still works
    FAIL = "fail"  # uv misbehaves or the site set-up is not in effect: exit 1


@dataclass(frozen=True)
class Problem:
    """A kind of finding: `title` is its fixed wording and the troubleshooting heading."""

    title: str

    @property
    def anchor(self) -> str:
        """GitHub's heading slug: lower case, punctuation dropped, spaces to hyphens."""
        slug = re.sub(r"[^\w\- ]", "", self.title.lower())
        return slug.replace(" ", "-")

    @property
    def doc(self) -> str:
        return f"{TROUBLESHOOTING}#{self.anchor}"


@dataclass(frozen=True)
class Result:
    check: str  # a stable id, e.g. "filesystems.flock"
    status: Status
    finding: str
    fix: str = ""
    problem: Problem | None = None

    def to_json(self) -> dict[str, str | None]:
        return {
            "check": self.check,
            "status": self.status.value,
            "finding": self.finding,
            "fix": self.fix or None,
            "doc": self.problem.doc if self.problem else None,
        }


def ok(check: str, finding: str) -> Result:
    return Result(check, Status.OK, finding)


def found(check: str, status: Status, problem: Problem, detail: str, fix: str) -> Result:
    """A warn/fail result whose finding is the problem's title, a colon and the details."""
    assert status is not Status.OK
    finding = f"{problem.title}: {detail}" if detail else problem.title
    return Result(check, status, finding, fix, problem)


SHOWN = 5  # names listed in a finding before "and N more"


def listing(items: list[str]) -> str:
    """Names for a finding: the first few, and how many more."""
    shown = ", ".join(items[:SHOWN])
    return shown + (f" and {len(items) - SHOWN} more" if len(items) > SHOWN else "")
