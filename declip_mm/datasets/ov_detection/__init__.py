"""Open-vocabulary detection data: OV-COCO / OV-LVIS class lists and datasets (importing
registers ``DeCLIPOVCocoDataset`` and ``DeCLIPOVLVISDataset`` in mmdet's ``DATASETS``)."""
from .class_names import (NAMED_VOCABULARIES, OV_COCO_BASE_CLASSES, OV_COCO_NOVEL_CLASSES,
                          lvis_v1_base_classes, ov_coco_classes, ov_coco_metainfo,
                          resolve_class_names)
from .lvis_rare import LVIS_V1_RARE_CLASSES
from .ov_datasets import DeCLIPOVCocoDataset, DeCLIPOVLVISDataset

__all__ = [
    'NAMED_VOCABULARIES', 'OV_COCO_BASE_CLASSES', 'OV_COCO_NOVEL_CLASSES', 'LVIS_V1_RARE_CLASSES',
    'lvis_v1_base_classes', 'ov_coco_classes', 'ov_coco_metainfo', 'resolve_class_names',
    'DeCLIPOVCocoDataset', 'DeCLIPOVLVISDataset'
]
