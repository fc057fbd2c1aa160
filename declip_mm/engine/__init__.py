"""Training / testing glue on mmengine: crash-safe checkpoints, exact resume, clear errors.

Importing registers ``DeCLIPCheckpointHook``, ``DeCLIPLossSyncHook``,
``DeCLIPEnsembleCheckpointHook``, ``DeCLIPVocabularyCheckHook`` (root ``HOOKS``),
``DeCLIPLoadImageFromFile`` (root ``TRANSFORMS``), ``DeCLIPDistillOptimWrapperConstructor`` and
``DeCLIPCosineAfterWarmupLR`` (mmengine's root registries), usable from mmdet and mmseg configs
(``configs/_base_/default_runtime_*.py`` names the hooks).
"""
from .checkpoint_hook import DeCLIPCheckpointHook
from .distill_optim_constructor import DeCLIPDistillOptimWrapperConstructor
from .ensemble_hook import DeCLIPEnsembleCheckpointHook, ensemble_state_dict
from .image_loading import DeCLIPLoadImageFromFile
from .loss_sync_hook import DeCLIPLossSyncHook
from .param_schedulers import DeCLIPCosineAfterWarmupLR
from .vocabulary_check_hook import DeCLIPVocabularyCheckHook

__all__ = ['DeCLIPCheckpointHook', 'DeCLIPLoadImageFromFile', 'DeCLIPLossSyncHook',
           'DeCLIPEnsembleCheckpointHook', 'ensemble_state_dict',
           'DeCLIPDistillOptimWrapperConstructor', 'DeCLIPCosineAfterWarmupLR',
           'DeCLIPVocabularyCheckHook']
