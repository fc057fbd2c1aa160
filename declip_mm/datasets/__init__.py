"""declip_mm datasets and transforms (importing registers them)."""
from . import ov_detection  # noqa: F401,E402
from . import segmentation  # noqa: F401,E402
from . import distill  # noqa: F401,E402
from . import ov_shapes  # noqa: F401,E402
