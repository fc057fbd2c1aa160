"""Errors declip_mm raises for user mistakes: one line, naming the file or the field."""


class DeCLIPError(Exception):
    """Base of declip_mm's user-facing errors (printed without a traceback by the tools)."""


class CheckpointError(DeCLIPError):
    """A checkpoint file is missing, unsafe, or does not fit the model."""


class ConfigError(DeCLIPError):
    """A config field or a vocabulary is invalid."""


class DataError(DeCLIPError):
    """A dataset root, annotation file or image is missing or unreadable."""
