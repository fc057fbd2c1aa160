"""DeCLIP F-ViT: open-vocabulary two-stage detection on a frozen DeCLIP ViT (mmdet 3.x).

Importing registers ``DeCLIPFViT`` (detector), ``DeCLIPPyramidAdapter`` (neck),
``DeCLIPFViTRoIHead``, ``DeCLIPOVBBoxHead``, ``DeCLIPOVTransferBBoxHead`` and
``DeCLIPNormRPNHead`` in mmdet's ``MODELS``.
"""
from .fusion import fuse_ov_scores, region_text_probabilities
from .fvit import DeCLIPFViT
from .fvit_roi_head import DeCLIPFViTRoIHead
from .norm_rpn_head import DeCLIPNormRPNHead
from .ov_bbox_head import DeCLIPOVBBoxHead, DeCLIPOVTransferBBoxHead
from .ov_classifier import class_loss_weights, cosine_class_logits, mask_zero_weight_logits
from .pyramid_adapter import DeCLIPPyramidAdapter
from .vocabulary import DeCLIPVocabulary

__all__ = [
    'DeCLIPFViT', 'DeCLIPFViTRoIHead', 'DeCLIPOVBBoxHead', 'DeCLIPOVTransferBBoxHead',
    'DeCLIPNormRPNHead', 'DeCLIPPyramidAdapter',
    'DeCLIPVocabulary', 'fuse_ov_scores', 'region_text_probabilities', 'class_loss_weights',
    'cosine_class_logits', 'mask_zero_weight_logits'
]
