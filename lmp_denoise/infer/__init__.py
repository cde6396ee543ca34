"""Inference on ASE Atoms and on files: the length scale, the iteration, structure labels, MPI ranks."""
