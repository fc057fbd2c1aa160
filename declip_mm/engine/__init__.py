"""Training / testing glue on mmengine: crash-safe checkpoints, exact resume, clear errors.

Importing registers ``DeCLIPCheckpointHook``, ``DeCLIPLossSyncHook`` and
``DeCLIPVocabularyCheckHook`` (root ``HOOKS``) and ``DeCLIPLoadImageFromFile`` (root
``TRANSFORMS``), usable from mmdet and mmseg configs (``configs/_base_/default_runtime_*.py``).
"""
from .checkpoint_hook import DeCLIPCheckpointHook
from .image_loading import DeCLIPLoadImageFromFile
from .loss_sync_hook import DeCLIPLossSyncHook
from .vocabulary_check_hook import DeCLIPVocabularyCheckHook

__all__ = ['DeCLIPCheckpointHook', 'DeCLIPLoadImageFromFile', 'DeCLIPLossSyncHook',
           'DeCLIPVocabularyCheckHook']
