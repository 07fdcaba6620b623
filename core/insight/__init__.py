"""Insight into runs: what the curves say (diagnosis), and what the model gets wrong."""
