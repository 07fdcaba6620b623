"""keraslab.core.tfevents."""
