"""Insight into runs: what a model gets wrong (evaluation, confusion, samples), predictions, ensembles."""
