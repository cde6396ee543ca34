"""Where users meet other tools: the OVITO modifier and analysis, the LAMMPS plugin."""
