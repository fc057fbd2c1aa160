"""Errors declip_mm raises for user mistakes: one line, naming the file or the field."""


class DeCLIPError(Exception):
    """Base of declip_mm's user-facing errors (printed without a traceback by the tools)."""


class CheckpointError(DeCLIPError):
    """A checkpoint file is missing, unsafe, or does not fit the model."""


class ConfigError(DeCLIPError, ValueError):
    """A config field or a vocabulary is invalid (also a ``ValueError``)."""


class DataError(DeCLIPError, ValueError):
    """A dataset root, annotation file or image is missing, unreadable or unusable."""
