-- Test stand-in for the real openmpi 4.1.5: sets what a build would see through mpicc/nvcc.
whatis("Name: openmpi (uvmod test module)")
family("mpi")
setenv("FAKE_MPI", "openmpi-4.1.5")
