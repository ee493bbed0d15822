"""Layer 6: evidence outside the trial: the pilot meta-analysis, the prior resolver and
summary-level re-analysis."""
