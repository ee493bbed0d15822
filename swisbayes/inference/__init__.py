"""Layer 5: sampling with the diagnostics gate, compile cache, reweighting and results."""
