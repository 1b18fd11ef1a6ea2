"""Row 6: the wrapper overhead figures of benchmarks/wrapper_overhead.py, in the same table.

Not re-measured differently: the cases, rounds and alternation are that script's own
(`run_cases`); this only turns its results into rows.
"""

from __future__ import annotations

import subprocess

from benchmarks import wrapper_overhead
from benchmarks.results import Figure, Report, Row
from benchmarks.site import Site


def measure(site: Site, quick: bool, report: Report) -> None:
    try:
        results = wrapper_overhead.run_cases(str(site.uv), quick)
    except subprocess.CalledProcessError as error:
        report.skip("6", f"wrapper_overhead.py: `{' '.join(error.cmd)}` failed")
        return
    if results is None:
        report.skip("6", "wrapper_overhead.py could not build its module tree")
        return
    for letter, result in zip("abcdefgh", results, strict=False):
        case = result.case
        informative = result.ok is None
        report.add(
            Row(
                f"6{letter}",
                f"wrapper overhead: {case.label}",
                Figure(result.real_s * 1000, "ms", "real uv", ()),
                Figure(result.wrapped_s * 1000, "ms", "through the wrapper", ()),
                f"+{(result.wrapped_s - result.real_s) * 1000:.2f} ms"
                if informative
                else f"{result.ratio:.3f}x",
                "-" if informative else f"<= {case.target:.2f}x",
                result.ok,
                f"median of {result.rounds} alternating rounds (benchmarks/wrapper_overhead.py)",
            )
        )
