"""Layer 4: figures drawn from plain arrays and fit results (each returns a Figure, accepts ax=)."""
