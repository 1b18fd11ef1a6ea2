"""Two real users on one machine: what the other user can plant in shared scratch and group
spaces is refused by the victim's uv wrapper, or the victim gets a private environment."""

from __future__ import annotations

from tests.support.unixusers import TwoUsers


def test_the_users_are_real_and_load_the_module(two_users: TwoUsers) -> None:
    scratch = two_users.scratch_root("smoke")
    result = two_users.run_as(
        two_users.victim,
        "module load uv-hpc && id -un && command -v uv && uv --version && uvmod --help >/dev/null",
        scratch=scratch,
        check=True,
    )
    lines = result.stdout.splitlines()
    assert lines[0] == two_users.victim.name
    assert lines[1].startswith(str(two_users.prefix))
