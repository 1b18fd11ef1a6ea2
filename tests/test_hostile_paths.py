"""Hostile project paths through the wrapper, the depot and the real uv, and no depot-name
collision over 100,000 random paths (fixed seed, in the test id; tests/test_depot_names.py checks
that sh and Python agree on the names). Figures in docs/reliability.md#hostile-paths."""

from __future__ import annotations

import json
import os
import random
import shlex
import sys

import pytest

from tests.support.nodes import node
from tests.test_wrapper_real_uv import Site, site  # noqa: F401 (the fixture)
from uvmod import depot

HOSTILE_NAMES = {
    "space": "my project",
    "quotes": 'it\'s "quoted"',
    "newline": "line\nbreak",
    "non-ascii": "ünïcødé 雪 😀",
    "shell": "$(touch pwned) `id` ;&|<>*?[x]",
    "dash-dot": "-.leading",
    "long": "L" * 220,
}

PYPROJECT = """\
[project]
name = "hostile"
version = "0.1"
requires-python = ">=3.8"
dependencies = ["tinyone"]

[tool.uv]
package = false
"""


def test_hostile_project_paths_work_through_wrapper_and_depot(site: Site) -> None:  # noqa: F811
    base = site.tmp / "WORK" / ("deep " * 30).strip()  # a 150-character directory on the way
    projects = {}
    for label, name in HOSTILE_NAMES.items():
        proj = base / name
        proj.mkdir(parents=True)
        (proj / "pyproject.toml").write_text(PYPROJECT)
        projects[label] = proj
    assert len(str(projects["long"])) > 400
    out = site.tmp / "out"
    out.mkdir()
    lines = []
    for label, proj in projects.items():
        # The path reaches the shell through the environment only, never pasted into the script.
        var = "P_" + label.replace("-", "_").upper()
        site.env[var] = str(proj)
        o = shlex.quote(str(out / label))
        lines += [
            f'cd "${var}"',
            f"uv sync -q 2>{o}.err",
            "uv run python -c 'import sys, tinyone; print(tinyone.VALUE); print(sys.prefix)'"
            f" >{o}.run 2>>{o}.err",
            f"{shlex.join([sys.executable, '-m', 'uvmod', 'venv', 'path'])} >{o}.path",
            # From a subdirectory, through --project with the hostile path as an argument.
            f'mkdir -p sub && cd sub && uv run --project "${var}" python -c '
            f"'import sys; print(sys.prefix)' >{o}.sub 2>>{o}.err",
        ]
    lines.append(f"{shlex.join([sys.executable, '-m', 'uvmod', 'venv', 'list', '--json'])}")
    result = site.run(*lines)
    listing = json.loads(result.stdout)
    by_project = {e["project"]: e for e in listing["environments"]}
    for label, proj in projects.items():
        venv = site.expected_env(proj)
        assert (out / f"{label}.run").read_text().splitlines() == ["tinyone 1.0", str(venv)], (
            out / f"{label}.err"
        ).read_text()
        assert (out / f"{label}.sub").read_text().strip() == str(venv)
        assert (out / f"{label}.path").read_text().strip() == str(venv)
        assert sorted(p.name for p in proj.iterdir()) == ["pyproject.toml", "sub", "uv.lock"]
        assert depot.read_marker(venv) == depot.Marker(proj, "", node())
        entry = by_project[str(proj)]
        assert entry["path"] == str(venv) and entry["state"] == "ok"
        assert len(venv.name) <= 65 and "\n" not in venv.name
    assert not (site.tmp / "WORK" / "pwned").exists()
    assert not any(p.name == "pwned" for p in site.tmp.rglob("pwned"))
    assert len(by_project) == len(projects)


def _random_path(rng: random.Random) -> bytes:
    alphabet = b"abc_-. AB/\n'\"$\xc3\xa9\xff"  # few symbols: many near-misses
    parts = []
    for _ in range(rng.randint(1, 6)):
        parts.append(bytes(rng.choice(alphabet) for _ in range(rng.randint(1, 12))))
    return b"/" + b"/".join(parts)


@pytest.mark.parametrize("seed", [8])
def test_no_depot_name_collision_in_100000_random_paths(seed: int) -> None:
    rng = random.Random(seed)
    keys = ["", "mpich/4.1.2", "cuda/12.2,openmpi/4.1.5"]
    seen: dict[str, tuple[str, bytes]] = {}
    inputs: set[tuple[str, bytes]] = set()
    for _ in range(100_000):
        path = _random_path(rng)
        key = rng.choice(keys)
        name = depot.env_name(os.fsdecode(path), key)
        previous = seen.setdefault(name, (key, path))
        assert previous == (key, path), f"{name}: {previous} and {(key, path)}"
        inputs.add((key, path))
    assert len(seen) == len(inputs)
    # Near-misses by construction: the same readable part, different paths.
    for a, b in [
        ("/w/a/b_c", "/w/a_b/b_c"),
        ("/w/a b", "/w/a_b"),
        ("/w/x\n", "/w/x "),
        ("/w/.x", "/w/_x"),
    ]:
        assert depot.env_name(a) != depot.env_name(b)
        assert depot.env_name(a).rsplit("-", 1)[0] == depot.env_name(b).rsplit("-", 1)[0]
    assert len(inputs) > 90_000  # random paths repeat a little (short, small alphabet)
