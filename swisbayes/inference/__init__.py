"""Layer 5: sampling with the diagnostics gate, compile cache, reweighting, results and model
criticism (predictive checks, PSIS-LOO, comparison)."""
