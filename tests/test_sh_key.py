"""sh/uvmod-key.sh on its own: the stale-key check over a table with both family variables, and
IFS and noglob left as they were. Its agreement with Python, Lua and Tcl over generated cases is
tests/test_cache_key.py's."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.support import tools
from uvmod.cachekey import key_status
from uvmod.config import CacheKeySection
from uvmod.render import packaged_text

FAMILY_VARS = "LMOD_FAMILY_MPI MODULES_FAMILY_MPI"
SHELLS = ["sh", "bash"]


@pytest.fixture(scope="module")
def bait(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A working directory where names of the table, taken as patterns, would match files: the
    check must not expand them."""
    where = tmp_path_factory.mktemp("glob-bait")
    for name in ("mpichx", "mpich-ext", "a", "b"):
        (where / name).touch()
    return where


def sh_current(
    shell: str, key: str, loaded: str, names: str, env: dict[str, str], cwd: Path
) -> bool:
    """Run uvmod_key_current in `shell`; also check it leaves IFS and noglob as they were."""
    script = (
        packaged_text("sh", "uvmod-key.sh")
        + '\nuvmod_key_current "$1" "$2" "$3" "$4"; rc=$?\n'
        + 'printf "%s|%s|%s" "$rc" "${IFS-unset}" "$-"\n'
    )
    proc = subprocess.run(
        [tools.program(shell), "-c", script, "sh", key, loaded, names, FAMILY_VARS],
        env={"PATH": "/usr/bin:/bin", **env},
        capture_output=True,
        text=True,
        check=True,
        cwd=cwd,
    )
    rc, ifs, flags = proc.stdout.split("|")
    assert ifs == " \t\n" and "f" not in flags, "IFS or noglob not restored"
    return rc == "0"


def python_current(key: str, loaded: list[str], modules: list[str], env: dict[str, str]) -> bool:
    spec = CacheKeySection(modules=modules, families=["mpi"])
    status = key_status(spec, "uv-hpc", {"LOADEDMODULES": ":".join(loaded), **env})
    expected = [p.full_name for p in status.parts]
    # uvmod writes keys sorted; the sh check compares sets, so compare sorted fields here.
    fields = key.split(",") if key else []
    return sorted(fields) == expected


CASES = [
    # key, loaded, modules, family env, current?
    ("", "gcc/12", ["cuda"], {}, True),
    ("mpich/4.1.2", "uv-hpc/1.0:mpich/4.1.2", ["mpich"], {}, True),
    ("mpich/4.1.2", "uv-hpc/1.0:openmpi/4.1.5", ["cuda"], {"LMOD_FAMILY_MPI": "openmpi"}, False),
    ("openmpi/4.1.5", "openmpi/4.1.5", ["cuda"], {"MODULES_FAMILY_MPI": "openmpi"}, True),
    ("cuda/12.2,mpich/4.1.2", "mpich/4.1.2:cuda/12.2", ["cuda", "mpich"], {}, True),
    ("cuda/12.2", "mpich/4.1.2:cuda/12.2", ["cuda", "mpich"], {}, False),  # one missing
    ("cuda/12.2,mpich/4.1.2", "cuda/12.2", ["cuda", "mpich"], {}, False),  # one too many
    ("", "mpich/4.1.2", ["mpich"], {}, False),  # unset after loading mpich: stale
    ("mpich*", "mpich*:mpichx", ["mpich*"], {}, True),  # names are never patterns
]


@pytest.mark.parametrize("shell", SHELLS)
@pytest.mark.parametrize(("key", "loaded", "modules", "env", "current"), CASES)
def test_sh_check_table(
    shell: str,
    key: str,
    loaded: str,
    modules: list[str],
    env: dict[str, str],
    current: bool,
    bait: Path,
) -> None:
    assert sh_current(shell, key, loaded, " ".join(modules), env, bait) is current


def test_python_agrees_with_the_table() -> None:
    for key, loaded, modules, env, current in CASES[:-1]:  # '*' is not a valid site module name
        assert python_current(key, loaded.split(":"), modules, env) is current, key


def test_sh_file_is_posix(tmp_path: Path) -> None:
    path = tmp_path / "k.sh"
    path.write_text(packaged_text("sh", "uvmod-key.sh"))
    subprocess.run([tools.program("sh"), "-n", str(path)], check=True)


def sh_compute(shell: str, loaded: str, names: str, env: dict[str, str], cwd: Path) -> str:
    """Run uvmod_key_compute in `shell`; also check it leaves IFS and noglob as they were."""
    script = (
        packaged_text("sh", "uvmod-key.sh")
        + '\nuvmod_key_compute "$1" "$2" "$3"\n'
        + 'printf "%s|%s|%s" "$uvmod_key_result" "${IFS-unset}" "$-"\n'
    )
    proc = subprocess.run(
        [tools.program(shell), "-c", script, "sh", loaded, names, FAMILY_VARS],
        env={"PATH": "/usr/bin:/bin", **env},
        capture_output=True,
        text=True,
        check=True,
        cwd=cwd,
    )
    result, ifs, flags = proc.stdout.split("|")
    assert ifs == " \t\n" and "f" not in flags, "IFS or noglob not restored"
    return result


def python_key(loaded: list[str], modules: list[str], env: dict[str, str]) -> str:
    spec = CacheKeySection(modules=modules, families=["mpi"])
    status = key_status(spec, "uv-hpc", {"LOADEDMODULES": ":".join(loaded), **env})
    return ",".join(p.full_name for p in status.parts)


@pytest.mark.parametrize("shell", SHELLS)
@pytest.mark.parametrize(("key", "loaded", "modules", "env", "current"), CASES)
def test_sh_compute_gives_the_key_python_gives(
    shell: str,
    key: str,
    loaded: str,
    modules: list[str],
    env: dict[str, str],
    current: bool,
    bait: Path,
) -> None:
    """What the wrapper uses when the exported key is stale: the key of the modules loaded now."""
    if "*" in " ".join(modules):  # not a valid site module name: sh must not glob it
        assert sh_compute(shell, loaded, " ".join(modules), env, bait) == "mpich*"
        return
    expected = python_key(loaded.split(":"), modules, env)
    assert sh_compute(shell, loaded, " ".join(modules), env, bait) == expected
    assert (expected == key) is current
