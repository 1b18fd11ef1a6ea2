"""One table of captured /proc/cpuinfo files through every architecture detection: Lmod (8.6,
8.7), Environment Modules (5.2, 5.5) and uvmod/archdetect.py (doctor, `uvmod wheels`) must pick
the same rule, and that rule must be what EESSI's archdetect concludes on the same file
(tests/data/cpuinfo/eessi/*.output, captured with the files; README.md there says where from).

The site below describes a heterogeneous cluster as admin-guide.md does: aarch64 rules named by
machine type and `Features`, x86-64 micro-architecture levels, then a generic x86-64 fallback.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from tests.conftest import BuildPrefix
from tests.support.modules import ModuleTool, base_env
from uvmod.archdetect import X86_64_LEVELS, detect, expand_levels
from uvmod.config import parse_config
from uvmod.moduledesc import (
    CPUINFO_VARIABLE,
    MACHINE_OVERRIDE_VARIABLE,
    ArchDetection,
    arch_rules,
)

DATA = Path(__file__).parent / "data" / "cpuinfo"

SITE = """\
[arch.flags]
neoverse_v2 = ["sve2"]
neoverse_v1 = ["sve", "svebf16", "i8mm"]
a64fx = ["sve"]
neoverse_n1 = ["asimddp", "atomics"]
aarch64 = []
x86-64-v4 = ["x86-64-v4"]
x86-64-v3 = ["x86-64-v3"]
x86-64-v2 = ["x86-64-v2"]
x86-64 = []

