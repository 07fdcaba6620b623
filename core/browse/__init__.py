"""keraslab.core.browse."""
