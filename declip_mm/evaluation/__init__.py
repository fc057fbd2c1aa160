"""declip_mm metrics (importing registers them)."""
