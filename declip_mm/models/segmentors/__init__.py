"""Open-vocabulary segmentors: training-free DeCLIP segmentation and CAT-Seg with DeCLIP."""
from .catseg import DeCLIPCATSeg
from .catseg_aggregator import DeCLIPCATSegAggregator, cost_volume, select_classes
from .catseg_blocks import (ClassAggregation, GuidedSwinBlock, SpatialAggregation,
                            linear_attention, shifted_window_mask)
from .catseg_head import DeCLIPCATSegBCELoss, DeCLIPCATSegHead, one_hot_bce
from .catseg_text import DeCLIPCATSegTextEncoder
from .clip_weights import accept_clip_checkpoints, clip_to_segmentor
from .training_free import DeCLIPTrainingFreeSegmentor

__all__ = ['DeCLIPCATSeg', 'DeCLIPCATSegAggregator', 'DeCLIPCATSegBCELoss', 'DeCLIPCATSegHead',
           'DeCLIPCATSegTextEncoder', 'DeCLIPTrainingFreeSegmentor', 'ClassAggregation',
           'GuidedSwinBlock', 'SpatialAggregation', 'accept_clip_checkpoints',
           'clip_to_segmentor', 'cost_volume', 'linear_attention', 'one_hot_bce',
           'select_classes', 'shifted_window_mask']
