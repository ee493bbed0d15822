"""Layer 4: one object per outcome kind: its PyMC model, effects, decisions, simulation."""
