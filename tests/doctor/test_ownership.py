"""doctor's `ownership.modes`: the depot, the cache and uv's configuration files must be the
user's alone (ssh's StrictModes rule, uvmod/trust.py); each way another user could write one
of them is a FAIL naming the path, why, and the fix."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.conftest import BuildPrefix
from tests.doctor.support import loaded_env, run_doctor
from uvmod.doctor import ownership
from uvmod.doctor.registry import Check

CHECKS = (Check("ownership.modes", ownership.check_ownership),)


def test_what_another_user_could_write_is_reported(
    tmp_path: Path, build_prefix: BuildPrefix
) -> None:
    env = loaded_env(tmp_path, build_prefix())
    shared = tmp_path / "shared"
    cache = shared / "cache"
    depot_dir = Path(env["UVMOD_VENV_DEPOT"])
    for path in (cache, depot_dir, Path(env["HOME"]) / ".config" / "uv"):
        path.mkdir(parents=True, exist_ok=True, mode=0o755)
    user_toml = Path(env["HOME"]) / ".config" / "uv" / "uv.toml"
    user_toml.write_text("")
    env["UV_CACHE_DIR"] = str(cache)

    def report(status: str, finding: str = "", fix: str = "") -> None:
        result = run_doctor(env, cwd=tmp_path, checks=CHECKS)
        if status == "ok":
            assert result.check("ownership.modes")["status"] == "ok", result.data
        else:
            result.assert_found("ownership.modes", status, finding, fix)

    report("ok")
    cache.chmod(0o777)
    report(
        "fail",
        f"another user could write what uv reads or runs: the cache (UV_CACHE_DIR) {cache}: "
        "it is writable by other users (mode 777)",
        f"chmod go-w {cache}",
    )
    cache.chmod(0o755)
    shared.chmod(0o777)  # a directory above it that anyone may rename entries of
    report("fail", f"the directory {shared} above it is writable by other users (mode 777)")
    shared.chmod(0o1777)  # sticky, as /tmp and /scratch: others cannot replace our entries
    report("ok")

    depot_dir.chmod(0o775)
    report("fail", f"the environment depot: refusing to use the environment depot {depot_dir}")
    depot_dir.chmod(0o755)

    user_toml.chmod(0o666)
    report("fail", f"your uv.toml {user_toml}: it is writable by other users (mode 666)")
    user_toml.chmod(0o644)

    site = tmp_path / "site-first" / "uv"
    site.mkdir(parents=True)
    (site / "uv.toml").write_text("")
    (site / "uv.toml").chmod(0o646)
    env["XDG_CONFIG_DIRS"] = f"{site.parent}:{env['XDG_CONFIG_DIRS']}"
    report("fail", f"the system uv.toml {site / 'uv.toml'}: it is writable by other users")
    (site / "uv.toml").chmod(0o644)
    report("ok")

    if os.geteuid() != 0:
        pytest.skip("giving a file to another user needs root (chown)")
    os.chown(user_toml, 65534, 65534)
    report(
        "fail",
        f"your uv.toml {user_toml}: it belongs to another user (nobody)",
        "use a directory of your own",
    )