[arch.machine]
neoverse_v2 = "aarch64"
neoverse_v1 = "aarch64"
a64fx = "aarch64"
neoverse_n1 = "aarch64"
aarch64 = "aarch64"
x86-64-v4 = "x86_64"
x86-64-v3 = "x86_64"
x86-64-v2 = "x86_64"
"""

# EESSI's conclusion (the .output file) -> the rule of SITE for it.
FROM_EESSI = {
    "aarch64/nvidia/grace": "neoverse_v2",
    "aarch64/neoverse_v1": "neoverse_v1",
    "aarch64/a64fx": "a64fx",
    "aarch64/neoverse_n1": "neoverse_n1",
    "x86_64/intel/sapphirerapids": "x86-64-v4",
    "x86_64/intel/icelake": "x86-64-v4",
    "x86_64/intel/skylake_avx512": "x86-64-v4",
    "x86_64/amd/zen4": "x86-64-v4",
    "x86_64/intel/haswell": "x86-64-v3",
    "x86_64/amd/zen3": "x86-64-v3",
    "x86_64/amd/zen2": "x86-64-v3",
}

# (file, machine type, expected rule): EESSI's captures, then this repository's own (the
# SSE4.1-only Core 2 has no x86-64-v2: the generic fallback).
CASES = [
    *(
        (
            f"eessi/{path.stem}.cpuinfo",
            (path.read_text().strip()).split("/")[0],
            FROM_EESSI[path.read_text().strip()],
        )
        for path in sorted((DATA / "eessi").glob("*.output"))
    ),
    ("skylake-avx512.txt", "x86_64", "x86-64-v4"),
    ("epyc-rome-avx2.txt", "x86_64", "x86-64-v3"),
    ("core2-sse.txt", "x86_64", "x86-64"),
]
# Fixes the table's coverage: the machines are all there.
WANTED = {"AWS-Rocky8-8488C", "Azure-Alma8-9V33X", "archspec-linux-E5-2680-v3", "Jureca-Rocky95"}
WANTED |= {"AWS-awslinux-graviton2", "Azure-Ubuntu20-Altra"}


def test_the_table_covers_the_machines_asked_for() -> None:
    names = {Path(f).stem for f, _, _ in CASES}
    assert WANTED <= names and "core2-sse" in names
    assert set(FROM_EESSI.values()) <= {rule for _, _, rule in CASES}
    assert len(CASES) == 15


def _detection(site: str) -> ArchDetection:
    """What the modulefiles get: the rules of the module description."""
    config = parse_config(site, "site.toml")
    return ArchDetection(tuple(config.arch.env), CPUINFO_VARIABLE, arch_rules(config))


def _env(path: str, machine: str) -> dict[str, str]:
    return {CPUINFO_VARIABLE: str(DATA / path), MACHINE_OVERRIDE_VARIABLE: machine}


@pytest.mark.parametrize(("path", "machine", "expected"), CASES)
def test_python_detection_matches_eessi(path: str, machine: str, expected: str) -> None:
    found = detect(_detection(SITE), _env(path, machine))
    assert (found.arch, found.machine, found.message) == (expected, machine, None)


def _loads(
    tool: ModuleTool, prefix: Path, tmp_path: Path, cases: list[tuple[str, str]]
) -> list[str]:
    """UVMOD_ARCH and UVMOD_MACHINE after `module load uv-hpc` for each (file, machine), all in
    one shell: load, print, unload."""
    lines = []
    for path, machine in cases:
        lines += [
            f"export {CPUINFO_VARIABLE}={shlex.quote(str(DATA / path))}",
            f"export {MACHINE_OVERRIDE_VARIABLE}={machine}",
            "module load uv-hpc",
            'printf "%s %s\\n" "$UVMOD_ARCH" "$UVMOD_MACHINE"',
            "module unload uv-hpc",
        ]
    result = tool.run(lines, base_env(tmp_path), modulepath=[prefix / "modulefiles"])
    assert result.stderr.strip() == "", result.stderr
    return result.stdout.splitlines()


def test_every_module_tool_matches_eessi(
    tmp_path: Path, build_prefix: BuildPrefix, module_tool: ModuleTool
) -> None:
    prefix = build_prefix(SITE)
    seen = _loads(module_tool, prefix, tmp_path, [(p, m) for p, m, _ in CASES])
    assert seen == [f"{expected} {machine}" for _, machine, expected in CASES]


def test_the_order_of_the_rules_decides(
    tmp_path: Path, build_prefix: BuildPrefix, module_tool: ModuleTool
) -> None:
    """x86-64-v2 before v3 takes the Haswell; a rule without a machine type takes the Grace
    too, when it comes first."""
    site = SITE.replace(
        'x86-64-v3 = ["x86-64-v3"]\nx86-64-v2 = ["x86-64-v2"]\n',
        'x86-64-v2 = ["x86-64-v2"]\nx86-64-v3 = ["x86-64-v3"]\n',
    )
    site = site.replace("[arch.flags]\n", '[arch.flags]\nanysve = ["sve"]\n')
    prefix = build_prefix(site)
    cases = [
        ("eessi/archspec-linux-E5-2680-v3.cpuinfo", "x86_64", "x86-64-v2"),
        ("eessi/Jureca-Rocky95.cpuinfo", "aarch64", "anysve"),
        ("eessi/Azure-Ubuntu20-Altra.cpuinfo", "aarch64", "neoverse_n1"),
        # A rule naming no machine type matches on any; with one, only on its own: fallback.
        ("eessi/Jureca-Rocky95.cpuinfo", "x86_64", "anysve"),
        ("eessi/AWS-awslinux-graviton2.cpuinfo", "x86_64", "x86-64"),
    ]
    seen = _loads(module_tool, prefix, tmp_path, [(p, m) for p, m, _ in cases])
    assert seen == [f"{expected} {machine}" for _, machine, expected in cases]
    detection = _detection(site)
    assert [detect(detection, _env(p, m)).arch for p, m, _ in cases] == [e for _, _, e in cases]


def test_levels_expand_to_cumulative_flag_sets() -> None:
    v2, v3, v4 = (set(X86_64_LEVELS[f"x86-64-v{n}"]) for n in (2, 3, 4))
    assert v2 < v3 < v4 and {"sse4_2", "popcnt"} <= v2 and {"avx2", "fma", "movbe"} <= v3
    assert {"avx512f", "avx512vl", "avx512bw"} <= v4
    assert expand_levels(["x86-64-v3", "avx2", "sha_ni"]) == (*X86_64_LEVELS["x86-64-v3"], "sha_ni")


def test_the_machine_the_module_reports_is_this_machines(
    tmp_path: Path, build_prefix: BuildPrefix, module_tool: ModuleTool
) -> None:
    """Without the override: the kernel's machine type, read once at load (the wrapper and
    depot.py take it from $UVMOD_MACHINE)."""
    import platform

    prefix = build_prefix(SITE)
    env = base_env(tmp_path, {CPUINFO_VARIABLE: str(DATA / "core2-sse.txt")})
    out = module_tool.run(["module load uv-hpc"], env, modulepath=[prefix / "modulefiles"])
    assert out.environ["UVMOD_MACHINE"] == platform.machine()
    gone = module_tool.run(
        ["module load uv-hpc", "module unload uv-hpc"], env, modulepath=[prefix / "modulefiles"]
    )
    assert "UVMOD_MACHINE" not in gone.environ


def test_the_admin_guides_heterogeneous_example_picks_what_it_says() -> None:
    """docs/admin-guide.md, "Heterogeneous clusters": its rules, on the captures it names."""
    guide = (Path(__file__).parent.parent / "docs" / "admin-guide.md").read_text()
    (example,) = [
        block
        for block in re.findall(r"```toml\n(.*?)```", guide, re.DOTALL)
        if "[arch.machine]" in block
    ]
    example = example.replace("[wheelhouse.arch]", '[wheelhouse]\nroot = "/w"\n[wheelhouse.arch]')
    detection = _detection(example)
    cases = {
        ("eessi/Jureca-Rocky95.cpuinfo", "aarch64"): "grace",
        ("eessi/AWS-awslinux-graviton3.cpuinfo", "aarch64"): "graviton3",
        ("eessi/AWS-awslinux-graviton2.cpuinfo", "aarch64"): "aarch64",
        ("eessi/Azure-Ubuntu20-Altra.cpuinfo", "aarch64"): "aarch64",
        ("eessi/Azure-Alma8-9V33X.cpuinfo", "x86_64"): "x86-64-v4",
        ("eessi/archspec-linux-6132.cpuinfo", "x86_64"): "x86-64-v4",
        ("eessi/Azure-CentOS7-7V73X.cpuinfo", "x86_64"): "x86-64-v3",
        ("eessi/archspec-linux-E5-2680-v3.cpuinfo", "x86_64"): "x86-64-v3",
        ("core2-sse.txt", "x86_64"): "x86-64",
    }
    assert {case: detect(detection, _env(*case)).arch for case in cases} == cases
