#!/usr/bin/env bash
# The Cu example on 2 MPI ranks: the denoised coordinates equal the 1-rank run (to 1e-5 A).
set -euo pipefail
cd "$(dirname "$0")"
mpirun -np 2 lmp -in in.cu_hot -log none
