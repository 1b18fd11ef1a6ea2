"""`uvmod wheels`: what the site wheelhouse offers this node and this Python (like the
Alliance's `avail_wheels`), which file uv takes, and which requirements it cannot meet offline.

The site facts come from the loaded module, the node's architecture from $UVMOD_ARCH, the
directory chain of each architecture from the configuration (the same `wheelhouse_dirs` the
uv.toml is rendered from), the rules from uvmod/wheelhouse.py. JSON fields are documented in
docs/user-guide.md#which-wheels-does-the-site-offer and only ever gain keys.
"""

from __future__ import annotations

import fnmatch
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from packaging.markers import UndefinedComparison, UndefinedEnvironmentName
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name

from uvmod import __version__, output, pytarget, requirements
from uvmod.config import SiteConfig
from uvmod.errors import ConfigError, UvmodError
from uvmod.moduledesc import ARCH_VARIABLE, HOME_VARIABLE
from uvmod.output import write_json
from uvmod.policy import wheelhouse_dirs
from uvmod.requirements import Wanted
from uvmod.sitefacts import load_site_facts
from uvmod.wheelhouse import (
    RULE_TEXT,
    Directory,
    InvalidFile,
    Pick,
    Rule,
    TagMatcher,
    Wheel,
    WheelIndex,
    scan,
    select,
)

_GLOB = frozenset("*?[")


@dataclass(frozen=True)
class Query:
    """What the user asked for; every field straight from the command line."""

    names: Sequence[str] = ()
    requirement_files: Sequence[Path] = ()
    project: Path | None = None
    arch: str | None = None
    all_archs: bool = False
    python: str | None = None


@dataclass(slots=True)
class Row:
    wheel: Wheel
    archs: list[str]  # the listed chains holding its directory
    mismatch: str | None  # None: the wheel fits the target Python on this machine
    on_this_node: bool  # its directory is in this node's chain
    picked_for: list[str] = field(default_factory=list)
    tied_for: list[str] = field(default_factory=list)

    @property
    def installable(self) -> bool:
        return self.mismatch is None and self.on_this_node

    def to_json(self) -> dict[str, Any]:
        w = self.wheel
        return {
            "name": w.name,
            "version": w.version_text,
            "build": None if not w.build else f"{w.build[0]}{w.build[1]}",
            "filename": w.filename,
            "directory": w.directory,
            "path": w.path,
            "python_tags": w.python_tags,
            "abi_tags": w.abi_tags,
            "platform_tags": w.platform_tags,
            "archs": self.archs,
            "compatible": self.mismatch is None,
            "incompatible_part": self.mismatch,
            "on_this_node": self.on_this_node,
            "installable": self.installable,
            "picked_for": self.picked_for,
            "tied_for": self.tied_for,
        }


@dataclass(frozen=True)
class Checked:
    """One requirement on one architecture's chain."""

    wanted: Wanted
    arch: str
    status: str  # "met", "unmet", "skipped" (marker false here), "not-checked"
    reason: str | None
    pick: Pick | None

    def to_json(self) -> dict[str, Any]:
        wheel = self.pick.wheel if self.pick else None
        return {
            "requirement": self.wanted.text,
            "from": self.wanted.source,
            "arch": self.arch,
            "status": self.status,
            "reason": self.reason,
            "picked": None
            if wheel is None
            else {
                "version": wheel.version_text,
                "filename": wheel.filename,
                "directory": wheel.directory,
                "path": wheel.path,
            },
            "tied": [
                {"directory": w.directory, "filename": w.filename}
                for w in (self.pick.tied if self.pick else ())
            ],
        }


@dataclass
class Report:
    node_arch: str
    archs: list[str]
    python: pytarget.TargetPython
    platforms: list[str]
    rule: Rule
    chains: dict[str, list[Directory]]
    rows: list[Row]
    checked: list[Checked]
    unmatched: list[str]  # NAME patterns that match no wheel
    invalid: list[InvalidFile]
    warnings: list[str]

    @property
    def unmet(self) -> list[Checked]:
        return [c for c in self.checked if c.status == "unmet"]

    def exit_code(self) -> int:
        return 1 if self.unmet or self.unmatched else 0

    def to_json(self) -> dict[str, Any]:
        return {
            "uvmod": __version__,
            "node_arch": self.node_arch,
            "archs": self.archs,
            "python": {
                "version": self.python.version,
                "abi": self.python.abi,
                "from": self.python.source,
            },
            "platforms": self.platforms,
            "rule": self.rule.value,
            "chains": {
                arch: [{"directory": d.relative, "path": d.path, "error": d.error} for d in chain]
                for arch, chain in self.chains.items()
            },
            "wheels": [r.to_json() for r in self.rows],
            "requirements": [c.to_json() for c in self.checked],
            "unmatched_patterns": self.unmatched,
            "invalid": [
                {"directory": i.directory, "filename": i.filename, "error": i.error}
                for i in self.invalid
            ],
            "unmet": len(self.unmet) + len(self.unmatched),
        }


