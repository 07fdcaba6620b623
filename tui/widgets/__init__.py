"""Widgets of the app: layer table, settings form, dataset list, findings, curves, progress."""
