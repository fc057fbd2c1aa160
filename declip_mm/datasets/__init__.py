"""declip_mm datasets and transforms (importing registers them)."""
