-- Debian 12's MPICH 4.0.2 (libmpich-dev) wrapped as a site would, for tests/test_real_mpi.py.
-- Debian's /usr/bin/mpicc and mpiexec are Open MPI's (alternatives), so this module puts MPICH's
-- own first (CMake's FindMPI, for one, looks next to mpiexec).
whatis("Name: mpich (Debian's libmpich-dev; uvmod test module)")
family("mpi")
local bin = pathJoin(myFileName():match("^(.*)/lmod/mpich/[^/]*$"), "bin", "mpich")
prepend_path("PATH", bin)
setenv("MPICC", pathJoin(bin, "mpicc"))
-- Real compiles of the real sdist, unoptimised to save test time (~10 s instead of ~55 s here).
setenv("CFLAGS", "-O0")
