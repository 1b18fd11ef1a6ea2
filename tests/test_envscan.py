"""The one scan of environments (uvmod/envscan.py) and its remembered walks (scansummary.py),
on environments made by hand the way uv lays them out."""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from pathlib import Path

from uvmod import envscan, scansummary
from uvmod.envscan import Dist, damage, missing_paths, walk
from uvmod.scansummary import Contents, Stamp, Summaries

SITE = Path("lib") / "python3.11" / "site-packages"


def make_env(root: Path, files: dict[str, str] | None = None) -> Path:
    """An environment with one distribution `m 1.0` whose RECORD lists `files` (relative to
    site-packages) and itself."""
    (root / SITE).mkdir(parents=True)
    (root / "bin").mkdir()
    (root / "bin" / "python").symlink_to(sys.executable)
    (root / "lib64").symlink_to("lib")
    (root / "pyvenv.cfg").write_text("home = /usr/bin\n")
    site = root / SITE
    files = files if files is not None else {"m/__init__.py": "X = 1\n", "m/data/a.txt": "a"}
    for relative, text in files.items():
        (site / relative).parent.mkdir(parents=True, exist_ok=True)
        (site / relative).write_text(text)
    info = site / "m-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: m\nVersion: 1.0\n")
    rows = [f"{f},sha256=x,1" for f in files]
    rows += ["m-1.0.dist-info/METADATA,,", "m-1.0.dist-info/RECORD,,"]
    (info / "RECORD").write_text("\n".join(rows) + "\n")
    return root


def later(summaries: Summaries, name: str, seconds: float = 3600) -> None:
    """Date the summary `name` `seconds` later, as if its walk had come that long after the
    directories last changed: the racy rule judges stamps by the summary's own mtime, and a
    test cannot set a directory's ctime back."""
    path = summaries.directory / name
    when = time.time() + seconds
    os.utime(path, (when, when))


def test_missing_paths_is_one_rule_for_relative_absolute_and_odd_names(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "x.py").write_text("")
    (tmp_path / "link").symlink_to("nowhere")  # a dangling symlink exists (lexists)
    present = ["a/x.py", "link", str(tmp_path / "a" / "x.py"), "a/../a/x.py"]
    absent = ["a/y.py", "b/x.py", "/no/such/file", "a/x.py\0"]
    assert missing_paths(tmp_path, present + absent) == absent


def test_record_with_quoted_paths_and_a_purged_or_corrupt_record(tmp_path: Path) -> None:
    env = make_env(tmp_path / "env", {"m/a,b.py": "", "m/plain.py": ""})
    (dist,) = envscan.installed(env)
    assert (dist.name, dist.version) == ("m", "1.0")
    assert '"m/a,b.py"' not in (dist.dist_info / "RECORD").read_text()
    # Rewrite RECORD as a real writer does (csv quotes a path holding a comma).
    (dist.dist_info / "RECORD").write_text('"m/a,b.py",,\nm/plain.py,,\nm-1.0.dist-info/RECORD,,\n')
    assert dist.files() == ["m/a,b.py", "m/plain.py", "m-1.0.dist-info/RECORD"]
    assert dist.missing_files() == []
    (env / SITE / "m" / "a,b.py").unlink()
    assert dist.missing_files() == ["m/a,b.py"]
    # Garbage where the paths were: each "path" is missing, so the damage still shows.
    (dist.dist_info / "RECORD").write_bytes(b"garbage\0,,\n\xff\xfe,,\n")
    assert len(dist.missing_files()) == 2
    # A field csv refuses (over its 128 KiB limit): as good as no RECORD.
    (dist.dist_info / "RECORD").write_text('"' + "x" * 200_000 + '",,\n')
    assert dist.missing_files() == ["RECORD"]
    (dist.dist_info / "RECORD").unlink()
    assert dist.missing_files() == ["RECORD"]


