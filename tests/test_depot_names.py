"""The sh wrapper and uvmod/depot.py must name every project's environment identically."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.standin import make_standin, run_wrapper, wrapper_path
from uvmod import depot

# Path components: anything but '/' and NUL, as bytes, including invalid UTF-8.
_NASTY = ["a b", "a_b", "é", "中文", "x\ny", "$HOME", "*", "it's", '"q"', "\\", ".hidden", "-"]
component = st.one_of(
    st.sampled_from(_NASTY),
    st.binary(min_size=1, max_size=80).filter(
        lambda b: b"/" not in b and b"\0" not in b and b not in (b".", b"..")
    ),
    st.text(
        st.characters(exclude_characters="/\0", exclude_categories=("Cs",)),
        min_size=1,
        max_size=120,
    ).filter(lambda s: s not in (".", "..") and len(s.encode()) < 250),
)
key = st.sampled_from(["", "mpich/4.1.2", "cuda/12.2,mpich/4.1.2", "openmpi/4.1.5", "a+b.c-d"])


@pytest.fixture(scope="module")
def wrapper(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from uvmod.cli import main

    base = tmp_path_factory.mktemp("names")
    fake = make_standin(base / "fake")
    assert main(["build-modulefiles", "--prefix", str(base / "prefix"), "--uv", str(fake)]) == 0
    return wrapper_path(base / "prefix")


def _check(wrapper: Path, base: Path, parts: list[str | bytes], the_key: str, shell: str) -> None:
    path = os.fsencode(base)
    for part in parts:
        path += b"/" + os.fsencode(part)
    os.makedirs(path, exist_ok=True)
    with open(path + b"/pyproject.toml", "w") as handle:
        handle.write("[project]\nname = 'p'\nversion = '0'\n")
    root = os.fsdecode(path)
    depot_dir = base / "depot"
    env = {
        "PATH": "/usr/bin:/bin",
        "UVMOD_VENV_DEPOT": str(depot_dir),
        "UVMOD_CACHE_KEY": the_key,
        # The key is taken as current (kept by the Lmod hook): no stale-key recomputation.
        "UVMOD_KEY_SOURCE": "hook",
        "LANG": "C.UTF-8",
    }
    expected = str(depot_dir / depot.env_name(os.path.realpath(root), the_key))
    # First call: computed with sha256sum and remembered; second: read from the index.
    for _ in range(2):
        seen = run_wrapper(wrapper, ["sync"], cwd=Path(root), env=env, shell=shell)
        assert seen.env.get("UV_PROJECT_ENVIRONMENT") == expected, seen.stderr
    name = Path(expected).name
    assert len(name) < 100 and not name.startswith(".")


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(parts=st.lists(component, min_size=1, max_size=4), the_key=key)
def test_sh_and_python_agree(
    wrapper: Path, tmp_path_factory: pytest.TempPathFactory, parts: list[str | bytes], the_key: str
) -> None:
    _check(wrapper, tmp_path_factory.mktemp("p"), parts, the_key, "sh")


@pytest.mark.parametrize("shell", ["sh", "bash"])
@pytest.mark.parametrize(
    "parts",
    [
        ["a", "b_c"],
        ["a_b", "c"],
        ["café"],
        [b"latin1-\xe9"],
        ["x" * 200],
        ["spaces in name", "more  spaces"],
        [".dot"],
        ["new\nline"],
        ["€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€x"],
    ],
)
def test_sh_and_python_agree_on_known_hard_names(
    wrapper: Path, tmp_path: Path, parts: list[str | bytes], shell: str
) -> None:
    # bash as /bin/sh (RHEL) with a UTF-8 locale must give the same bytes as dash.
    _check(wrapper, tmp_path, parts, "mpich/4.1.2", shell)


def test_names_are_distinct_for_confusable_paths() -> None:
    names = {
        depot.env_name("/w/a/b_c"),
        depot.env_name("/w/a_b/c"),
        depot.env_name("/w/a b/c"),
        depot.env_name("/w/a/b_c", "mpich/4.1.2"),
        depot.env_name("/w/a/b_c", "openmpi/4.1.5"),
    }
    assert len(names) == 5


def test_readable_part() -> None:
    assert depot.readable_part("/w/My Project (v2)") == "My_Project_v2_"
    assert depot.readable_part("/w/.cfg") == "_cfg"
    assert depot.readable_part("/") == "project"
    assert depot.readable_part("/w/" + "y" * 300) == "y" * 48
