"""declip_mm metrics (importing registers them)."""
from . import region_cls  # noqa: F401,E402
