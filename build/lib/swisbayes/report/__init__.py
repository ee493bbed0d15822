"""The decision-maker's report: figures, content and rendering."""
