"""Doctor on the site's pip stack, made for real (real Lmod, the wrapper, real uv, offline): site
constraints that uv.lock breaks, a loaded module's packages installed again, and environments
that accept manylinux wheels on a site that refuses them."""

from __future__ import annotations

import json
import shlex
import shutil
import sys
import zipfile
from pathlib import Path

from tests.conftest import BuildPrefix
from tests.doctor.support import make_project
from tests.support.modules import ShellResult, base_env, run_lmod
from tests.support.wheels import tiny_wheel
from tests.test_manylinux_switch import make_site as make_manylinux_site

SITE = """
[wheelhouse]
root = "{root}"
pypi = false
constraints = [{constraints}]
[wheelhouse.arch]
avx512 = ["generic"]
avx2 = ["generic"]
generic = ["generic"]
[python]
downloads = "never"
"""


class Site:
    def __init__(self, tmp: Path, build: BuildPrefix, constraints: str = "") -> None:
        generic = tmp / "wheelhouse" / "generic"
        tiny_wheel(generic, "tinyone", "1.0")
        tiny_wheel(generic, "tinyone", "2.0")
        self.tmp = tmp
        self.modules = tmp / "modulefiles"
        self.modules.mkdir()
        toml = SITE.format(root=tmp / "wheelhouse", constraints=constraints)
        self.prefix = build(toml, prefix=tmp / "prefix")
        self.env = base_env(
            tmp,
            {
                "SCRATCH": str(tmp / "scratch"),
                "RSNT_ARCH": "generic",
                "UV_PYTHON": sys.executable,
                "UV_OFFLINE": "1",
            },
        )

    def run(self, *lines: str, check: bool = True) -> ShellResult:
        return run_lmod(
            ["module load uv-hpc", *lines],
            self.env,
            modulepath=[self.prefix / "modulefiles", self.modules],
            check=check,
            timeout=300,
        )

    def doctor(self, project: Path, *before: str) -> tuple[int, dict[str, dict[str, str]]]:
        result = self.run(
            *before, f"cd {shlex.quote(str(project))}", "uvmod doctor --json", check=False
        )
        data = json.loads(result.stdout)
        return result.returncode, {c["check"]: c for c in data["checks"]}


def test_a_lock_that_breaks_a_site_constraint_fails_doctor(
    tmp_path: Path, build_prefix: BuildPrefix
) -> None:
    """`tinyone<2` is a site constraint: `uv pip` keeps to it, `uv lock` does not (uv reads
    project constraints from pyproject.toml only), so doctor reports the lock and exits 1; the
    line it names makes `uv lock` keep to it."""
    constraints = tmp_path / "constraints.txt"
    constraints.write_text("# the site's pins\ntinyone<2\n")
    site = Site(tmp_path, build_prefix, f'"{constraints}"')
    proj = make_project(tmp_path / "WORK" / "pinned")
    text = (proj / "pyproject.toml").read_text().replace("[]", '["tinyone"]')
    (proj / "pyproject.toml").write_text(text)
    site.run(f"cd {shlex.quote(str(proj))}", "uv lock")
    assert 'name = "tinyone"\nversion = "2.0"' in (proj / "uv.lock").read_text()

    code, checks = site.doctor(proj)
    result = checks["constraints.locked"]
    assert result["status"] == "fail"
    assert result["finding"] == "uv.lock breaks the site constraints: tinyone 2.0 (site: tinyone<2)"
    line = 'constraint-dependencies = ["tinyone<2"]'
    assert result["fix"] == f"add {line} under [tool.uv] in {proj / 'pyproject.toml'}, then uv lock"
    assert code == 1
    assert [c for c, r in checks.items() if r["status"] == "fail"] == ["constraints.locked"]

    with (proj / "pyproject.toml").open("a") as f:
        f.write(f"\n[tool.uv]\n{line}\n")
    site.run(f"cd {shlex.quote(str(proj))}", "uv lock")
    assert 'name = "tinyone"\nversion = "1.0"' in (proj / "uv.lock").read_text()
    code, checks = site.doctor(proj)
    assert checks["constraints.locked"]["status"] == "ok"
    assert code == 0


