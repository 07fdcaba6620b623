"""Browsing runs: discovery (summaries, states, the watcher, the resolver), summary cache, filters and columns, curves, export."""
