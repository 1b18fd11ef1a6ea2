"""What uvmod prints for people shows every value as it is: rich markup (`[bold]`, `[/]`),
emoji codes and control characters in a path or a name are printed literally, never
interpreted; and only uvmod/output.py makes a rich Console, so there is one place to keep so."""

from __future__ import annotations

import io
import json
import os
import re
from pathlib import Path

import pytest

from tests.test_venv_commands import make_env
from uvmod import output
from uvmod.cli import main
from uvmod.commands.doctor import render_table
from uvmod.doctor.context import make_context
from uvmod.doctor.result import Result, Status

UVMOD = Path(__file__).resolve().parent.parent / "uvmod"
HOSTILE = "x[/]y[bold]z[red]:smile:[link=file:/etc]"


def test_only_output_py_makes_a_console_and_it_parses_no_markup() -> None:
    makers = []
    for path in UVMOD.rglob("*.py"):
        source = path.read_text("utf-8")
        if path.name != "output.py" and re.search(r"\bConsole\(|rich\.console", source):
            makers.append(str(path.relative_to(UVMOD)))
    assert makers == []
    console = output.console(io.StringIO())
    assert (console._markup, console._emoji, console._highlight) == (False, False, False)


def test_venv_list_prints_project_paths_holding_markup_as_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    depot_dir = tmp_path / "depot"
    depot_dir.mkdir()
    os.environ["UVMOD_VENV_DEPOT"] = str(depot_dir)
    project = tmp_path / "proj[" / "]x[bold]y\x1b[31m"
    project.mkdir(parents=True)
    (project / "pyproject.toml").write_text("")
    make_env(depot_dir, "p-0000000000000001", project)
    assert main(["venv", "list"]) == 0
    out = capsys.readouterr().out
    assert f"{tmp_path}/proj[/]x[bold]y\\x1b[31m" in out
    assert "\x1b" not in out
    assert main(["venv", "list", "--json"]) == 0
    (entry,) = json.loads(capsys.readouterr().out)["environments"]
    assert entry["project"] == str(project)


def test_doctor_table_prints_findings_and_the_project_as_written(tmp_path: Path) -> None:
    project = tmp_path / "a[" / f"]{HOSTILE}"
    project.mkdir(parents=True)
    (project / "pyproject.toml").write_text("")
    ctx = make_context({}, project, tmp_path, 0.0)
    results = [
        Result("depot.orphans", Status.WARN, f"finding {HOSTILE}\x07", f"fix {HOSTILE}"),
        Result("module.loaded", Status.OK, "fine"),
    ]
    for width in (None, 400):
        out = io.StringIO()
        render_table(ctx, results, out, width)
        text = out.getvalue()
        # The title is wrapped to the table's width: compare without the line breaks.
        assert f"project{tmp_path}/a[/]{HOSTILE}" in "".join(text.split())
        assert f"finding {HOSTILE}\\x07" in text and f"fix: fix {HOSTILE}" in text
        assert "\x07" not in text and "😄" not in text


def test_kernel_list_prints_names_as_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    kernel = tmp_path / "share" / "jupyter" / "kernels" / "k1"
    kernel.mkdir(parents=True)
    meta = {"project": f"/p/{HOSTILE}", "modules": ["[bold]m"], "uv_module": "uv-hpc/1.0"}
    (kernel / "kernel.json").write_text(
        json.dumps({"display_name": HOSTILE, "argv": [], "metadata": {"uvmod": meta}})
    )
    assert main(["kernel", "list", "--prefix", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert HOSTILE in out and f"/p/{HOSTILE}" in out and "[bold]m" in out
