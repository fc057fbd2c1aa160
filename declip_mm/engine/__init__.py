"""Training / testing glue on mmengine: crash-safe checkpoints, exact resume, clear errors.

Importing registers ``DeCLIPCheckpointHook`` and ``DeCLIPLossSyncHook`` (root ``HOOKS``) and
``DeCLIPLoadImageFromFile`` (root ``TRANSFORMS``), usable from mmdet and mmseg configs.
"""
from .checkpoint_hook import DeCLIPCheckpointHook
from .image_loading import DeCLIPLoadImageFromFile
from .loss_sync_hook import DeCLIPLossSyncHook

__all__ = ['DeCLIPCheckpointHook', 'DeCLIPLoadImageFromFile', 'DeCLIPLossSyncHook']
