"""Module state and effective configuration, each broken for real in a loaded uv-hpc."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import uvmod
from tests.conftest import BuildPrefix
from tests.doctor.support import loaded_env, make_project, run_doctor
from tests.support import tools
from tests.support.modules import ModuleTool, base_env
from tests.support.wheels import tiny_wheel
from uvmod.cli import main


@pytest.fixture
def wheelhouse_site(tmp_path: Path) -> str:
    root = tmp_path / "wheelhouse"
    tiny_wheel(root / "avx2", "numpy", "1.24.2+computecanada", compiled=True)
    tiny_wheel(root / "generic", "six", "1.16.0+computecanada")
    return f"""
[wheelhouse]
root = "{root}"
[wheelhouse.arch]
avx512 = ["generic"]
avx2 = ["avx2", "generic"]
generic = ["generic"]
"""


def test_a_healthy_setup_passes(
    tmp_path: Path, build_prefix: BuildPrefix, wheelhouse_site: str
) -> None:
    prefix = build_prefix(wheelhouse_site)
    env = loaded_env(tmp_path, prefix)
    project = make_project(tmp_path / "work" / "proj")
    report = run_doctor(env, cwd=project)
    assert report.code == 0, report.text
    assert set(report.statuses().values()) == {"ok"}, report.text
    assert report.check("module.loaded")["finding"].startswith(
        f"uv-hpc/1.0 is loaded from {prefix}/uv-hpc/1.0 (arch avx2)"
    )
    assert report.check("config.system")["finding"] == (
        f"uv reads the site policy {prefix}/uv-hpc/1.0/etc/avx2/uv/uv.toml"
    )
    assert report.check("wheelhouse")["finding"] == "2 directories for arch avx2 hold 2 wheels"
    assert "uv 0.13.8" in report.check("module.real_uv")["finding"]
    assert report.data["project"] == str(project)
    assert report.data["uvmod"] == uvmod.__version__
    assert (report.data["failed"], report.data["warnings"]) == (0, 0)
    assert "Everything looks right." in report.text


def test_module_not_loaded(tmp_path: Path) -> None:
    env = base_env(tmp_path)
    report = run_doctor(env, cwd=tmp_path)
    assert report.code == 1
    report.assert_found(
        "module.loaded",
        "fail",
        "the uv module is not loaded: $UVMOD_HOME is not set",
        "module load uv-hpc",
    )


def test_another_uv_before_the_wrapper(tmp_path: Path, build_prefix: BuildPrefix) -> None:
    prefix = build_prefix()
    env = loaded_env(tmp_path, prefix)
    other = tmp_path / "mybin"
    other.mkdir()
    (other / "uv").symlink_to(tools.real_uv())
    env["PATH"] = f"{other}:{env['PATH']}"
    report = run_doctor(env, cwd=tmp_path)
    assert report.code == 1
    report.assert_found(
        "module.wrapper",
        "fail",
        f"the uv on PATH is not the module's wrapper: {other}/uv comes before "
        f"{prefix}/uv-hpc/1.0/bin/uv",
        f"module reload uv-hpc (puts {prefix}/uv-hpc/1.0/bin first), or take {other} off PATH",
    )


def test_real_uv_missing(tmp_path: Path, build_prefix: BuildPrefix) -> None:
    gone = tmp_path / "opt" / "uv"
    gone.parent.mkdir()
    os.symlink(tools.real_uv(), gone)
    prefix = build_prefix(uv=str(gone))
    gone.unlink()
    env = loaded_env(tmp_path, prefix)
    report = run_doctor(env, cwd=tmp_path)
    report.assert_found(
        "module.real_uv",
        "fail",
        f"the real uv is missing: {gone} is not an executable file on this node",
        "rerun `uvmod build-modulefiles`",
    )


def test_user_uv_toml_setting_index_url(tmp_path: Path, build_prefix: BuildPrefix) -> None:
    prefix = build_prefix()
    env = loaded_env(tmp_path, prefix)
    user_file = Path(env["HOME"]) / ".config" / "uv" / "uv.toml"
    user_file.parent.mkdir(parents=True)
    user_file.write_text('index-url = "https://mirror.example.org/simple"\n')
    report = run_doctor(env, cwd=tmp_path)
    assert report.code == 0  # a warning: uv works, but not with the site's policy alone
    report.assert_found(
        "config.user",
        "warn",
        f"a user uv.toml changes the site index policy: {user_file} sets index-url",
        f"remove index-url from {user_file}",
    )


def test_user_uv_toml_under_xdg_config_home_with_pip_table(
    tmp_path: Path, build_prefix: BuildPrefix
) -> None:
    prefix = build_prefix()
    xdg = tmp_path / "xdg-home"
    env = loaded_env(tmp_path, prefix, {"XDG_CONFIG_HOME": str(xdg)})
    (xdg / "uv").mkdir(parents=True)
    (xdg / "uv" / "uv.toml").write_text('[pip]\nfind-links = ["/tmp/wheels"]\nno-index = true\n')
    report = run_doctor(env, cwd=tmp_path)
    report.assert_found(
        "config.user",
        "warn",
        f"{xdg}/uv/uv.toml sets pip.find-links, pip.no-index",
        "remove pip.find-links, pip.no-index from",
    )


def test_uv_index_set_by_hand(tmp_path: Path, build_prefix: BuildPrefix) -> None:
    prefix = build_prefix()
    env = loaded_env(tmp_path, prefix)
    env["UV_INDEX"] = "/home/me/wheels"
    report = run_doctor(env, cwd=tmp_path)
    assert report.code == 0
    report.assert_found(
        "config.variables",
        "warn",
        "UV_ variables change the site index policy: UV_INDEX=/home/me/wheels (takes precedence",
        "unset UV_INDEX",
    )


def test_uv_no_config_switches_the_policy_off(tmp_path: Path, build_prefix: BuildPrefix) -> None:
    prefix = build_prefix()
    env = loaded_env(tmp_path, prefix, {"UV_NO_CONFIG": "1"})
    report = run_doctor(env, cwd=tmp_path)
    assert report.code == 1
    report.assert_found(
        "config.system",
        "fail",
        "a variable switches the site uv.toml off: UV_NO_CONFIG=1",
        "unset UV_NO_CONFIG",
    )


def test_another_system_uv_toml_first(tmp_path: Path, build_prefix: BuildPrefix) -> None:
    prefix = build_prefix()
    env = loaded_env(tmp_path, prefix)
    other = tmp_path / "other-module" / "etc"
    (other / "uv").mkdir(parents=True)
    (other / "uv" / "uv.toml").write_text('index-url = "https://example.org/simple"\n')
    env["XDG_CONFIG_DIRS"] = f"{other}:{env['XDG_CONFIG_DIRS']}"
    report = run_doctor(env, cwd=tmp_path)
    report.assert_found(
        "config.system",
        "fail",
        f"another system uv.toml comes first: uv reads {other}/uv/uv.toml, not the site policy "
        f"{prefix}/uv-hpc/1.0/etc/avx2/uv/uv.toml",
        f"take {other} out of XDG_CONFIG_DIRS",
    )


def test_empty_xdg_entries_are_skipped_like_uv_does(
    tmp_path: Path, build_prefix: BuildPrefix
) -> None:
    prefix = build_prefix()
    env = loaded_env(tmp_path, prefix)
    env["XDG_CONFIG_DIRS"] = "::" + env["XDG_CONFIG_DIRS"]
    report = run_doctor(env, cwd=tmp_path)
    assert report.check("config.system")["status"] == "ok"


def test_project_tool_uv_index(tmp_path: Path, build_prefix: BuildPrefix) -> None:
    prefix = build_prefix()
    env = loaded_env(tmp_path, prefix)
    project = make_project(
        tmp_path / "epiclass",
        '[[tool.uv.index]]\nname = "cc"\nurl = "/cvmfs/wheels"\nformat = "flat"\n'
        '[tool.uv]\nindex-strategy = "first-index"\n',
    )
    (project / "src").mkdir()
    report = run_doctor(env, cwd=project / "src")
    report.assert_found(
        "config.project",
        "warn",
        f"the project's configuration changes the site index policy: [tool.uv] of "
        f"{project}/pyproject.toml sets index, index-strategy",
        "remove index, index-strategy from",
    )


def test_explicit_project_index_is_not_an_override(
    tmp_path: Path, build_prefix: BuildPrefix
) -> None:
    prefix = build_prefix()
    env = loaded_env(tmp_path, prefix)
    project = make_project(
        tmp_path / "p",
        '[[tool.uv.index]]\nname = "torch"\nurl = "https://download.pytorch.org/whl/cpu"\n'
        "explicit = true\n",
    )
    report = run_doctor(env, cwd=tmp_path, project=project)
    assert report.check("config.project")["status"] == "ok"


def test_invalid_user_toml(tmp_path: Path, build_prefix: BuildPrefix) -> None:
    prefix = build_prefix()
    env = loaded_env(tmp_path, prefix)
    user_file = Path(env["HOME"]) / ".config" / "uv" / "uv.toml"
    user_file.parent.mkdir(parents=True)
    user_file.write_text("index-url = \n")
    report = run_doctor(env, cwd=tmp_path)
    assert report.code == 1
    report.assert_found(
        "config.user",
        "fail",
        f"a uv configuration file is not valid TOML: {user_file}",
        "fix the syntax",
    )


def test_wheelhouse_directory_missing_and_empty(
    tmp_path: Path, build_prefix: BuildPrefix, wheelhouse_site: str
) -> None:
    prefix = build_prefix(wheelhouse_site)
    env = loaded_env(tmp_path, prefix)
    root = tmp_path / "wheelhouse"
    for wheel in (root / "generic").glob("*.whl"):
        wheel.unlink()
    report = run_doctor(env, cwd=tmp_path)
    report.assert_found(
        "wheelhouse",
        "warn",
        f"a wheelhouse directory holds no wheels: {root}/generic",
        "ask your administrator",
    )
    (root / "generic").rmdir()
    report = run_doctor(env, cwd=tmp_path)
    assert report.code == 1
    report.assert_found(
        "wheelhouse",
        "fail",
        f"a wheelhouse directory is missing: {root}/generic (listed in the site uv.toml",
        "not mounted on this node",
    )


def test_tree_built_where_a_wheelhouse_directory_was_missing(
    tmp_path: Path, build_prefix: BuildPrefix, wheelhouse_site: str
) -> None:
    root = tmp_path / "wheelhouse"
    next((root / "avx2").glob("numpy-*.whl")).rename(tmp_path / "numpy.whl")
    (root / "avx2").rmdir()
    prefix = build_prefix(wheelhouse_site)  # warns, and leaves avx2 out of uv.toml
    env = loaded_env(tmp_path, prefix)
    assert run_doctor(env, cwd=tmp_path).check("config.system")["status"] == "ok"
    (root / "avx2").mkdir()  # mounted on this node, but not in the policy uv reads
    (tmp_path / "numpy.whl").rename(root / "avx2" / "numpy.whl")
    report = run_doctor(env, cwd=tmp_path)
    report.assert_found(
        "config.system",
        "warn",
        "the site uv.toml does not match the site configuration: "
        f"{prefix}/uv-hpc/1.0/etc/avx2/uv/uv.toml: index differ",
        "rerun `uvmod build-modulefiles` on a node that sees the whole wheelhouse",
    )


def test_cli_doctor_json_and_bad_project(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    assert main(["doctor", "--json"]) == 1  # the test process has no uv-hpc loaded
    data = json.loads(capsys.readouterr().out)
    assert data["checks"][0]["finding"].startswith("the uv module is not loaded")
    assert main(["doctor", "--project", str(tmp_path / "nowhere")]) == 2
    assert "not a directory" in capsys.readouterr().err


def test_every_check_reports_under_its_registered_id(
    tmp_path: Path, build_prefix: BuildPrefix
) -> None:
    from uvmod.doctor.registry import CHECKS

    prefix = build_prefix()
    env = loaded_env(tmp_path, prefix)
    report = run_doctor(env, cwd=make_project(tmp_path / "p"))
    assert [c["check"] for c in report.data["checks"]] == [c.id for c in CHECKS]


def test_an_unreadable_path_fails_one_check_not_the_run(
    tmp_path: Path, build_prefix: BuildPrefix
) -> None:
    from uvmod.doctor.context import Context
    from uvmod.doctor.registry import CHECKS, Check
    from uvmod.doctor.result import Result

    def unreadable(ctx: Context) -> Result:
        raise PermissionError(13, "Permission denied", "/scratch/other-user")

    checks = (CHECKS[0], Check("wheelhouse", unreadable), CHECKS[-1])
    env = loaded_env(tmp_path, build_prefix())
    report = run_doctor(env, cwd=tmp_path, checks=checks)
    assert report.code == 1
    report.assert_found(
        "wheelhouse",
        "fail",
        "a check could not read what it needs: /scratch/other-user: Permission denied",
        "check the permissions and mounts of that path",
    )
    assert len(report.data["checks"]) == 3


def test_several_index_variables_are_all_named(tmp_path: Path, build_prefix: BuildPrefix) -> None:
    env = loaded_env(tmp_path, build_prefix())
    env.update({"UV_FIND_LINKS": "/a,/b", "UV_INDEX_STRATEGY": "first-index", "UV_OFFLINE": "1"})
    report = run_doctor(env, cwd=tmp_path)
    result = report.assert_found(
        "config.variables",
        "warn",
        "UV_FIND_LINKS=/a,/b, UV_INDEX_STRATEGY=first-index (take precedence",
        "unset UV_FIND_LINKS UV_INDEX_STRATEGY",
    )
    assert "UV_OFFLINE" not in result["finding"]  # not an index setting


def test_brackets_in_paths_are_printed_as_is(tmp_path: Path, build_prefix: BuildPrefix) -> None:
    # rich reads [red]...[/red] as markup: paths and values must not be.
    env = loaded_env(tmp_path, build_prefix())
    env["UV_INDEX"] = "/data/[bold]wheels[/bold]"
    project = make_project(tmp_path / "[red]proj")
    report = run_doctor(env, cwd=project)
    assert "UV_INDEX=/data/[bold]wheels[/bold]" in report.text
    assert f"uvmod doctor (project {project})" in report.text


def test_unreadable_site_facts(tmp_path: Path, build_prefix: BuildPrefix) -> None:
    env = loaded_env(tmp_path, build_prefix())
    broken = tmp_path / "broken-home"
    (broken / "etc").mkdir(parents=True)
    (broken / "etc" / "uvmod-site.json").write_text("{not json")
    env["UVMOD_HOME"] = str(broken)
    report = run_doctor(env, cwd=tmp_path)
    assert report.code == 1
    report.assert_found(
        "module.loaded",
        "fail",
        f"the loaded module's site facts cannot be read: {broken}/etc/uvmod-site.json",
        "ask your administrator to rerun `uvmod build-modulefiles`",
    )
    assert len(report.data["checks"]) > 10  # the other checks still ran


def test_boolean_variables_set_to_false_are_not_overrides(
    tmp_path: Path, build_prefix: BuildPrefix
) -> None:
    env = loaded_env(tmp_path, build_prefix())
    env.update({"UV_NO_CONFIG": "0", "UV_NO_INDEX": "false"})
    report = run_doctor(env, cwd=tmp_path)
    assert report.check("config.system")["status"] == "ok"
    assert report.check("config.variables")["status"] == "ok"
    env["UV_NO_INDEX"] = "1"
    assert (
        run_doctor(env, cwd=tmp_path)
        .check("config.variables")["finding"]
        .endswith("UV_NO_INDEX=1 (takes precedence over every uv.toml)")
    )


def test_uvmod_doctor_in_a_real_shell_session(
    tmp_path: Path, build_prefix: BuildPrefix, module_tool: ModuleTool
) -> None:
    """The command as a user types it, after `module load`, with `uv` resolved on PATH, in each
    module tool of the matrix."""
    import json
    import shlex
    import sys

    prefix = build_prefix()
    project = make_project(tmp_path / "work" / "proj")
    doctor = shlex.join([sys.executable, "-m", "uvmod", "doctor"])
    result = module_tool.run(
        [
            f"cd {project}",
            "module load uv-hpc",
            f"{doctor} --json > {tmp_path}/out.json; echo rc=$?",
            f"{doctor} | tail -1",
        ],
        base_env(tmp_path, {"SCRATCH": str(tmp_path / "scratch"), "RSNT_ARCH": "avx2"}),
        modulepath=[prefix / "modulefiles"],
    )
    data = json.loads((tmp_path / "out.json").read_text())
    assert "rc=0" in result.stdout, result.stdout + result.stderr
    assert data["ok"] is True and data["project"] == str(project)
    assert result.stdout.rstrip().endswith("Everything looks right.")
