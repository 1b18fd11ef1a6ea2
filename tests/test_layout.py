"""uvmod/layout.py: one spelling of the tree's paths, for the build and for the commands users run
later; and the site facts that tell those commands which build is loaded."""

from __future__ import annotations

import json
import re
from pathlib import Path, PurePosixPath

from tests.conftest import BuildPrefix
from uvmod.config import load_config
from uvmod.layout import InstallDir, Layout
from uvmod.plan import plan_tree
from uvmod.sitefacts import load_site_facts


def test_build_and_runtime_name_the_same_files(build_prefix: BuildPrefix) -> None:
    prefix = build_prefix(uv="/bin/false")
    layout = Layout(PurePosixPath(prefix), "uv-hpc", "1.0")
    facts = load_site_facts({"UVMOD_HOME": str(prefix / "uv-hpc" / "1.0")})
    assert facts.install is not None
    runtime = facts.install
    for name in ("wrapper", "uvx", "uvmod_command", "kernel_launcher", "wrapper_library"):
        built = Path(layout.absolute(getattr(layout, name)))
        assert getattr(runtime, name) == built and built.is_file(), name
    assert runtime.uv_toml("generic") == Path(layout.absolute(layout.uv_toml("generic")))
    assert runtime.site_json.is_file()
    # Every file the plan writes under the install directory is one InstallDir names.
    planned = {
        f.path
        for f in plan_tree(load_config(None), layout, "/bin/false")
        if f.path.is_relative_to(layout.install_dir)
    }
    named = (
        {
            getattr(layout.install, name)
            for name in ("wrapper", "uvx", "uvmod_command", "kernel_launcher", "wrapper_library")
        }
        | {layout.install.site_json}
        | {layout.uv_toml(a) for a in ("avx512", "avx2", "generic")}
    )
    assert planned == named


def test_site_facts_carry_the_wrappers_build_id(build_prefix: BuildPrefix) -> None:
    """`uvmod venv gc` keeps the per-key configurations of the loaded build: it reads the build
    id from the site facts, which name the build bin/uv and its library belong to."""
    home = build_prefix(uv="/bin/false") / "uv-hpc" / "1.0"
    facts = load_site_facts({"UVMOD_HOME": str(home)})
    (wrapper_id,) = re.findall(
        r"(?m)^UVMOD_BUILD_ID='([0-9a-f]{16})'$", (home / "bin/uv").read_text()
    )
    library = (home / "libexec" / "uv-rare.sh").read_text()
    assert facts.build_id == wrapper_id
    assert f"_uvmod_rare_build='{wrapper_id}'" in library
    assert json.loads((home / "etc" / "uvmod-site.json").read_text())["build_id"] == wrapper_id
    # Facts written before they carried it: nothing is known to be another build's.
    old = json.loads((home / "etc" / "uvmod-site.json").read_text())
    del old["build_id"]
    (home / "etc" / "uvmod-site.json").write_text(json.dumps(old))
    assert load_site_facts({"UVMOD_HOME": str(home)}).build_id is None


def test_an_install_dir_keeps_its_path_type() -> None:
    assert InstallDir(PurePosixPath("uv-hpc/1.0")).wrapper == PurePosixPath("uv-hpc/1.0/bin/uv")
    assert isinstance(InstallDir(Path("/opt/x")).site_json, Path)
