"""lmp-denoise: score-based denoising of atomistic snapshots (Hsu et al., npj Comput Mater 2024)."""

__version__ = "0.4.0"
