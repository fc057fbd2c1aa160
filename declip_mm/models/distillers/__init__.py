"""DeCLIP distillation: the distiller model, its losses and VFM teachers (its ensemble hook,
optimiser constructor and schedule live in ``declip_mm.engine``)."""
from .data_preprocessor import DeCLIPDistillDataPreprocessor
from .distiller import DeCLIPDistiller, copy_weights
from .gt_teacher import DeCLIPGTInstanceTeacher, gt_patch_features, instance_fractions
from .freezing import apply_distill_freezing, official_frozen_names
from .losses import (DeCLIPContentLoss, DeCLIPContextLoss, context_correlation_loss,
                     cosine_similarity_matrix, region_content_loss, roi_features,
                     student_context_similarity)
from .vfm_teachers import (DeCLIPDINOTeacher, DeCLIPDINOv2Teacher,
                           DeCLIPSAMTeacher, VFMTeacher)

__all__ = [
    'DeCLIPDistiller', 'DeCLIPDistillDataPreprocessor', 'DeCLIPContentLoss', 'DeCLIPContextLoss',
    'DeCLIPDINOv2Teacher', 'DeCLIPDINOTeacher', 'DeCLIPSAMTeacher', 'VFMTeacher',
    'DeCLIPGTInstanceTeacher', 'gt_patch_features', 'instance_fractions',
    'copy_weights',
    'region_content_loss', 'context_correlation_loss', 'cosine_similarity_matrix',
    'student_context_similarity', 'roi_features', 'official_frozen_names',
    'apply_distill_freezing'
]
