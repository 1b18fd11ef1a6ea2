"""Doctor's structure stays easy to extend: every check function is registered, the library
never reaches into the command line, and no module imports another's private names."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

from uvmod.doctor import registry

UVMOD = Path(__file__).resolve().parents[2] / "uvmod"
LIBRARY = [*sorted((UVMOD / "doctor").glob("*.py")), UVMOD / "envscan.py", UVMOD / "scansummary.py"]


def _imports(path: Path) -> list[tuple[str, list[str]]]:
    tree = ast.parse(path.read_text())
    found: list[tuple[str, list[str]]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.append((node.module, [alias.name for alias in node.names]))
        elif isinstance(node, ast.Import):
            found += [(alias.name, []) for alias in node.names]
    return found


def test_every_check_function_is_registered_once() -> None:
    registered = [check.run for check in registry.CHECKS]
    assert len(registered) == len(set(registered))
    assert len({c.id for c in registry.CHECKS}) == len(registry.CHECKS)
    defined = []
    for path in (UVMOD / "doctor").glob("*.py"):
        module = __import__(f"uvmod.doctor.{path.stem}", fromlist=["_"])
        defined += [
            function
            for name, function in inspect.getmembers(module, inspect.isfunction)
            if name.startswith("check_") and function.__module__ == module.__name__
        ]
    assert sorted(f.__qualname__ for f in defined) == sorted(f.__qualname__ for f in registered)
    assert set(defined) == set(registered)


def test_the_library_never_imports_the_command_line() -> None:
    for path in LIBRARY:
        for module, names in _imports(path):
            assert not module.startswith("uvmod.commands"), (path.name, module)
            assert not (module == "uvmod" and "commands" in names), path.name
            assert module != "uvmod.cli", path.name


def test_no_private_name_is_imported_across_modules() -> None:
    for path in sorted(UVMOD.rglob("*.py")):
        for module, names in _imports(path):
            private = [n for n in names if n.startswith("_") and not n.startswith("__")]
            assert not (module.startswith("uvmod") and private), (path.name, module, private)
