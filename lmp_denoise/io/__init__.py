"""Snapshot files: text formats (LAMMPS dump, extended XYZ) and the compressed .ldz trajectories."""
