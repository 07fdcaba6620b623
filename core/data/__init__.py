"""keraslab.core.data."""