def test_reading_a_record_keeps_its_access_time(tmp_path: Path) -> None:
    env = make_env(tmp_path / "env")
    record = env / SITE / "m-1.0.dist-info" / "RECORD"
    os.utime(record, (1_000_000, 1_000_000))
    Dist("m", "1.0", record.parent).missing_files()
    assert record.stat().st_atime == 1_000_000


def test_damage_counts_record_files_and_what_uv_needs(tmp_path: Path) -> None:
    env = make_env(tmp_path / "env")
    assert damage(env).lost == [] and damage(env).total_dists == 1  # lib64 -> lib: once
    (env / SITE / "m" / "data" / "a.txt").unlink()
    (env / "bin" / "python").unlink()
    lost = damage(env)
    assert (lost.missing, lost.record_missing, lost.lost) == (2, 1, ["bin/python", "m 1"])
    assert lost.unusable and [d.name for d in lost.dists] == ["m"]


def test_walk_counts_without_following_symlinks_and_can_keep_atimes(tmp_path: Path) -> None:
    env = make_env(tmp_path / "env")
    stamps: list[Stamp] = []
    used = walk(env, stamps=stamps)
    # pyvenv.cfg, bin/python and lib64 (symlinks count, once), 2 package files, METADATA, RECORD
    assert used.files == 7
    assert used.size == sum(
        os.lstat(p).st_size for p in env.rglob("*") if p.is_symlink() or not p.is_dir()
    )
    assert {s.path for s in stamps} == {
        "",
        "/bin",
        "/lib",
        "/lib/python3.11",
        "/lib/python3.11/site-packages",
        "/lib/python3.11/site-packages/m",
        "/lib/python3.11/site-packages/m/data",
        "/lib/python3.11/site-packages/m-1.0.dist-info",
    }
    directory = env / SITE / "m"
    os.utime(directory, (1_000_000, 1_000_000))
    walk(env, keep_times=True)
    assert os.stat(directory).st_atime == 1_000_000
    assert walk(tmp_path / "absent") == envscan.Usage(0, 0)


def _counting(calls: list[Path]) -> scansummary.Compute:
    def compute(env: Path) -> tuple[Contents, list[Stamp]]:
        calls.append(env)
        return envscan.contents(env)

    return compute


def test_a_remembered_walk_is_reused_until_a_directory_changes(tmp_path: Path) -> None:
    depot = tmp_path / "depot"
    env = make_env(depot / "p-0123456789abcdef")
    calls: list[Path] = []
    first = Summaries(depot).get(env.name, env, _counting(calls))
    assert calls == [env] and first.missing == 0
    summaries = Summaries(depot)
    later(summaries, env.name)
    assert summaries.get(env.name, env, _counting(calls)) == first
    assert calls == [env]  # reused: no walk

    # A purge deletes one file deep in site-packages: its directory's times change.
    (env / SITE / "m" / "data" / "a.txt").unlink()
    summaries = Summaries(depot)
    found = summaries.get(env.name, env, _counting(calls))
    assert calls == [env, env] and (found.missing, found.files) == (1, first.files - 1)
    # A file added: walked again, and counted.
    later(summaries, env.name)
    (env / SITE / "m" / "new.py").write_text("")
    assert Summaries(depot).get(env.name, env, _counting(calls)).files == first.files
    assert len(calls) == 3


def test_a_directory_changed_just_before_its_walk_is_walked_again(tmp_path: Path) -> None:
    """Two changes within one timestamp tick look the same, so stamps that recent are not
    trusted: right after a walk of fresh directories, the next listing walks again."""
    depot = tmp_path / "depot"
    env = make_env(depot / "p-0123456789abcdef")
    calls: list[Path] = []
    Summaries(depot).get(env.name, env, _counting(calls))
    Summaries(depot).get(env.name, env, _counting(calls))
    assert calls == [env, env]


