"""keraslab.tui: the command line and the Textual app; talks to keraslab.core's public API only."""
