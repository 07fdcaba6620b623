"""Widgets shared by the screens: tables, curve plots, choices, buttons, forms, footer, progress, findings."""
