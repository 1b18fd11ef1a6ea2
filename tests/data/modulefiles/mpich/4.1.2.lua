-- Test stand-in for the real mpich 4.1.2: sets what a build would see through mpicc/nvcc.
whatis("Name: mpich (uvmod test module)")
family("mpi")
setenv("FAKE_MPI", "mpich-4.1.2")
