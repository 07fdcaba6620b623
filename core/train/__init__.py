"""keraslab.core.train."""