def _archs(config: SiteConfig, environ: Mapping[str, str], query: Query) -> tuple[str, list[str]]:
    known = config.archs
    node = environ.get(ARCH_VARIABLE) or known[-1]
    if node not in known:
        raise ConfigError(
            f"${ARCH_VARIABLE}={node!r} is not an architecture of the loaded module "
            f"({', '.join(known)}); run `module reload {config.module.name}`"
        )
    if query.all_archs:
        return node, list(known)
    if query.arch is not None:
        if query.arch not in known:
            raise ConfigError(
                f"--arch {query.arch!r}: not an architecture of the site ({', '.join(known)})"
            )
        return node, [query.arch]
    return node, [node]


def _wanted(query: Query) -> tuple[list[Wanted], list[str], list[str]]:
    """Requirements, NAME patterns, and warnings."""
    wanted: list[Wanted] = []
    patterns: list[str] = []
    warnings: list[str] = []
    for name in query.names:
        if _GLOB & set(name):
            patterns.append(name)
        else:
            wanted.append(requirements.parse_argument(name))
    for path in query.requirement_files:
        wanted += requirements.read_requirements_file(path)
    if query.project is not None:
        pyproject = requirements.find_pyproject(query.project)
        found, notes = requirements.read_project(pyproject)
        wanted += found
        warnings += notes
    return wanted, patterns, warnings


def _scan_chains(
    config: SiteConfig, archs: Sequence[str]
) -> tuple[dict[str, list[Directory]], list[str]]:
    scanned: dict[str, Directory] = {}
    chains: dict[str, list[Directory]] = {}
    for arch in archs:
        chain = []
        for relative, path in wheelhouse_dirs(config, arch):
            if relative not in scanned:
                scanned[relative] = scan(relative, path)
            chain.append(scanned[relative])
        chains[arch] = chain
    warnings = [
        f"{d.path} (wheelhouse directory of {', '.join(a for a in archs if d in chains[a])}) "
        f"{d.error}: its wheels are not listed"
        for d in scanned.values()
        if d.error
    ]
    return chains, warnings


def _check(
    wanted: Wanted,
    arch: str,
    index: WheelIndex,
    chain: Sequence[str],
    matcher: TagMatcher,
    rule: Rule,
    environment: dict[str, str],
) -> Checked:
    requirement = wanted.requirement
    if requirement is None:
        return Checked(wanted, arch, "not-checked", wanted.unchecked, None)
    if requirement.marker is not None:
        try:
            needed = requirement.marker.evaluate(environment)
        except (UndefinedComparison, UndefinedEnvironmentName) as exc:
            raise ConfigError(f"{wanted.source}: {wanted.text!r}: cannot evaluate: {exc}") from None
        if not needed:
            return Checked(wanted, arch, "skipped", "its marker is false here", None)
    pick = index_pick(index, requirement.name, chain, requirement.specifier, matcher, rule)
    if pick.wheel is None:
        return Checked(wanted, arch, "unmet", pick.reason, pick)
    return Checked(wanted, arch, "met", None, pick)


def index_pick(
    index: WheelIndex,
    name: str,
    chain: Sequence[str],
    spec: SpecifierSet,
    matcher: TagMatcher,
    rule: Rule,
) -> Pick:
    wheels = index.wheels(name)
    if not wheels:
        return Pick(None, reason="no wheel of that name")
    return select(wheels, chain, spec, matcher, rule)


