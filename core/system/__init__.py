"""System state for a run: device choice (which GPU), NVML and psutil readings, the metrics sampler. No Keras."""
