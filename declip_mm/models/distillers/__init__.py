"""DeCLIP distillation: the distiller model, its losses, VFM teachers and the ensemble hook."""
from .data_preprocessor import (CLIP_MEAN, CLIP_STD, IMAGENET_MEAN, IMAGENET_STD,
                                DeCLIPDistillDataPreprocessor)
from .distiller import DeCLIPDistiller, copy_weights
from .ensemble import DeCLIPEnsembleCheckpointHook, ensemble_state_dict
from .freezing import apply_distill_freezing, default_frozen_patterns, freeze_parameters
from .optim_constructor import DeCLIPDistillOptimWrapperConstructor
from .losses import (DeCLIPContentLoss, DeCLIPContextLoss, context_correlation_loss,
                     cosine_similarity_matrix, region_content_loss, roi_features,
                     student_context_similarity)
from .vfm_teachers import (VFM_PRESETS, DeCLIPDINOTeacher, DeCLIPDINOv2Teacher,
                           DeCLIPSAMTeacher, VFMTeacher)

__all__ = [
    'DeCLIPDistiller', 'DeCLIPDistillDataPreprocessor', 'DeCLIPContentLoss', 'DeCLIPContextLoss',
    'DeCLIPDINOv2Teacher', 'DeCLIPDINOTeacher', 'DeCLIPSAMTeacher', 'VFMTeacher', 'VFM_PRESETS',
    'DeCLIPEnsembleCheckpointHook', 'DeCLIPDistillOptimWrapperConstructor', 'ensemble_state_dict',
    'copy_weights',
    'region_content_loss', 'context_correlation_loss', 'cosine_similarity_matrix',
    'student_context_similarity', 'roi_features', 'default_frozen_patterns', 'freeze_parameters',
    'apply_distill_freezing', 'CLIP_MEAN', 'CLIP_STD', 'IMAGENET_MEAN', 'IMAGENET_STD'
]
