"""doctor's `cache_key.linked`: the libraries keyed packages link, against the loaded MPI/CUDA.

tests/test_real_mpi.py runs it on the real mpi4py built against real MPICH and Open MPI. These
tests cover the other branches cheaply with real ELF files compiled here: an extension compiled
by the real MPICH wrapper, CUDA-like libraries with the toolkit's sonames (there is no CUDA
toolkit in CI), a library shipped in the wheel and found through `$ORIGIN`, a missing and a
broken MPI wrapper. Each distribution is installed by hand into a real uv environment: a
dist-info with METADATA and RECORD, the way installers leave it.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import BuildPrefix
from tests.doctor.support import Report, loaded_env, make_project, real_venv, run_doctor
from tests.support import tools
from uvmod.doctor import linked
from uvmod.doctor.elf import read_dynamic
from uvmod.doctor.registry import Check

REAL_MPI = Path(__file__).parent.parent / "data" / "real-mpi"
CHECK = "cache_key.linked"
ONLY = [Check(CHECK, linked.check_linked)]


def gcc(*args: str | Path) -> None:
    subprocess.run([tools.program("gcc"), *map(str, args)], check=True, capture_output=True)


def shared_library(directory: Path, soname: str) -> Path:
    """A real shared library called `soname`, with the `lib<name>.so` link name beside it."""
    directory.mkdir(parents=True, exist_ok=True)
    source = directory / f"{soname}.c"
    source.write_text("int uvmod_test_symbol(void) { return 1; }\n")
    target = directory / soname
    gcc("-shared", "-fPIC", f"-Wl,-soname,{soname}", "-o", target, source)
    (directory / (soname.split(".so")[0] + ".so")).symlink_to(soname)
    return target


def extension(path: Path, *link: str | Path, compiler: str | None = None) -> Path:
    """A shared object calling into the library it links (MPI_Init with an MPI wrapper, the
    test library's symbol otherwise), so that the linker records it as needed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    source = path.with_suffix(".c")
    if compiler is None:
        source.write_text(
            "int uvmod_test_symbol(void);\n"
            "int uvmod_test_ext(void) { return uvmod_test_symbol(); }\n"
        )
    else:
        source.write_text("#include <mpi.h>\nint uvmod_test_ext(void) { return MPI_Init(0, 0); }\n")
    argv = ["-shared", "-fPIC", "-o", str(path), str(source), *map(str, link)]
    if compiler is None:
        gcc(*argv)
    else:
        subprocess.run([compiler, *argv], check=True, capture_output=True)
    return path


def install(env: Path, name: str, version: str, files: dict[str, Path]) -> None:
    """Put `files` (relative path in site-packages -> built file) into the environment as the
    installed distribution `name`, RECORD listing them."""
    (site,) = env.glob("lib/python*/site-packages")
    dist_info = site / f"{name}-{version}.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
    )
    for relative, built in files.items():
        (site / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(built, site / relative)
    rows = [f"{relative},," for relative in files] + [f"{dist_info.name}/RECORD,,"]
    (dist_info / "RECORD").write_text("\n".join(rows) + "\n")


class Setup:
    def __init__(self, tmp_path: Path, prefix: Path, modules: str = "uv-hpc") -> None:
        self.tmp = tmp_path
        self.project = make_project(tmp_path / "work" / "app")
        self.env_path = tmp_path / "env"
        self.environ = loaded_env(
            tmp_path,
            prefix,
            {"UV_PROJECT_ENVIRONMENT": str(self.env_path)},
            script=[f"module load {modules}"],
            modulepath=[REAL_MPI / "lmod"],
        )
        real_venv(tools.real_uv(), self.env_path, self.environ)

    def doctor(self, **changes: str | None) -> Report:
        # Only what the test gives: no nvcc or mpicc of this machine's /usr/local.
        environ = {**self.environ, "PATH": self.environ["PATH"].replace(":/usr/local/bin", "")}
        for variable, value in changes.items():
            if value is None:
                environ.pop(variable, None)
            else:
                environ[variable] = value
        return run_doctor(environ, cwd=self.project, checks=ONLY)


@pytest.fixture
def cuda_setup(tmp_path: Path, build_prefix: BuildPrefix) -> Setup:
    """The default site (cupy is keyed) and an environment whose cupy links libcudart.so.12."""
    setup = Setup(tmp_path, build_prefix())
    toolkit12 = tmp_path / "cuda-12.2"
    shared_library(toolkit12 / "lib64", "libcudart.so.12")
    shared_library(tmp_path / "cuda-11.8" / "lib64", "libcudart.so.11.0")
    ext = extension(tmp_path / "build" / "_core.so", f"-L{toolkit12 / 'lib64'}", "-lcudart")
    dynamic = read_dynamic(ext)
    assert dynamic is not None and "libcudart.so.12" in dynamic.needed
    install(setup.env_path, "cupy", "13.0.0", {"cupy/_core.cpython-311-x86_64-linux-gnu.so": ext})
    return setup


def test_cuda_library_of_the_loaded_toolkit_is_fine(cuda_setup: Setup) -> None:
    report = cuda_setup.doctor(CUDA_HOME=str(cuda_setup.tmp / "cuda-12.2"))
    assert report.check(CHECK)["status"] == "ok"
    assert "cupy links libcudart.so.12" in report.check(CHECK)["finding"]
    assert report.code == 0


def test_cuda_library_missing_from_the_loaded_toolkit_fails(cuda_setup: Setup) -> None:
    toolkit = cuda_setup.tmp / "cuda-11.8"
    report = cuda_setup.doctor(CUDA_HOME=str(toolkit))
    report.assert_found(
        CHECK,
        "fail",
        "a package links another MPI or CUDA than the one loaded: cupy 13.0.0 in this "
        f"environment links libcudart.so.12 but the loaded CUDA is the CUDA at {toolkit} "
        f"(not found in {toolkit / 'lib64'})",
        "uv cache clean cupy && uv sync --reinstall-package cupy",
    )
    assert report.code == 1


def test_cuda_library_without_any_cuda_warns(cuda_setup: Setup) -> None:
    report = cuda_setup.doctor(CUDA_HOME=None, PATH="/usr/bin:/bin")
    report.assert_found(
        CHECK,
        "warn",
        "cupy 13.0.0 in this environment links libcudart.so.12 but no CUDA is loaded",
        "load the MPI/CUDA modules",
    )
    assert report.code == 0
    # Found on LD_LIBRARY_PATH (a CUDA module that sets only that): fine.
    found = cuda_setup.doctor(LD_LIBRARY_PATH=str(cuda_setup.tmp / "cuda-12.2" / "lib64"))
    assert found.check(CHECK)["status"] == "ok"


def test_a_library_shipped_in_the_wheel_is_not_compared(
    tmp_path: Path, build_prefix: BuildPrefix
) -> None:
    """auditwheel-style: the extension finds libcudart through RUNPATH $ORIGIN/../cupy.libs."""
    setup = Setup(tmp_path, build_prefix())
    bundled = shared_library(tmp_path / "libs", "libcudart.so.12")
    ext = extension(
        tmp_path / "build" / "_core.so",
        f"-L{tmp_path / 'libs'}",
        "-lcudart",
        "-Wl,--enable-new-dtags,-rpath,$ORIGIN/../cupy.libs",
    )
    install(
        setup.env_path,
        "cupy",
        "13.0.0",
        {"cupy/_core.so": ext, "cupy.libs/libcudart.so.12": bundled},
    )
    report = setup.doctor(CUDA_HOME=None)
    assert report.check(CHECK)["status"] == "ok"
    assert "links MPI or CUDA" in report.check(CHECK)["finding"]


@pytest.fixture
def mpi_setup(tmp_path: Path, build_prefix: BuildPrefix) -> Setup:
    """The default site, MPICH loaded, and an environment whose mpi4py was compiled by MPICH's
    real wrapper (a one-line C file: DT_NEEDED libmpich.so.12)."""
    tools.real_mpi()
    setup = Setup(tmp_path, build_prefix(), "mpich/4.0.2 uv-hpc")
    wrapper = str(REAL_MPI / "bin" / "mpich" / "mpicc")
    ext = extension(tmp_path / "build" / "MPI.so", compiler=wrapper)
    install(setup.env_path, "mpi4py", "3.1.6", {"mpi4py/MPI.cpython-311-x86_64-linux-gnu.so": ext})
    return setup


def test_real_mpi_wrappers_give_their_sonames() -> None:
    tools.real_mpi()
    for name, expected in (("mpich", {"libmpich.so.12"}), ("openmpi", {"libmpi.so.40"})):
        environ = {"PATH": f"{REAL_MPI / 'bin' / name}:/usr/bin:/bin"}
        mpi = linked.loaded_mpi(environ, name)
        assert mpi is not None and mpi.sonames == expected, mpi


def test_mpi_of_the_loaded_module_is_fine(mpi_setup: Setup) -> None:
    report = mpi_setup.doctor()
    assert report.check(CHECK)["status"] == "ok"
    assert "mpi4py links libmpich.so.12 (mpich/4.0.2)" in report.check(CHECK)["finding"]


def test_mpi_from_another_wrapper_on_path_fails(mpi_setup: Setup) -> None:
    """Without an MPI module, the MPI is what `mpicc` on PATH links (here Open MPI's)."""
    wrapper = REAL_MPI / "bin" / "openmpi" / "mpicc"
    report = mpi_setup.doctor(MPICC=str(wrapper), LMOD_FAMILY_MPI=None, MODULES_FAMILY_MPI=None)
    report.assert_found(
        CHECK,
        "fail",
        "mpi4py 3.1.6 in this environment links libmpich.so.12 but the loaded MPI is the MPI "
        f"of {wrapper} (its mpicc links libmpi.so.40)",
        "uv cache clean mpi4py && uv sync --reinstall-package mpi4py",
    )


def test_mpi_without_any_wrapper_warns(mpi_setup: Setup, tmp_path: Path) -> None:
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    report = mpi_setup.doctor(MPICC=None, PATH=str(empty))
    report.assert_found(
        CHECK,
        "warn",
        "mpi4py 3.1.6 in this environment links libmpich.so.12 but no MPI is loaded",
        "load the MPI/CUDA modules",
    )


def test_mpi_wrapper_without_a_link_line_warns(mpi_setup: Setup, tmp_path: Path) -> None:
    """A compiler wrapper that knows neither -show nor --showme: not compared, and said so."""
    broken = tmp_path / "broken" / "mpicc"
    broken.parent.mkdir()
    broken.write_text('#!/bin/sh\necho "unknown option $1" >&2\nexit 1\n')
    broken.chmod(0o755)
    report = mpi_setup.doctor(MPICC=str(broken))
    report.assert_found(
        CHECK,
        "warn",
        f"links libmpich.so.12; not compared with mpich/4.0.2: `{broken} -show` exited 1; "
        f"`{broken} --showme` exited 1",
        "load the MPI/CUDA modules",
    )


def test_link_line_resolution() -> None:
    """-L directories first, then the defaults; -L with a separate argument; .so by path."""
    tools.real_mpi()
    multiarch = Path("/usr/lib/x86_64-linux-gnu")
    tokens = ["gcc", "-L", str(multiarch / "openmpi" / "lib"), "-lmpi", "-lm"]
    sonames = linked.link_line_sonames(tokens, [multiarch])
    # libm.so is a linker script on Debian, not ELF: its file name stands.
    assert sonames == {"libmpi.so.40", "libm.so"}
    direct = linked.link_line_sonames(["cc", str(multiarch / "libmpich.so")], [])
    assert direct == {"libmpich.so.12"}


def test_the_activated_environment_is_checked_too(
    tmp_path: Path, build_prefix: BuildPrefix
) -> None:
    """`uv pip` installs into $VIRTUAL_ENV and never rebuilds on its own after a swap: an
    environment activated under MPICH, looked at after a swap to Open MPI."""
    tools.real_mpi()
    setup = Setup(tmp_path, build_prefix(), "openmpi/4.1.4 uv-hpc")
    ext = extension(tmp_path / "build" / "MPI.so", compiler=str(REAL_MPI / "bin/mpich/mpicc"))
    install(setup.env_path, "mpi4py", "3.1.6", {"mpi4py/MPI.cpython-311-x86_64-linux-gnu.so": ext})
    report = run_doctor(
        {
            **setup.environ,
            "VIRTUAL_ENV": str(setup.env_path),
            "UV_PROJECT_ENVIRONMENT": str(tmp_path / "elsewhere"),
        },
        cwd=setup.project,
        checks=[*ONLY, Check("cache_key.active_linked", linked.check_active_linked)],
    )
    assert report.check(CHECK)["finding"] == "no project environment to look at"
    report.assert_found(
        "cache_key.active_linked",
        "fail",
        "mpi4py 3.1.6 in this environment links libmpich.so.12 but the loaded MPI is "
        "openmpi/4.1.4 (its mpicc links libmpi.so.40)",
        "uv cache clean mpi4py && uv pip install --reinstall-package mpi4py mpi4py==3.1.6",
    )
