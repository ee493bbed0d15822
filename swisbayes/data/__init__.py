"""Layer 1: trial data: schema, checks, school and pupil readers, simulation, published results."""
