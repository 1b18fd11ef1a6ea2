-- Debian 12's Open MPI 4.1.4 (libopenmpi-dev) wrapped as a site would, for tests/test_real_mpi.py.
whatis("Name: openmpi (Debian's libopenmpi-dev; uvmod test module)")
family("mpi")
local bin = pathJoin(myFileName():match("^(.*)/lmod/openmpi/[^/]*$"), "bin", "openmpi")
prepend_path("PATH", bin)
setenv("MPICC", pathJoin(bin, "mpicc"))
-- Open MPI refuses to start as root (CI runs as root) without both of these.
setenv("OMPI_ALLOW_RUN_AS_ROOT", "1")
setenv("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
-- Real compiles of the real sdist, unoptimised to save test time (~10 s instead of ~55 s here).
setenv("CFLAGS", "-O0")
