"""`uvmod doctor`: run every check, show a table (people) or JSON (scripts); exit 1 on a failure.

The checks live in uvmod/doctor/, one module per topic, listed in uvmod/doctor/registry.py;
this module only renders them.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TextIO

from uvmod import __version__, output
from uvmod.doctor.context import Context, make_context
from uvmod.doctor.registry import CHECKS, Check, run_checks
from uvmod.doctor.result import TROUBLESHOOTING, Result, Status


def exit_code(results: Sequence[Result]) -> int:
    return 1 if any(r.status is Status.FAIL for r in results) else 0


def to_json(ctx: Context, results: Sequence[Result]) -> dict[str, object]:
    return {
        "uvmod": __version__,
        "ok": exit_code(results) == 0,
        "project": None if ctx.project is None else str(ctx.project),
        "failed": sum(r.status is Status.FAIL for r in results),
        "warnings": sum(r.status is Status.WARN for r in results),
        "checks": [r.to_json() for r in results],
    }


_STYLE = {Status.OK: ("ok", "green"), Status.WARN: ("warn", "yellow"), Status.FAIL: ("FAIL", "red")}


def render_table(ctx: Context, results: Sequence[Result], out: TextIO, width: int | None) -> None:
    from rich.table import Table

    console = output.console(out, width)
    where = f"project {ctx.project}" if ctx.project else "no project"
    table = Table(title=output.text(f"uvmod doctor ({where})"), show_lines=True)
    table.add_column("", no_wrap=True)
    table.add_column("check", no_wrap=True)
    table.add_column("finding and fix", overflow="fold")
    for result in results:
        label, colour = _STYLE[result.status]
        cell = output.text(result.finding)
        if result.fix:
            cell.append("\n")
            cell.append_text(output.text("fix:", "bold"))
            cell.append(" ")
            cell.append_text(output.text(result.fix))
        table.add_row(output.text(label, colour), output.text(result.check), cell)
    console.print(table)
    failed = sum(r.status is Status.FAIL for r in results)
    warned = sum(r.status is Status.WARN for r in results)
    if failed or warned:
        console.print(
            f"{failed} failed, {warned} warning(s); every finding has an entry in "
            f"{TROUBLESHOOTING} under the words before its colon."
        )
    else:
        console.print("Everything looks right.")


def doctor(
    environ: Mapping[str, str],
    *,
    as_json: bool,
    project: Path | None = None,
    cwd: Path | None = None,
    now: float | None = None,
    out: TextIO | None = None,
    width: int | None = None,
    checks: Sequence[Check] = CHECKS,
) -> int:
    """Run the checks; 1 when any fails. `width` is the table width (None: the terminal's, and
    unbounded when not on a terminal, so that piped output keeps one finding per line)."""
    stream = sys.stdout if out is None else out
    ctx = make_context(
        environ,
        project,
        cwd if cwd is not None else Path(os.getcwd()),
        time.time() if now is None else now,
    )
    results = run_checks(ctx, checks)
    if as_json:
        stream.write(json.dumps(to_json(ctx, results), indent=2) + "\n")
    else:
        render_table(ctx, results, stream, width)
    return exit_code(results)