def build_report(
    config: SiteConfig,
    environ: Mapping[str, str],
    query: Query,
    platforms: Sequence[str] | None = None,
) -> Report:
    if config.wheelhouse.root is None:
        module = config.module.name
        raise UvmodError(
            "the site has no wheelhouse (wheelhouse.root is not set"
            + (
                ")"
                if environ.get(HOME_VARIABLE)
                else f"; {module} is not loaded: module load {module})"
            )
        )
    node, archs = _archs(config, environ, query)
    python = (
        pytarget.from_option(query.python)
        if query.python is not None
        else pytarget.from_path(environ)
    )
    wanted, patterns, warnings = _wanted(query)
    chains, scan_warnings = _scan_chains(config, archs)
    node_chain = {rel for rel, _ in wheelhouse_dirs(config, node)}
    platforms = list(pytarget.machine_platforms() if platforms is None else platforms)
    matcher = TagMatcher(python.supported_tags(platforms))
    rule = Rule.of(config.wheelhouse)
    index = WheelIndex(d for chain in chains.values() for d in chain)
    relatives = {arch: [d.relative for d in chain] for arch, chain in chains.items()}

    names: list[str] = []
    unmatched: list[str] = []
    if wanted or patterns:
        names = [w.requirement.name for w in wanted if w.requirement is not None]
        every = index.names()
        for pattern in patterns:
            matched = fnmatch.filter(every, canonicalize_name(pattern))
            names += matched
            if not matched:
                unmatched.append(pattern)
    else:
        names = list(index.names())
    # Rows of one version: directories as they come position by position through the listed
    # chains (every arch directory, then the shared ones), i.e. chain order for one chain.
    order: dict[str, int] = {}
    for depth in range(max((len(c) for c in relatives.values()), default=0)):
        for chain_dirs in relatives.values():
            if depth < len(chain_dirs):
                order.setdefault(chain_dirs[depth], len(order))
    dir_archs = {rel: [a for a in archs if rel in relatives[a]] for rel in order}
    rows: list[Row] = []
    for name in sorted({canonicalize_name(n) for n in names}):
        wheels = index.wheels(name)
        group = [
            Row(w, dir_archs[w.directory], matcher.mismatch(w), w.directory in node_chain)
            for w in wheels
        ]
        by_file = {(r.wheel.directory, r.wheel.filename): r for r in group}
        for arch in archs:
            pick = index_pick(index, name, relatives[arch], SpecifierSet(), matcher, rule)
            if pick.wheel is not None:
                by_file[pick.wheel.directory, pick.wheel.filename].picked_for.append(arch)
            for tied in pick.tied:
                by_file[tied.directory, tied.filename].tied_for.append(arch)
        # Highest version first; within one version the chain order, then the file name.
        # Versions are ranked once per name: comparing Version objects is the slow part.
        ranked = {v: i for i, v in enumerate(sorted({w.version for w in wheels}, reverse=True))}
        group.sort(
            key=lambda r: (ranked[r.wheel.version], order[r.wheel.directory], r.wheel.filename)
        )
        rows += group
    environment = python.marker_environment()
    checked = [
        _check(w, arch, index, relatives[arch], matcher, rule, environment)
        for w in wanted
        for arch in archs
    ]
    if index.invalid:
        shown = ", ".join(f"{i.directory}/{i.filename}" for i in index.invalid[:3])
        more = f" and {len(index.invalid) - 3} more" if len(index.invalid) > 3 else ""
        warnings.append(f"not valid wheel file names, not listed: {shown}{more}")
    return Report(
        node,
        archs,
        python,
        platforms,
        rule,
        chains,
        rows,
        checked,
        unmatched,
        list(index.invalid),
        scan_warnings + warnings,
    )


_shown = output.shown


def _shown_row(values: list[str]) -> list[str]:
    return values if "".join(values).isprintable() else [_shown(v) for v in values]


def _emit(console: Any, text: Any) -> None:
    """Print a block. Not on a terminal, rich writes a no-wrap Text's characters unchanged
    (tests/test_wheels_command.py checks it) after splitting it into a Text per line, which
    costs a second per 50,000 rows: write them directly there."""
    if console.is_terminal:
        console.print(text)
    else:
        console.file.write(text.plain + "\n")


@dataclass
class _Block:
    """An aligned table as one rich Text: Table measures every cell, which costs about 30 s
    for 50,000 rows (docs/performance.md#uvmod-wheels-on-50000-wheels)."""

    header: Sequence[str]
    rows: list[list[tuple[str, str | None]]] = field(default_factory=list)

    def add(self, *cells: str | tuple[str, str | None]) -> None:
        self.rows.append([c if isinstance(c, tuple) else (c, None) for c in cells])

    def text(self, styled: bool) -> Any:
        """The block; `styled` adds the colours (only worth it on a terminal: rich drops them
        for a pipe, and 100,000 spans cost more than the text)."""
        from rich.text import Span, Text

        cells = [list(self.header), *(_shown_row([v for v, _ in row]) for row in self.rows)]
        widths = [max(map(len, column)) for column in zip(*cells, strict=True)][:-1]
        lines = [
            "  ".join([*(c.ljust(w) for c, w in zip(row, widths, strict=False)), row[-1]]).rstrip()
            for row in cells
        ]
        text = Text("\n".join(lines), no_wrap=True)
        if styled:
            spans: list[Span] = []
            starts = [sum(widths[:i]) + 2 * i for i in range(len(self.header))]
            offset = 0
            header: list[tuple[str, str | None]] = [(h, "bold") for h in self.header]
            styles = [header, *self.rows]
            for line, row, shown in zip(lines, styles, cells, strict=True):
                for start, (_, style), value in zip(starts, row, shown, strict=True):
                    if style:
                        spans.append(Span(offset + start, offset + start + len(value), style))
                offset += len(line) + 1
            text.spans = spans
        return text


