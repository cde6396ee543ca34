"""MPI for the Python side: ranks share the frames of a trajectory (mpi4py, only under a launcher)."""

from __future__ import annotations

import os

LAUNCHER_SIZE = ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "MV2_COMM_WORLD_SIZE", "SLURM_NTASKS")


def world():
    """mpi4py's COMM_WORLD when this process is one of several MPI ranks, else None."""
    if not any(int(os.environ.get(name, "1") or 1) > 1 for name in LAUNCHER_SIZE):
        return None
    from mpi4py import MPI

    return MPI.COMM_WORLD if MPI.COMM_WORLD.size > 1 else None


def share_cores(comm) -> None:
    """Give each rank its share of the node's cores, unless OMP_NUM_THREADS says otherwise."""
    import torch
    from mpi4py import MPI

    if comm is None or "OMP_NUM_THREADS" in os.environ:
        return
    local = comm.Split_type(MPI.COMM_TYPE_SHARED)
    torch.set_num_threads(max(1, (os.cpu_count() or 1) // local.size))
    local.Free()
