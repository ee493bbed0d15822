"""Layer 2: decision quantities from draws, the decision rule and tipping points."""
