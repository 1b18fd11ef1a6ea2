"""The result table: one row per measurement, rendered with rich, as Markdown and as JSON."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from rich.console import Console
from rich.table import Table


@dataclass(frozen=True)
class Figure:
    """One measured side of a comparison: a number, its unit and how it was obtained."""

    value: float
    unit: str  # "s", "ms", "files", ...
    how: str
    samples: tuple[float, ...] = ()

    def text(self) -> str:
        if self.unit == "s":
            number = f"{self.value:.2f} s" if self.value < 100 else f"{self.value:.0f} s"
        elif self.unit == "ms":
            number = f"{self.value:.1f} ms"
        else:
            number = plural(self.value, self.unit)
        return f"{number} ({self.how})"


@dataclass(frozen=True)
class Row:
    item: str
    what: str
    today: Figure | None
    uvmod: Figure | None
    ratio: str
    target: str
    met: bool | None  # None: no target, or not measurable in this run
    note: str = ""


@dataclass
class Report:
    rows: list[Row] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # "item: reason"

    def add(self, row: Row) -> None:
        self.rows.append(row)

    def skip(self, item: str, reason: str) -> None:
        self.skipped.append(f"{item}: {reason}")


def plural(count: float, noun: str) -> str:
    """`1 file`, `2 files`: units other than s/ms are plural nouns."""
    if count == 1 and noun.endswith("s"):
        noun = noun[:-1]
    return f"{count:,.0f} {noun}"


def ratio(numerator: float, denominator: float, digits: int = 0) -> str:
    if denominator <= 0:
        return "n/a"
    return f"{numerator / denominator:.{digits}f}x"


def _verdict(met: bool | None) -> str:
    return {True: "yes", False: "NO", None: "-"}[met]


def _cells(row: Row) -> list[str]:
    return [
        row.item,
        row.what,
        row.today.text() if row.today else "-",
        row.uvmod.text() if row.uvmod else "-",
        row.ratio,
        row.target,
        _verdict(row.met),
    ]


HEADERS = ("#", "measurement", "today", "with uv-hpc", "ratio", "target", "met")


def print_table(report: Report, console: Console, title: str) -> None:
    table = Table(title=title, show_lines=True)
    for header in HEADERS:
        table.add_column(header, overflow="fold")
    for row in report.rows:
        table.add_row(*_cells(row))
    console.print(table)
    for row in report.rows:
        if row.note:
            console.print(f"[dim]{row.item}: {row.note}[/dim]")
    for line in report.skipped:
        console.print(f"[yellow]not measured[/yellow] {line}")


def markdown(report: Report) -> str:
    """The same table as Markdown, for docs/performance.md."""
    lines = ["| " + " | ".join(HEADERS) + " |", "|" + " --- |" * len(HEADERS)]
    for row in report.rows:
        cells = [cell.replace("|", "\\|") for cell in _cells(row)]
        lines.append("| " + " | ".join(cells) + " |")
    notes = [f"- {row.item}: {row.note}" for row in report.rows if row.note]
    notes += [f"- not measured: {line}" for line in report.skipped]
    return "\n".join(lines + (["", *notes] if notes else [])) + "\n"


def write_json(report: Report, path: Path, context: dict[str, str]) -> None:
    data = {
        "context": context,
        "rows": [asdict(row) for row in report.rows],
        "skipped": report.skipped,
    }
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n")


def by_item(rows: Sequence[Row], item: str) -> Row | None:
    return next((row for row in rows if row.item == item), None)
