"""`uvmod kernel install|list|remove` and the launcher, without a module system or uv.

Where kernels go is compared with jupyter_core and jupyter_client themselves; hostile values
travel through the real jupyter_client launch (its `{name}` substitution, `~` expansion and
Popen) into the real launcher, which hands them to a stand-in uv (tests/support/standin.py) after
a stand-in module system: an init script that records what it is asked to do.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.conftest import BuildPrefix
from tests.support import tools
from tests.support.standin import make_standin
from uvmod import kernelspec
from uvmod.cli import main

PROJECT_TOML = '[project]\nname = "p"\nversion = "0"\ndependencies = ["ipykernel"]\n'

# A module system that does what the launcher asks and records it: `module load` "loads" uv-hpc
# by pointing UVMOD_HOME at a directory whose bin/uv is the stand-in.
FAKE_INIT = """\
module() {
  printf '%s\\n' "$*" >>"$FAKE_RECORD"
  if [ "$1" = load ]; then
    case " $* " in
      *" nosuch/"*) echo "no module nosuch" >&2; return 1 ;;
    esac
    [ -n "${FAKE_NO_HOME-}" ] || { UVMOD_HOME=$FAKE_HOME; export UVMOD_HOME; }
  fi
}
"""


@pytest.fixture
def loaded(
    tmp_path: Path, build_prefix: BuildPrefix, monkeypatch: pytest.MonkeyPatch
) -> dict[str, Path]:
    """The environment `module load uv-hpc` gives, as far as `uvmod kernel install` reads it."""
    prefix = build_prefix()
    init = tmp_path / "init.sh"
    init.write_text(FAKE_INIT)
    monkeypatch.setenv("UVMOD_HOME", str(prefix / "uv-hpc" / "1.0"))
    monkeypatch.setenv("MODULEPATH", f"{prefix}/modulefiles:/opt/site/modulefiles")
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(tmp_path / "jupyter"))
    project = tmp_path / "work" / "proj"
    project.mkdir(parents=True)
    (project / "pyproject.toml").write_text(PROJECT_TOML)
    return {
        "prefix": prefix,
        "init": init,
        "project": project,
        "kernels": tmp_path / "jupyter/kernels",
    }


def _install(loaded: dict[str, Path], *argv: str) -> int:
    return main(
        [
            "kernel",
            "install",
            "--project",
            str(loaded["project"]),
            "--module-init",
            str(loaded["init"]),
            *argv,
        ]
    )


@pytest.mark.parametrize(
    "env",
    [
        {},
        {"XDG_DATA_HOME": "/x/data"},
        {"XDG_DATA_HOME": ""},
        {"JUPYTER_DATA_DIR": "/j/data", "XDG_DATA_HOME": "/x/data"},
        {"JUPYTER_DATA_DIR": ""},
        {"JUPYTER_PLATFORM_DIRS": "1", "XDG_DATA_HOME": "/x/data"},
    ],
)
def test_kernels_go_where_jupyter_looks(
    env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_core.paths import jupyter_data_dir

    for name in ("JUPYTER_DATA_DIR", "XDG_DATA_HOME", "JUPYTER_PLATFORM_DIRS"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    ours = kernelspec.kernels_dir(dict(os.environ))
    assert ours == Path(jupyter_data_dir()) / "kernels"
    assert ours == Path(KernelSpecManager().user_kernel_dir)


def test_prefix_is_jupyters_prefix(tmp_path: Path) -> None:
    from jupyter_client.kernelspec import KernelSpecManager

    source = tmp_path / "src"
    source.mkdir()
    (source / "kernel.json").write_text('{"argv": ["x"], "display_name": "x", "language": "x"}')
    installed = KernelSpecManager().install_kernel_spec(
        str(source), "probe", prefix=str(tmp_path / "pre")
    )
    assert Path(installed).parent == kernelspec.kernels_dir({}, tmp_path / "pre")


def test_install_writes_a_kernelspec_jupyter_reads(loaded: dict[str, Path]) -> None:
    from jupyter_client.kernelspec import KernelSpecManager

    prefix = loaded["prefix"]
    assert _install(loaded, "--module", "python/3.11", "mpich/4.1.2") == 0
    spec = KernelSpecManager().get_kernel_spec("proj-python-3.11-mpich-4.1.2")
    assert spec.display_name == "proj (uv-hpc, python/3.11, mpich/4.1.2)"
    assert spec.language == "python" and spec.interrupt_mode == "signal"
    assert spec.argv == [
        f"{prefix}/uv-hpc/1.0/libexec/uvmod-kernel",
        "--format",
        "1",
        "--kernel",
        "proj-python-3.11-mpich-4.1.2",
        "--project",
        str(loaded["project"]),
        "--module-init",
        str(loaded["init"]),
        "--modulepath",
        f"{prefix}/modulefiles",
        "--modulepath",
        "/opt/site/modulefiles",
        "--connection-file",
        "{connection_file}",
        "--load",
        "python/3.11",
        "mpich/4.1.2",
        "uv-hpc/1.0",
    ]
    meta = spec.metadata["uvmod"]
    assert meta["project"] == str(loaded["project"])
    assert meta["modules"] == ["python/3.11", "mpich/4.1.2"] and meta["uv_module"] == "uv-hpc/1.0"


def test_install_finds_the_project_from_a_subdirectory_and_the_module_system(
    loaded: dict[str, Path], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    sub = loaded["project"] / "notebooks" / "2026"
    sub.mkdir(parents=True)
    lmod = tmp_path / "lmod"
    (lmod / "init").mkdir(parents=True)
    (lmod / "init" / "sh").write_text(FAKE_INIT)
    monkeypatch.setenv("LMOD_PKG", str(lmod))
    assert main(["kernel", "install", "--project", str(sub), "--name", "Proj"]) == 0
    data = json.loads((loaded["kernels"] / "proj" / "kernel.json").read_text())  # lower case
    assert data["metadata"]["uvmod"]["project"] == str(loaded["project"])
    assert data["metadata"]["uvmod"]["module_init"] == str(lmod / "init" / "sh")


def test_install_without_a_module_system_or_module_is_a_usage_error(
    loaded: dict[str, Path], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    project = str(loaded["project"])
    assert main(["kernel", "install", "--project", project]) == 2
    assert "neither $LMOD_PKG nor $MODULESHOME is set" in capsys.readouterr().err
    monkeypatch.setenv("MODULESHOME", "/nonexistent/modules")
    assert main(["kernel", "install", "--project", project]) == 2
    assert "$MODULESHOME/init/sh: /nonexistent/modules/init/sh: no such file" in (
        capsys.readouterr().err
    )
    monkeypatch.delenv("UVMOD_HOME")
    assert _install(loaded) == 2
    assert "uv-hpc is not loaded: `module load uv-hpc` first" in capsys.readouterr().err
    assert not loaded["kernels"].exists()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--name", "no spaces"], "--name 'no spaces': a Jupyter kernel name has only"),
        (["--module", "mpich 4"], "--module 'mpich 4': not a module name"),
        (["--module=-f"], "--module '-f': not a module name"),
        (["--module", "uv-hpc/1.0"], "--module uv-hpc/1.0: every kernel loads uv-hpc/1.0"),
        (["--display-name", "a\nb"], "--display-name 'a\\nb': contains the control character"),
    ],
)
def test_bad_values_are_located_errors_and_write_nothing(
    loaded: dict[str, Path], argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _install(loaded, *argv) == 2
    assert message in capsys.readouterr().err
    assert not loaded["kernels"].exists()


@pytest.mark.parametrize("field", ["{connection_file}", "{prefix}", "{cwd}", "{resource_dir}"])
def test_a_project_path_jupyter_would_rewrite_is_refused(
    loaded: dict[str, Path], field: str, capsys: pytest.CaptureFixture[str]
) -> None:
    project = loaded["project"].parent / f"a{field}b"
    project.mkdir()
    (project / "pyproject.toml").write_text(PROJECT_TOML)
    loaded = {**loaded, "project": project}
    assert _install(loaded) == 2
    err = capsys.readouterr().err
    assert f"--project '{project}': Jupyter replaces {field} in a kernel's arguments" in err
    assert not loaded["kernels"].exists()


def test_a_missing_project_or_pyproject_is_a_usage_error(
    loaded: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _install({**loaded, "project": tmp_path / "nowhere"}) == 2
    assert "no such directory" in capsys.readouterr().err
    bare = tmp_path / "bare"
    bare.mkdir()
    assert _install({**loaded, "project": bare}) == 2
    assert "no pyproject.toml there or in a parent directory" in capsys.readouterr().err


def test_install_warns_when_the_project_lacks_ipykernel(
    loaded: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    pyproject = loaded["project"] / "pyproject.toml"
    pyproject.write_text('[project]\nname = "p"\nversion = "0"\ndependencies = ["numpy"]\n')
    assert _install(loaded) == 0
    assert "does not depend on ipykernel" in capsys.readouterr().err
    # In the dev group (`uv add --dev ipykernel`), which uv run installs: no warning.
    pyproject.write_text(
        '[project]\nname = "p"\nversion = "0"\n[dependency-groups]\ndev = ["ipykernel>=6"]\n'
    )
    assert _install(loaded) == 0
    assert "ipykernel" not in capsys.readouterr().err


def test_reinstall_replaces_its_own_kernel_and_never_a_foreign_one(
    loaded: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    assert _install(loaded, "--name", "nb") == 0
    assert _install(loaded, "--name", "nb", "--display-name", "Second") == 0
    assert "replaced kernel 'nb' (Second)" in capsys.readouterr().out
    assert json.loads((loaded["kernels"] / "nb/kernel.json").read_text())["display_name"] == (
        "Second"
    )
    foreign = loaded["kernels"] / "python3"
    foreign.mkdir()
    text = '{"argv": ["python3"], "display_name": "Python 3", "language": "python"}'
    (foreign / "kernel.json").write_text(text)
    assert _install(loaded, "--name", "python3") == 2
    assert "a Jupyter kernel that uvmod did not write" in capsys.readouterr().err
    assert (foreign / "kernel.json").read_text() == text
    assert sorted(p.name for p in loaded["kernels"].iterdir()) == ["nb", "python3"]


def test_list_and_remove_touch_only_uvmod_kernels(
    loaded: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    assert _install(loaded, "--name", "ours") == 0
    foreign = loaded["kernels"] / "theirs"
    foreign.mkdir()
    (foreign / "kernel.json").write_text('{"argv": ["x"], "metadata": {"debugger": true}}')
    capsys.readouterr()
    assert main(["kernel", "list", "--json"]) == 0
    listing = json.loads(capsys.readouterr().out)
    assert [k["name"] for k in listing["kernels"]] == ["ours"]
    assert listing["kernels"][0]["problems"] == []
    assert main(["kernel", "remove", "theirs"]) == 2
    assert "not a kernel uvmod wrote; leaving it alone" in capsys.readouterr().err
    assert main(["kernel", "remove", "missing"]) == 2
    assert "no kernel 'missing' in" in capsys.readouterr().err
    # A deleted project shows in the list.
    (loaded["project"] / "pyproject.toml").unlink()
    assert main(["kernel", "list"]) == 0
    row = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("ours"))
    assert row.rstrip().endswith("project gone")
    assert main(["kernel", "remove", "ours"]) == 0
    assert sorted(p.name for p in loaded["kernels"].iterdir()) == ["theirs"]


def test_prefix_installs_lists_and_removes_there(
    loaded: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    where = tmp_path / "env"
    assert _install(loaded, "--prefix", str(where), "--name", "nb") == 0
    assert (where / "share/jupyter/kernels/nb/kernel.json").is_file()
    assert not loaded["kernels"].exists()
    capsys.readouterr()
    assert main(["kernel", "list", "--prefix", str(where), "--json"]) == 0
    assert [k["name"] for k in json.loads(capsys.readouterr().out)["kernels"]] == ["nb"]
    assert main(["kernel", "remove", "--prefix", str(where), "nb"]) == 0
    assert list((where / "share/jupyter/kernels").iterdir()) == []


HOSTILE = "we ird $(touch pwned) 'q' \"dq\" `bt` ;&|<>*?[x] {x y} {} ~t a\\b é"


def _launch(name: str, env: dict[str, str], out: Path, connection: Path) -> int:
    """Start the kernel through jupyter_client (argv substitution, `~` expansion, Popen) and
    wait for the launcher, which ends with the stand-in uv printing what it received."""
    from jupyter_client import KernelManager

    km = KernelManager(kernel_name=name, connection_file=str(connection))
    with out.open("w") as handle:
        km.start_kernel(env=env, stdout=handle, stderr=subprocess.STDOUT)
    try:
        return int(km.provisioner.process.wait(timeout=60))  # type: ignore[union-attr]
    finally:
        km.cleanup_resources()


def test_hostile_values_reach_uv_run_exactly(
    loaded: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = tmp_path / HOSTILE / "proj"
    project.mkdir(parents=True)
    (project / "pyproject.toml").write_text(PROJECT_TOML)
    odd_path = tmp_path / "mods with space" / "$HOME"
    odd_path.mkdir(parents=True)
    monkeypatch.setenv("MODULEPATH", f"{odd_path}:/opt/site/modulefiles")
    assert _install({**loaded, "project": project}, "--name", "nb", "--module", "a+b/1.0_x") == 0

    fake_home = tmp_path / "fake-uv-hpc"
    make_standin(fake_home / "bin")
    record = tmp_path / "record"
    env = {
        "PATH": "/usr/bin:/bin",
        "FAKE_HOME": str(fake_home),
        "FAKE_RECORD": str(record),
        "LOADEDMODULES": "jupyter/4.0",  # the server's own modules
        "VIRTUAL_ENV": "/server/venv",
    }
    out = tmp_path / "out"
    # Where Jupyter writes it: a runtime directory below a hostile home, say.
    connection = tmp_path / HOSTILE / "runtime" / "kernel-1.json"
    connection.parent.mkdir()
    assert _launch("nb", env, out, connection) == 0, out.read_text()
    seen = json.loads(out.read_text())
    assert seen["argv"] == [
        "run",
        "--project",
        str(project),
        "python",
        "-m",
        "ipykernel_launcher",
        "-f",
        str(connection),
    ]
    assert "VIRTUAL_ENV" not in seen["env"]
    modulepath = seen["env"]["MODULEPATH"].split(":")
    # Entries that do not exist on this node are left out.
    assert modulepath == [str(odd_path), f"{loaded['prefix']}/modulefiles"]
    assert record.read_text().splitlines() == ["purge", "load a+b/1.0_x uv-hpc/1.0"]
    assert not (tmp_path / "pwned").exists() and not Path("pwned").exists()


def _run_launcher(loaded: dict[str, Path], argv: list[str], env: dict[str, str]) -> tuple[int, str]:
    launcher = loaded["prefix"] / "uv-hpc/1.0/libexec/uvmod-kernel"
    proc = subprocess.run(
        [str(launcher), *argv],
        env={"PATH": "/usr/bin:/bin", **env},
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert proc.stdout == ""
    return proc.returncode, " ".join(proc.stderr.split())


def _argv(loaded: dict[str, Path], init: Path, *modules: str) -> list[str]:
    return [
        "--format",
        "1",
        "--kernel",
        "nb",
        "--project",
        str(loaded["project"]),
        "--module-init",
        str(init),
        "--connection-file",
        "/run/conn.json",
        "--load",
        *modules,
        "uv-hpc/1.0",
    ]


def test_the_launchers_failures_are_messages_and_status_1(
    loaded: dict[str, Path], tmp_path: Path
) -> None:
    env = {"FAKE_HOME": str(tmp_path / "none"), "FAKE_RECORD": str(tmp_path / "record")}
    status, err = _run_launcher(loaded, ["--format", "2"], env)
    assert status == 1 and "this kernel.json was not written for this launcher" in err
    status, err = _run_launcher(loaded, _argv(loaded, tmp_path / "gone.sh"), env)
    assert status == 1
    assert f"uv-hpc kernel 'nb': the module system's init script {tmp_path}/gone.sh" in err
    empty = tmp_path / "empty.sh"
    empty.write_text(": nothing here\n")
    status, err = _run_launcher(loaded, _argv(loaded, empty), env)
    assert status == 1 and f"sourcing {empty} did not define the 'module' command" in err
    status, err = _run_launcher(loaded, _argv(loaded, loaded["init"], "nosuch/1"), env)
    assert status == 1
    assert err.startswith("no module nosuch ")
    assert "'module load nosuch/1 uv-hpc/1.0' failed (its messages are above)" in err
    status, err = _run_launcher(loaded, _argv(loaded, loaded["init"]), {**env, "FAKE_NO_HOME": "1"})
    assert status == 1 and "did not set up uv-hpc (no $UVMOD_HOME/bin/uv)" in err
    (loaded["project"] / "pyproject.toml").unlink()
    status, err = _run_launcher(loaded, _argv(loaded, loaded["init"]), env)
    assert status == 1
    assert f"the project {loaded['project']} has no pyproject.toml." in err
    status, err = _run_launcher(loaded, ["--format", "1", "--kernel"], env)
    assert status == 1 and "--kernel needs a value" in err


def test_generated_scripts_are_shellcheck_clean(build_prefix: BuildPrefix) -> None:
    shellcheck = tools.program("shellcheck")
    prefix = build_prefix()
    scripts = [*(prefix / "uv-hpc/1.0/bin").iterdir(), prefix / "uv-hpc/1.0/libexec/uvmod-kernel"]
    result = subprocess.run(
        [shellcheck, "-s", "sh", *map(str, scripts)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout


def test_the_sites_module_init_comes_before_the_shells(
    tmp_path: Path, build_prefix: BuildPrefix, monkeypatch: pytest.MonkeyPatch
) -> None:
    site_init = tmp_path / "profile.sh"
    site_init.write_text(FAKE_INIT)
    prefix = build_prefix(f'[jupyter]\nmodule_init = "{site_init}"\n')
    monkeypatch.setenv("UVMOD_HOME", str(prefix / "uv-hpc" / "1.0"))
    monkeypatch.setenv("LMOD_PKG", "/usr/share/lmod/lmod")
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(tmp_path / "jupyter"))
    project = tmp_path / "p"
    project.mkdir()
    (project / "pyproject.toml").write_text(PROJECT_TOML)
    assert main(["kernel", "install", "--project", str(project), "--name", "nb"]) == 0
    data = json.loads((tmp_path / "jupyter/kernels/nb/kernel.json").read_text())
    assert data["metadata"]["uvmod"]["module_init"] == str(site_init)
    other = tmp_path / "other.sh"
    other.write_text(FAKE_INIT)
    argv = ["kernel", "install", "--project", str(project), "--name", "nb"]
    assert main([*argv, "--module-init", str(other)]) == 0
    data = json.loads((tmp_path / "jupyter/kernels/nb/kernel.json").read_text())
    assert data["metadata"]["uvmod"]["module_init"] == str(other)
