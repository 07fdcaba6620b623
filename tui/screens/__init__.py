"""Screens of the runs browser: runs table, run detail, compare (pushed by the app or `keraslab browse`)."""
