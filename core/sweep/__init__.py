"""Sweeps: many runs of one grid, run locally or as a SLURM job array, read as one experiment."""
