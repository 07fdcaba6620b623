"""The run directory: its file names (layout), kind, checked JSON files, writer, reader, notes/tags/archive, metric stats; imports tfevents, never browse."""
