"""Layer 0: errors, defaults, config reading, atomic output, provenance and text formatting."""
