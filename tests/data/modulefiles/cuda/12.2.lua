-- Test stand-in for the real cuda 12.2: sets what a build would see through mpicc/nvcc.
whatis("Name: cuda (uvmod test module)")
setenv("FAKE_CUDA", "cuda-12.2")
