"""Layer 7: figures from results (each returns a Figure)."""
