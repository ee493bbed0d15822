"""Layer 3: analysis specifications and the other input files, as validated pure data."""
