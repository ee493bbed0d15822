"""Layer 1: NumPy-only kernels (weighted shares and quantiles, importance sampling, ranks,
predictive-check statistics)."""
