"""Training: the denoising score-matching loop with resumable checkpoints."""