MODULEFILE = """\
whatis("a Python stack, EasyBuild style")
local root = "{root}"
setenv("EBROOTPYSTACK", root)
prepend_path("PYTHONPATH", pathJoin(root, "lib", "site-packages"))
"""


def test_a_loaded_module_s_packages_installed_again(
    tmp_path: Path, build_prefix: BuildPrefix
) -> None:
    site = Site(tmp_path, build_prefix)
    root = tmp_path / "software" / "pystack" / "1.0"
    with zipfile.ZipFile(tiny_wheel(tmp_path / "dist", "tinyone", "1.0")) as wheel:
        wheel.extractall(root / "lib" / "site-packages")
    (site.modules / "pystack").mkdir()
    (site.modules / "pystack" / "1.0.lua").write_text(MODULEFILE.format(root=root))
    proj = make_project(tmp_path / "WORK" / "dup")
    (proj / "pyproject.toml").write_text(
        (proj / "pyproject.toml").read_text().replace("[]", '["tinyone"]')
    )
    site.run(f"cd {shlex.quote(str(proj))}", "uv sync")

    _, checks = site.doctor(proj)
    assert checks["modules.packages"]["status"] == "ok"  # without the module loaded
    _, checks = site.doctor(proj, "module load pystack/1.0")
    result = checks["modules.packages"]
    assert result["status"] == "warn"
    assert result["finding"].startswith(
        "the environment installs a loaded module's packages again: tinyone of pystack/1.0 "
        "(PYTHONPATH) are installed again in "
    )
    assert result["finding"].endswith("; the module's copy is imported")
    assert result["fix"] == (
        "uv remove tinyone to use the module's, or unload pystack/1.0 to use the project's"
    )


def test_doctor_names_environments_that_accept_manylinux_wheels(
    tmp_path: Path, build_prefix: BuildPrefix
) -> None:
    """The wrapper leaves a UV_PROJECT_ENVIRONMENT of the user's alone: uv makes it without
    `_manylinux.py` and installs PyPI's manylinux wheel. Doctor says so; its fixes work."""
    site = make_manylinux_site(
        tmp_path, build_prefix, manylinux=False, strategy="unsafe-best-match"
    )
    proj = site.project("own", "tinyml")
    own = tmp_path / "scratch" / "own-env"
    doctor = f"UV_PROJECT_ENVIRONMENT={shlex.quote(str(own))} uvmod doctor --json"
    first = site.in_project(proj, f"UV_PROJECT_ENVIRONMENT={own} uv sync", doctor, check=False)
    checks = {c["check"]: c for c in json.loads(first.stdout)["checks"]}
    result = checks["pipstack.manylinux"]
    assert result["status"] == "fail"
    assert result["finding"] == (
        f"manylinux wheels are installed against the site's rule: tinyml 2.0 in {own}"
    )
    assert result["fix"] == "uv sync --reinstall-package tinyml"

    # Without the wheel, what is left is the missing file; the fix doctor names adds it.
    for path in own.glob("lib/python*/site-packages/tinyml*"):
        shutil.rmtree(path) if path.is_dir() else path.unlink()
    second = site.in_project(proj, doctor, check=False)
    checks = {c["check"]: c for c in json.loads(second.stdout)["checks"]}
    assert checks["pipstack.manylinux"]["finding"] == (
        f"an environment accepts manylinux wheels: {own} (UV_PROJECT_ENVIRONMENT) has no "
        "_manylinux.py"
    )
    site.in_project(proj, checks["pipstack.manylinux"]["fix"])
    third = site.in_project(proj, doctor, check=False)
    checks = {c["check"]: c for c in json.loads(third.stdout)["checks"]}
    assert checks["pipstack.manylinux"]["status"] == "ok"
