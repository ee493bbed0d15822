"""Layer 2: priors on the effect as normal mixtures: the library, robustifying, ESS."""
