"""Insight into runs: what the curves say (diagnosis), what a model gets wrong (evaluation,
confusion, samples), predictions, ensembles, the architecture sketch and reports."""
