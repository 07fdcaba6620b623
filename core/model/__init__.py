"""keraslab.core.model."""
