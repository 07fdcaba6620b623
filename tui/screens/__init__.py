"""Screens of the app (launch, training, layer editor, help, confirm) and of the runs browser (runs table, run detail, compare)."""
