"""declip_mm models: importing this registers every model component."""
from . import backbones, detectors, distillers, layers, segmentors, text  # noqa: F401
