"""Helpers shared by declip_mm's components and tools."""
from .errors import CheckpointError, ConfigError, DataError, DeCLIPError

__all__ = ['DeCLIPError', 'CheckpointError', 'ConfigError', 'DataError']
