"""uvmod/wheelhouse.py, uvmod/pytarget.py and uvmod/requirements.py on their own: the parts of
`uvmod wheels` that need no site (which file uv takes is checked against the real uv in
tests/test_wheels_uv_agreement.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from packaging.tags import Tag

from uvmod.pytarget import TargetPython, from_option, machine_platforms
from uvmod.requirements import read_requirements_file
from uvmod.wheelhouse import TagMatcher, WheelIndex, scan

PY311 = TargetPython(3, 11, None, "", "--python")
PLATFORMS = ["manylinux_2_28_x86_64", "manylinux_2_17_x86_64", "manylinux2014_x86_64"]


def _index(tmp_path: Path, *names: str) -> WheelIndex:
    (tmp_path / "d").mkdir(exist_ok=True)
    for name in names:
        (tmp_path / "d" / name).touch()
    return WheelIndex([scan("d", str(tmp_path / "d"))])


@pytest.mark.parametrize(
    ("filename", "mismatch"),
    [
        ("a-1-cp311-cp311-linux_x86_64.whl", None),
        ("a-1-cp39-abi3-manylinux_2_17_x86_64.whl", None),
        ("a-1-py2.py3-none-any.whl", None),
        ("a-1-cp310-cp310-linux_x86_64.whl", "python"),
        ("a-1-py2-none-any.whl", "python"),
        ("a-1-pp310-pypy310_pp73-linux_x86_64.whl", "python"),
        ("a-1-cp311-cp311d-linux_x86_64.whl", "abi"),
        ("a-1-cp311-cp311-manylinux_2_17_aarch64.whl", "platform"),
        ("a-1-cp311-cp311-manylinux_2_39_x86_64.whl", "platform"),  # newer glibc than here
        ("a-1-cp311-cp311-macosx_11_0_arm64.whl", "platform"),
    ],
)
def test_what_rules_a_wheel_out(tmp_path: Path, filename: str, mismatch: str | None) -> None:
    matcher = TagMatcher(PY311.supported_tags([*PLATFORMS, "linux_x86_64"]))
    (wheel,) = _index(tmp_path, filename).wheels("a")
    assert matcher.mismatch(wheel) == mismatch


def test_free_threaded_python_takes_no_abi3() -> None:
    tags = TargetPython(3, 13, 1, "t", "/usr/bin/python3").supported_tags(["linux_x86_64"])
    assert tags[0] == Tag("cp313", "cp313t", "linux_x86_64")
    assert Tag("cp313", "abi3", "linux_x86_64") not in tags
    assert Tag("py3", "none", "any") in tags


def test_uv_prefers_manylinux_to_linux() -> None:
    platforms = machine_platforms()
    bare = [p for p in platforms if p.startswith("linux_")]
    assert bare and platforms[-len(bare) :] == bare


def test_python_option_is_a_version_not_run() -> None:
    target = from_option("3.12")
    assert (target.major, target.minor, target.abi) == (3, 12, "cp312")
    env = target.marker_environment()
    assert env["python_version"] == "3.12" and env["implementation_name"] == "cpython"


def test_names_are_grouped_by_their_canonical_form_and_parsed_on_demand(tmp_path: Path) -> None:
    index = _index(
        tmp_path,
        "Pillow-10.0.0-cp311-cp311-linux_x86_64.whl",
        "pillow-9.5.0-cp311-cp311-linux_x86_64.whl",
        "ruamel.yaml-0.17.21-py3-none-any.whl",
        "pillow-bad-version-x-y-z.whl",
        "numpy.whl",
    )
    assert index.names() == ["numpy", "pillow", "ruamel-yaml"]
    assert index.invalid == []  # nothing parsed yet
    assert sorted(str(w.version) for w in index.wheels("PILLOW")) == ["10.0.0", "9.5.0"]
    assert [i.filename for i in index.invalid] == ["pillow-bad-version-x-y-z.whl"]
    assert [w.name for w in index.wheels("ruamel_yaml")] == ["ruamel-yaml"]
    assert index.wheels("numpy") == [] and index.invalid[-1].filename == "numpy.whl"


def test_unreadable_directories_say_why(tmp_path: Path) -> None:
    assert scan("x", str(tmp_path / "absent")).error == "does not exist"
    (tmp_path / "file").touch()
    assert scan("x", str(tmp_path / "file")).error == "is not a directory"


def test_requirements_file_syntax(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "a.txt").write_text("alpha\n")
    (tmp_path / "b.txt").write_text("beta\n")
    main = tmp_path / "main.txt"
    main.write_text(
        "-rsub/a.txt\n"
        "--requirement=b.txt\n"
        "gamma>=1 \\\n"
        "  ; python_version >= '3'  # a comment\n"
        "# a comment line ending in a backslash \\\n"
        "delta --config-settings x=y\n"
        "-c constraints.txt\n"
        "--pre\n"
        "./local/dir\n"
    )
    found = read_requirements_file(main)
    assert [(w.text, w.source.rsplit("/", 1)[-1]) for w in found] == [
        ("alpha", "a.txt:1"),
        ("beta", "b.txt:1"),
        ("gamma>=1   ; python_version >= '3'", "main.txt:3"),
        ("delta", "main.txt:6"),
        ("./local/dir", "main.txt:9"),
    ]
    assert found[-1].requirement is None and found[-1].unchecked == "a path or URL, not a name"
