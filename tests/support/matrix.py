"""The module-tool fixtures: a test that takes one runs once per tool of the matrix.

- `module_tool`: every tool (Lmod 8.6.19, Lmod 8.7.60, Environment Modules 5.2.0 and 5.5.0),
  for what must hold whatever the site runs;
- `lmod_tool`: both Lmods, for Lmod's own behaviour (hooks, the spider cache, autoswap);
- `em_tool`: both Environment Modules, for theirs (automated module handling, refusals).

A tool that is not installed skips the test, and fails it in CI (tests/support/tools.py).
"""

from __future__ import annotations

import pytest

from tests.support.modules import ENVIRONMENT_MODULES, LMODS, MODULE_TOOLS, ModuleTool


def _tool(request: pytest.FixtureRequest) -> ModuleTool:
    tool: ModuleTool = request.param
    tool.require()
    return tool


@pytest.fixture(params=MODULE_TOOLS, ids=[t.id for t in MODULE_TOOLS])
def module_tool(request: pytest.FixtureRequest) -> ModuleTool:
    return _tool(request)


@pytest.fixture(params=LMODS, ids=[t.id for t in LMODS])
def lmod_tool(request: pytest.FixtureRequest) -> ModuleTool:
    return _tool(request)


@pytest.fixture(params=ENVIRONMENT_MODULES, ids=[t.id for t in ENVIRONMENT_MODULES])
def em_tool(request: pytest.FixtureRequest) -> ModuleTool:
    return _tool(request)
