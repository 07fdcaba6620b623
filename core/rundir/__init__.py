"""keraslab.core.rundir."""