def _here(row: Row, node: str) -> tuple[str, str | None]:
    if row.mismatch is not None:
        return f"no: {row.mismatch}", "dim"
    if not row.on_this_node:
        return f"no: not for {node}", "dim"
    return "yes", "green"


def _takes(row: Row) -> tuple[str, str | None]:
    text = ", ".join(a + ("*" if a in row.tied_for else "") for a in row.picked_for)
    return text, "bold" if text else None


def _result(checked: Checked) -> tuple[str, str | None]:
    if checked.status == "met" and checked.pick and checked.pick.wheel:
        wheel = checked.pick.wheel
        tie = " (tie)" if checked.pick.tied else ""
        return f"ok: {wheel.version_text} from {wheel.directory}{tie}", "green"
    if checked.status == "unmet":
        return f"UNMET: {checked.reason}", "red"
    return f"{checked.status}: {checked.reason}", "dim"


def _shows_requirements(query: Query, report: Report) -> bool:
    if query.requirement_files or query.project is not None or report.unmet:
        return True
    return any(
        c.wanted.requirement is None or str(c.wanted.requirement) != c.wanted.requirement.name
        for c in report.checked
    )


def render_text(report: Report, query: Query, out: TextIO) -> None:
    from rich.text import Text

    # soft_wrap: never wrap at 80 columns when the output is a pipe or a file; nothing is parsed
    # for markup (uvmod/output.py), so a file name holding "[red]" prints as written.
    console = output.console(out, soft_wrap=True)
    archs = ", ".join(report.archs)
    console.print(
        Text(
            _shown(
                f"Wheels for {archs} nodes (this node: {report.node_arch}), "
                f"{report.python.describe()}"
            ),
            style="bold",
        )
    )
    if report.rows:
        block = _Block(
            ("name", "version", "python", "abi", "platform", "directory", "here", "uv takes")
        )
        for row in report.rows:
            w = row.wheel
            block.add(
                w.name,
                w.version_text + (f" (build {w.build[0]}{w.build[1]})" if w.build else ""),
                ".".join(w.python_tags),
                ".".join(w.abi_tags),
                ".".join(w.platform_tags),
                w.directory,
                _here(row, report.node_arch),
                _takes(row),
            )
        _emit(console, block.text(console.is_terminal))
        console.print(
            Text(
                "uv takes: the wheel `uv pip install NAME` installs offline on a node of that "
                f"architecture. Rule: {RULE_TEXT[report.rule]}."
            )
        )
        if any(row.tied_for for row in report.rows):
            console.print(
                Text(
                    "*: a tie (identical versions, tags and build in one directory); uv "
                    "takes either."
                )
            )
    elif query.names or query.requirement_files or query.project is not None:
        console.print(Text(f"No wheel of these names in the chain of {archs}."))
    else:
        console.print(Text(f"The wheelhouse chain of {archs} holds no wheels."))
    for pattern in report.unmatched:
        console.print(Text(_shown(f"No wheel name matches {pattern!r}."), style="red"))
    if not _shows_requirements(query, report):
        return
    console.print()
    several = len(report.archs) > 1
    header = ("requirement", "from", *(("arch",) if several else ()), "result")
    block = _Block(header)
    for checked in report.checked:
        block.add(
            checked.wanted.text,
            checked.wanted.source,
            *((checked.arch,) if several else ()),
            _result(checked),
        )
    _emit(console, block.text(console.is_terminal))
    unmet = len(report.unmet)
    where = f"for {report.python.name()} on {archs} nodes"
    if unmet:
        console.print(
            Text(f"{unmet} cannot be met offline from the wheelhouse {where}.", style="red")
        )
    else:
        console.print(Text(f"All can be met offline from the wheelhouse {where}."))
    console.print(
        Text(
            "Each requirement is checked alone: the dependencies of these packages and conflicts "
            "between them are uv's to resolve (uv pip install --dry-run --offline -r FILE)."
        )
    )


def wheels(
    environ: Mapping[str, str],
    query: Query,
    *,
    as_json: bool,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    """List the wheels; 1 when a requirement cannot be met or a pattern matches nothing."""
    out = out or sys.stdout
    err = err or sys.stderr
    report = build_report(load_site_facts(environ).config, environ, query)
    for warning in report.warnings:
        print(f"uvmod: warning: {_shown(warning)}", file=err)
    if as_json:
        write_json(report.to_json(), out)
    else:
        render_text(report, query, out)
    return report.exit_code()
