"""Training data: reference lattices, amorphous packings, noisy copies, and MD snapshots to test on."""
