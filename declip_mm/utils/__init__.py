"""Helpers shared by declip_mm's components and tools."""
from .errors import CheckpointError, ConfigError, DataError, DeCLIPError
from .safe_load import register_checkpoint_types, safe_torch_load

__all__ = ['DeCLIPError', 'CheckpointError', 'ConfigError', 'DataError',
           'register_checkpoint_types', 'safe_torch_load']
