"""CPU architecture detection in the Lmod modulefile, against captured /proc/cpuinfo files."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import BuildPrefix
from tests.support.modules import base_env, run_lmod

CPUINFO = Path(__file__).parent / "data" / "cpuinfo"


@pytest.mark.parametrize(
    ("cpuinfo", "expected"),
    [
        ("skylake-avx512.txt", "avx512"),
        ("epyc-rome-avx2.txt", "avx2"),
        ("core2-sse.txt", "generic"),
    ],
)
def test_cpuinfo_flags_select_the_arch(
    tmp_path: Path, build_prefix: BuildPrefix, cpuinfo: str, expected: str
) -> None:
    prefix = build_prefix()
    env = base_env(tmp_path, {"UVMOD_CPUINFO": str(CPUINFO / cpuinfo)})
    result = run_lmod(["module load uv-hpc"], env, modulepath=[prefix / "modulefiles"])
    assert result.environ["UVMOD_ARCH"] == expected
    assert result.environ["XDG_CONFIG_DIRS"] == f"{prefix}/uv-hpc/1.0/etc/{expected}"
    assert (prefix / f"uv-hpc/1.0/etc/{expected}/uv/uv.toml").is_file()
    assert result.stderr.strip() == ""


def test_override_variable_wins_over_cpuinfo(tmp_path: Path, build_prefix: BuildPrefix) -> None:
    prefix = build_prefix()
    env = base_env(
        tmp_path, {"RSNT_ARCH": "avx2", "UVMOD_CPUINFO": str(CPUINFO / "skylake-avx512.txt")}
    )
    result = run_lmod(["module load uv-hpc"], env, modulepath=[prefix / "modulefiles"])
    assert result.environ["UVMOD_ARCH"] == "avx2"


def test_override_variables_are_tried_in_order(tmp_path: Path, build_prefix: BuildPrefix) -> None:
    prefix = build_prefix('[arch]\nenv = ["SITE_ARCH", "RSNT_ARCH"]\n')
    env = base_env(tmp_path, {"RSNT_ARCH": "avx2", "SITE_ARCH": "avx512"})
    result = run_lmod(["module load uv-hpc"], env, modulepath=[prefix / "modulefiles"])
    assert result.environ["UVMOD_ARCH"] == "avx512"


def test_garbage_override_falls_back_with_a_message_on_stderr(
    tmp_path: Path, build_prefix: BuildPrefix
) -> None:
    prefix = build_prefix()
    env = base_env(tmp_path, {"RSNT_ARCH": "garbage;$(id)"})
    result = run_lmod(["module load uv-hpc"], env, modulepath=[prefix / "modulefiles"])
    assert result.environ["UVMOD_ARCH"] == "generic"
    assert "RSNT_ARCH=garbage;$(id) is not a known architecture; using generic" in result.stderr
    assert result.stdout == ""


def test_unreadable_cpuinfo_falls_back_with_a_message(
    tmp_path: Path, build_prefix: BuildPrefix
) -> None:
    prefix = build_prefix()
    env = base_env(tmp_path, {"UVMOD_CPUINFO": str(tmp_path / "absent")})
    result = run_lmod(["module load uv-hpc"], env, modulepath=[prefix / "modulefiles"])
    assert result.environ["UVMOD_ARCH"] == "generic"
    assert "cannot read CPU flags" in result.stderr


def test_unload_removes_the_path_added_at_load_even_if_the_override_changed(
    tmp_path: Path, build_prefix: BuildPrefix
) -> None:
    prefix = build_prefix()
    env = base_env(tmp_path)
    result = run_lmod(
        ["RSNT_ARCH=avx2 module load uv-hpc", "RSNT_ARCH=avx512 module unload uv-hpc"],
        env,
        modulepath=[prefix / "modulefiles"],
    )
    assert "XDG_CONFIG_DIRS" not in result.environ
