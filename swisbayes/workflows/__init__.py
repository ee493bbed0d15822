"""Layer 7: batch work on one engine: prior grids, operating characteristics, SBC and the
report's multi-prior analyses."""
