"""Running doctor the way a user does: a prefix built by uvmod, loaded in real Lmod.

`loaded_env` returns the environment after `module load`; `run_doctor` runs doctor on it twice,
as JSON and as the table, and returns both so that every test can assert the finding in each.
"""

from __future__ import annotations

import io
import json
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.support.modules import base_env, run_lmod
from uvmod.commands.doctor import doctor
from uvmod.doctor.registry import CHECKS, Check

CPUINFO = Path(__file__).parent.parent / "data" / "cpuinfo"


def loaded_env(
    tmp_path: Path,
    prefix: Path,
    extra: Mapping[str, str] | None = None,
    *,
    script: Sequence[str] = ("module load uv-hpc",),
    modulepath: Sequence[Path] = (),
) -> dict[str, str]:
    env = base_env(
        tmp_path,
        {
            "SCRATCH": str(tmp_path / "scratch"),
            "UVMOD_CPUINFO": str(CPUINFO / "epyc-rome-avx2.txt"),
            **(extra or {}),
        },
    )
    result = run_lmod(list(script), env, modulepath=[prefix / "modulefiles", *modulepath])
    return result.environ


@dataclass
class Report:
    code: int
    data: dict[str, Any]
    text: str

    def check(self, name: str) -> dict[str, Any]:
        matches = [c for c in self.data["checks"] if c["check"] == name]
        assert len(matches) == 1, [c["check"] for c in self.data["checks"]]
        return matches[0]

    def assert_found(self, name: str, status: str, finding: str, fix: str) -> dict[str, Any]:
        """The check `name` has `status`, its finding contains `finding` and its fix `fix`, and
        the table shows the same finding and fix (one row line each at the test width)."""
        result = self.check(name)
        assert result["status"] == status, result
        assert finding in result["finding"], result
        assert fix in (result["fix"] or ""), result
        assert result["finding"] in self.text, self.text
        assert f"fix: {result['fix']}" in self.text, self.text
        assert result["doc"].startswith("docs/troubleshooting.md#"), result
        return result

    def statuses(self) -> dict[str, str]:
        return {c["check"]: c["status"] for c in self.data["checks"]}


def run_doctor(
    environ: Mapping[str, str],
    *,
    cwd: Path,
    project: Path | None = None,
    now: float | None = None,
    checks: Sequence[Check] = CHECKS,
) -> Report:
    out = io.StringIO()
    code = doctor(environ, as_json=True, project=project, cwd=cwd, now=now, out=out, checks=checks)
    data = json.loads(out.getvalue())
    table = io.StringIO()
    code_text = doctor(
        environ,
        as_json=False,
        project=project,
        cwd=cwd,
        now=now,
        out=table,
        width=1000,
        checks=checks,
    )
    assert code == code_text
    assert data["ok"] == (code == 0)
    return Report(code, data, table.getvalue())


def make_project(path: Path, extra: str = "") -> Path:
    path.mkdir(parents=True, exist_ok=True)
    (path / "pyproject.toml").write_text(
        f'[project]\nname = "{path.name}"\nversion = "0.1"\nrequires-python = ">=3.8"\n'
        "dependencies = []\n" + extra
    )
    return path


def real_venv(uv: str, path: Path, env: Mapping[str, str]) -> Path:
    """A real environment made by uv (no network: the running Python, no seed packages)."""
    import sys

    subprocess.run(
        [uv, "venv", "--python", sys.executable, str(path)],
        env={**env, "UV_PYTHON_DOWNLOADS": "never"},
        check=True,
        capture_output=True,
    )
    return path
