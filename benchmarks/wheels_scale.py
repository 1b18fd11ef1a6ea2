"""What `uvmod wheels` costs on a wheelhouse the size of a national cluster's: 50,000 wheels.

    python benchmarks/wheels_scale.py              # 50,000 files, 5 runs of each command
    python benchmarks/wheels_scale.py --quick      # 5,000 files, 1 run: a smoke run
    python benchmarks/wheels_scale.py --files N --runs N [--keep DIR]

Generates empty files with realistic wheel names (compiled builds for cp38-cp313 with a local
`+computecanada` label, pure and abi3 wheels, the same file in several architecture
directories) over seven directories laid out like the Alliance wheelhouse, builds a module tree
for it with `uvmod build-modulefiles`, and times, alternating with a baseline on every round:
  - `uvmod wheels NAME`                     one name, this node's chain
  - `uvmod wheels -r FILE`                  20 requirements (two of them not in the wheelhouse)
  - `uvmod wheels --all-archs`              every file of every chain, as a table
  - `uvmod wheels --all-archs --json`       the same as JSON
The baseline is a Python process that lists the same directories with os.scandir and prints
the names (what any tool must at least do); `ls -f` of the directories is shown beside it, and
a first row times the interpreter start-up and uvmod's imports alone.
Output goes to a pipe, as in `uvmod wheels | grep`. Medians of wall-clock time, and of uvmod's
CPU time (steadier on a shared machine). Nothing asserts on a time.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

if __package__ in (
    None,
    "",
):  # run as a script: make `benchmarks` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.measure import commit, machine, process_times

CHAINS = {
    "avx512": [
        "gentoo2023/x86-64-v4",
        "gentoo2020/avx512",
        "gentoo2023/generic",
        "gentoo2020/generic",
        "generic",
    ],
    "avx2": [
        "gentoo2023/x86-64-v3",
        "gentoo2020/avx2",
        "gentoo2023/generic",
        "gentoo2020/generic",
        "generic",
    ],
    "generic": ["gentoo2023/generic", "gentoo2020/generic", "generic"],
}
ARCH_DIRS = [
    "gentoo2023/x86-64-v4",
    "gentoo2020/avx512",
    "gentoo2023/x86-64-v3",
    "gentoo2020/avx2",
]
GENERIC_DIRS = ["gentoo2023/generic", "gentoo2020/generic"]
PYTHONS = ["cp38", "cp39", "cp310", "cp311", "cp312", "cp313"]
REAL_NAMES = (
    "numpy scipy pandas h5py matplotlib mpi4py netCDF4 torch jax jaxlib tensorflow scikit_learn "
    "scikit_image numba llvmlite cython pybind11 Pillow lxml cryptography cffi psutil pyzmq "
    "tornado ipykernel jupyterlab notebook astropy biopython dask distributed xarray zarr "
    "numcodecs shapely pyproj fiona rasterio GDAL petsc4py slepc4py cupy pycuda mpi4jax "
    "tables pyarrow polars orjson ujson msgpack grpcio protobuf kiwisolver contourpy fonttools "
    "regex pyyaml ruamel.yaml setuptools wheel pip packaging six attrs certifi charset_normalizer "
    "idna urllib3 requests tqdm click rich typing_extensions sympy mpmath networkx"
).split()
STEMS = (
    "astro bio geo chem net data py fast h5 mpi torch jax sci stat cu open deep gpu quant mesh "
    "seis climate ocean atmos genome protein cell spectra lattice fluid"
).split()
TAILS = "py tools kit io lib utils core fit sim viz grid ml opt calc".split()


@dataclass(frozen=True)
class Measure:
    label: str
    argv: list[str]
    baseline_dirs: list[str]  # what the baseline lists


def _names(count: int) -> list[str]:
    names = list(REAL_NAMES)
    for stem in STEMS:
        for tail in TAILS:
            names.append(f"{stem}{tail}")
    i = 0
    while len(names) < count:
        names.append(f"{STEMS[i % len(STEMS)]}_{TAILS[i % len(TAILS)]}{i}")
        i += 1
    return names[:count]


def generate(root: Path, files: int, seed: int = 16216) -> dict[str, int]:
    """Empty wheel files with realistic names; returns the count per directory."""
    rng = random.Random(seed)
    for directory in [*ARCH_DIRS, *GENERIC_DIRS, "generic"]:
        (root / directory).mkdir(parents=True, exist_ok=True)
    counts: dict[str, int] = {}
    made = 0
    for name in _names(max(files // 12, 50)):
        kind = rng.random()
        versions = [
            f"{rng.randint(0, 9)}.{rng.randint(0, 30)}.{rng.randint(0, 12)}"
            for _ in range(rng.randint(1, 6))
        ]
        for version in versions:
            if kind < 0.45:  # pure Python, in generic only
                placed = [("generic", f"{name}-{version}-py3-none-any.whl")]
            elif kind < 0.55:  # the stable ABI, one build per generic directory
                tag = f"cp{rng.choice(['37', '38', '39'])}-abi3-linux_x86_64"
                placed = [(d, f"{name}-{version}+computecanada-{tag}.whl") for d in GENERIC_DIRS]
            else:  # compiled for several Pythons, arch builds plus a generic one
                pythons = rng.sample(PYTHONS, rng.randint(2, len(PYTHONS)))
                dirs = [*rng.sample(ARCH_DIRS, rng.randint(0, 2)), rng.choice(GENERIC_DIRS)]
                placed = [
                    (d, f"{name}-{version}+computecanada-{py}-{py}-linux_x86_64.whl")
                    for py in pythons
                    for d in dirs
                ]
            for directory, filename in placed:
                if made == files:
                    return counts
                path = root / directory / filename
                if path.exists():
                    continue
                os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o644))
                counts[directory] = counts.get(directory, 0) + 1
                made += 1
    if made < files:
        raise RuntimeError(f"generated only {made} of {files} names; raise the name count")
    return counts


def _requirements(path: Path, root: Path) -> None:
    """20 requirements: 18 names of the wheelhouse with specifiers, 2 that are absent."""
    present = sorted({p.name.split("-")[0] for p in (root / "generic").iterdir()})
    chosen = [n for n in REAL_NAMES if n in present][:12]
    chosen += [n for n in present if n not in chosen][: 18 - len(chosen)]
    lines = [f"{n}>=0.1" if i % 2 else f"{n}<99" for i, n in enumerate(chosen)]
    lines += ["not-in-the-wheelhouse>=1", "another-missing-package"]
    path.write_text("\n".join(lines) + "\n")


def _site_toml(root: Path) -> str:
    chains = "\n".join(f"{arch} = {CHAINS[arch]!r}".replace("'", '"') for arch in CHAINS)
    return f'[wheelhouse]\nroot = "{root}"\npypi = false\n[wheelhouse.arch]\n{chains}\n'


_SCANDIR = (
    "import os, sys\n"
    "out = sys.stdout.write\n"
    "for d in sys.argv[1:]:\n"
    "    with os.scandir(d) as entries:\n"
    "        for e in entries:\n"
    "            out(e.name + '\\n')\n"
)


def _once(argv: Sequence[str], env: Mapping[str, str]) -> tuple[float, float]:
    # 1: unmet requirements, which the -r case has on purpose
    return process_times(argv, env, ok=(0, 1))


@dataclass(frozen=True)
class Row:
    label: str
    scandir: float  # wall-clock medians, seconds
    ls: float
    uvmod: float
    uvmod_cpu: float  # CPU median, seconds


def run_measures(
    measures: Sequence[Measure], env: Mapping[str, str], root: Path, runs: int
) -> list[Row]:
    """Medians of every side, the sides alternating their order from round to round."""
    rows = []
    for m in measures:
        dirs = [str(root / d) for d in m.baseline_dirs]
        sides = {
            "scandir": [sys.executable, "-c", _SCANDIR, *dirs],
            "ls": ["ls", "-f", *dirs],
            "uvmod": m.argv,
        }
        wall: dict[str, list[float]] = {k: [] for k in sides}
        cpu: list[float] = []
        for argv in sides.values():  # warm the page cache and the interpreter's files
            _once(argv, env)
        for i in range(runs):
            order = list(sides) if i % 2 == 0 else list(reversed(sides))
            for side in order:
                elapsed, used = _once(sides[side], env)
                wall[side].append(elapsed)
                if side == "uvmod":
                    cpu.append(used)
        med = {k: statistics.median(v) for k, v in wall.items()}
        rows.append(Row(m.label, med["scandir"], med["ls"], med["uvmod"], statistics.median(cpu)))
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="benchmarks/wheels_scale.py", description=__doc__)
    parser.add_argument("--files", type=int, default=50_000, help="wheel files to generate")
    parser.add_argument("--runs", type=int, default=5, help="timed runs of each command")
    parser.add_argument("--quick", action="store_true", help="5,000 files, 1 run")
    parser.add_argument("--keep", type=Path, help="generate into DIR and keep it")
    args = parser.parse_args(argv)
    files, runs = (5_000, 1) if args.quick else (args.files, args.runs)
    if files < 100 or runs < 1:
        parser.error("--files must be at least 100 and --runs at least 1")

    work = args.keep or Path(tempfile.mkdtemp(prefix="uvmod-wheels-scale-"))
    try:
        root = work / "wheelhouse"
        started = datetime.datetime.now(datetime.UTC)
        load = os.getloadavg()[0]
        t0 = time.perf_counter()
        counts = generate(root, files) if not root.is_dir() else _count(root)
        generated = time.perf_counter() - t0
        (work / "site.toml").write_text(_site_toml(root))
        uvmod = [sys.executable, "-m", "uvmod"]
        prefix = work / "prefix"
        subprocess.run(
            [
                *uvmod,
                "build-modulefiles",
                "--config",
                str(work / "site.toml"),
                "--prefix",
                str(prefix),
                "--uv",
                shutil.which("true") or "/bin/true",
            ],
            check=True,
            capture_output=True,
        )
        _requirements(work / "requirements.txt", root)
        # A real interpreter first on PATH, as `module load python` puts one (a pyenv shim
        # would add its own start-up to every run).
        python_bin = Path(os.path.realpath(sys.executable)).parent
        env = {
            "PATH": f"{python_bin}:{os.environ.get('PATH', os.defpath)}",
            "HOME": os.environ.get("HOME", str(work)),
            "LANG": "C.UTF-8",
            "UVMOD_HOME": str(prefix / "uv-hpc" / "1.0"),
            "UVMOD_ARCH": "avx2",
        }
        every = sorted({d for chain in CHAINS.values() for d in chain})
        imports = "import uvmod.cli, uvmod.commands.wheels, uvmod.sitefacts, rich.console"
        measures = [
            # The fixed part of every uvmod command: the interpreter and uvmod's imports.
            Measure("start-up (imports only)", [sys.executable, "-c", imports], CHAINS["avx2"]),
            Measure("uvmod wheels numpy", [*uvmod, "wheels", "numpy"], CHAINS["avx2"]),
            Measure(
                "uvmod wheels -r (20 requirements)",
                [*uvmod, "wheels", "-r", str(work / "requirements.txt")],
                CHAINS["avx2"],
            ),
            Measure("uvmod wheels --all-archs", [*uvmod, "wheels", "--all-archs"], every),
            Measure(
                "uvmod wheels --all-archs --json",
                [*uvmod, "wheels", "--all-archs", "--json"],
                every,
            ),
        ]
        rows = run_measures(measures, env, root, runs)
        total = sum(counts.values())
        print(f"# uvmod wheels on {total:,} wheel files ({len(counts)} directories)")
        print(
            f"date {started:%Y-%m-%d %H:%M} UTC · commit {commit()} · {machine()} · "
            f"Python {platform.python_version()} · load {load:.2f} → {os.getloadavg()[0]:.2f} · "
            f"{runs} runs (medians) · files generated in {generated:.1f} s"
        )
        print()
        print(
            "| command | baseline: os.scandir + print | ls -f | uvmod | ratio to scandir "
            "| uvmod CPU time |"
        )
        print("| --- | ---: | ---: | ---: | ---: | ---: |")
        for r in rows:
            print(
                f"| `{r.label}` | {r.scandir * 1000:.0f} ms | {r.ls * 1000:.0f} ms | "
                f"{r.uvmod * 1000:.0f} ms | {r.uvmod / r.scandir:.1f}x | "
                f"{r.uvmod_cpu * 1000:.0f} ms |"
            )
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)
    return 0


def _count(root: Path) -> dict[str, int]:
    """A kept wheelhouse is reused as it is (--keep with an existing DIR)."""
    counts = {}
    for directory in [*ARCH_DIRS, *GENERIC_DIRS, "generic"]:
        with os.scandir(root / directory) as entries:
            counts[directory] = sum(1 for _ in entries)
    return counts


if __name__ == "__main__":
    sys.exit(main())