def test_only_summaries_of_this_user_writable_by_nobody_else_are_read(tmp_path: Path) -> None:
    depot = tmp_path / "depot"
    env = make_env(depot / "p-0123456789abcdef")
    calls: list[Path] = []
    Summaries(depot).get(env.name, env, _counting(calls))
    summary = depot / scansummary.SCAN_DIR / env.name
    assert (summary.stat().st_mode & 0o777, summary.parent.stat().st_mode & 0o777) == (
        0o600,
        0o700,
    )

    def reused() -> bool:
        summaries = Summaries(depot)
        later(summaries, env.name)
        before = len(calls)
        summaries.get(env.name, env, _counting(calls))
        return len(calls) == before

    assert reused()
    summary.chmod(0o620)  # another member of the group could have written it
    assert not reused()
    summary.chmod(0o600)
    assert reused()
    summary.parent.chmod(0o770)
    assert not reused()
    summary.parent.chmod(0o700)
    # A symlink in its place, to a file someone else controls, is not followed.
    data = summary.read_bytes()
    summary.unlink()
    (tmp_path / "elsewhere").write_bytes(data)
    summary.symlink_to(tmp_path / "elsewhere")
    summaries = Summaries(depot)
    before = len(calls)
    summaries.get(env.name, env, _counting(calls))
    assert len(calls) == before + 1
    if os.geteuid() == 0:  # another owner can only be made by root
        summary.unlink()
        Summaries(depot).get(env.name, env, _counting(calls))
        os.chown(summary, 4242, -1)
        assert not reused()


def test_a_summary_of_another_format_or_damaged_is_not_used(tmp_path: Path) -> None:
    depot = tmp_path / "depot"
    env = make_env(depot / "p-0123456789abcdef")
    calls: list[Path] = []
    Summaries(depot).get(env.name, env, _counting(calls))
    summary = depot / scansummary.SCAN_DIR / env.name
    record = json.loads(summary.read_text())
    for broken in (
        {**record, "format": scansummary.FORMAT + 1},
        {**record, "dirs": record["dirs"][:-1]},  # not a multiple of four
        {key: value for key, value in record.items() if key != "size"},
    ):
        summary.write_text(json.dumps(broken))
        summaries = Summaries(depot)
        later(summaries, env.name)
        before = len(calls)
        summaries.get(env.name, env, _counting(calls))
        assert len(calls) == before + 1, broken
    summary.write_bytes(b"\xff not json")
    summaries = Summaries(depot)
    later(summaries, env.name)
    assert summaries.get(env.name, env, _counting(calls)).files == 7


def test_summaries_of_environments_gone_are_pruned_and_reading_writes_nothing(
    tmp_path: Path,
) -> None:
    depot = tmp_path / "depot"
    kept = make_env(depot / "kept-0123456789abcdef")
    gone = make_env(depot / "gone-0123456789abcdef")
    assert [e.path.name for e in envscan.scan_depot(depot, remember=False)] == [
        gone.name,
        kept.name,
    ]
    assert not (depot / scansummary.SCAN_DIR).exists()  # doctor's way: nothing written
    envscan.scan_depot(depot)
    scans = depot / scansummary.SCAN_DIR
    assert sorted(p.name for p in scans.iterdir()) == [gone.name, kept.name]
    shutil.rmtree(gone)
    envscan.scan_depot(depot)
    assert sorted(p.name for p in scans.iterdir()) == [gone.name, kept.name]  # a minute's grace
    old = time.time() - 2 * scansummary.STALE_SECONDS
    os.utime(scans / gone.name, (old, old))
    envscan.scan_depot(depot)
    assert sorted(p.name for p in scans.iterdir()) == [kept.name]


def test_a_depot_where_nothing_can_be_remembered_is_listed_all_the_same(tmp_path: Path) -> None:
    """`.uvmod-scan` in the way (a file, say): every listing walks, and writes nothing."""
    depot = tmp_path / "depot"
    env = make_env(depot / "p-0123456789abcdef")
    (depot / scansummary.SCAN_DIR).write_text("not a directory")
    for _ in range(2):
        (entry,) = envscan.scan_depot(depot)
        assert (entry.path, entry.files, entry.state) == (env, 7, "unmarked")
    assert (depot / scansummary.SCAN_DIR).read_text() == "not a directory"
