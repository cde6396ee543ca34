"""Training data: reference lattices, noisy copies, and MD snapshots to test on."""
