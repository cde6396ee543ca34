"""Snapshot files: text formats (LAMMPS dump, extended XYZ) and the compressed .ldz trajectories;
progress lines of long work on stderr."""
