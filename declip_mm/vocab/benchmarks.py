"""Class lists of the open-vocabulary detection benchmarks (dataset facts).

OV-COCO is the OVR-CNN split of COCO (Zareian et al., CVPR 2021) used by ViLD, F-VLM, CLIPSelf's
F-ViT and DeCLIP: 48 base classes with box annotations for training, 17 novel classes seen only
at test time; the other 15 COCO classes are dropped. The names are COCO's own (mmdet's
``CocoDataset.METAINFO['classes']``), the 65 kept ones in COCO category-id order so that mmdet's
``CocoDataset`` maps the converted annotation files (``tools/dataset_converters/coco2ov.py``) to
the same label indices. OV-LVIS keeps the 866 frequent + common LVIS v1 classes as base and the
337 rare ones as novel (:mod:`.lvis_rare`).

``DETECTION_VOCABULARIES`` names these lists for :func:`declip_mm.vocab.resolve_vocabulary`.
"""
from typing import Callable, Dict, Tuple

from .lvis_rare import LVIS_V1_RARE_CLASSES

OV_COCO_BASE_CLASSES: Tuple[str, ...] = (
    'person', 'bicycle', 'car', 'motorcycle', 'train', 'truck', 'boat', 'bench', 'bird', 'horse',
    'sheep', 'bear', 'zebra', 'giraffe', 'backpack', 'handbag', 'suitcase', 'frisbee', 'skis',
    'kite', 'surfboard', 'bottle', 'fork', 'spoon', 'bowl', 'banana', 'apple', 'sandwich',
    'orange', 'broccoli', 'carrot', 'pizza', 'donut', 'chair', 'bed', 'toilet', 'tv', 'laptop',
    'mouse', 'remote', 'microwave', 'oven', 'toaster', 'refrigerator', 'book', 'clock', 'vase',
    'toothbrush')
"""The 48 OV-COCO base classes."""

OV_COCO_NOVEL_CLASSES: Tuple[str, ...] = (
    'airplane', 'bus', 'cat', 'dog', 'cow', 'elephant', 'umbrella', 'tie', 'snowboard',
    'skateboard', 'cup', 'knife', 'cake', 'couch', 'keyboard', 'sink', 'scissors')
"""The 17 OV-COCO novel classes."""


def coco_classes() -> Tuple[str, ...]:
    """The 80 COCO class names in category-id order (mmdet's ``CocoDataset``)."""
    from mmdet.datasets import CocoDataset
    return tuple(CocoDataset.METAINFO['classes'])


def lvis_v1_classes() -> Tuple[str, ...]:
    """The 1203 LVIS v1 class names in category-id order (mmdet's ``LVISV1Dataset``)."""
    from mmdet.datasets import LVISV1Dataset
    return tuple(LVISV1Dataset.METAINFO['classes'])


def ov_coco_classes() -> Tuple[str, ...]:
    """The 65 OV-COCO classes (base + novel) in COCO category-id order."""
    keep = set(OV_COCO_BASE_CLASSES) | set(OV_COCO_NOVEL_CLASSES)
    return tuple(c for c in coco_classes() if c in keep)


def lvis_v1_base_classes() -> Tuple[str, ...]:
    """The 866 frequent + common LVIS v1 classes (OV-LVIS base), in category-id order."""
    rare = set(LVIS_V1_RARE_CLASSES)
    return tuple(c for c in lvis_v1_classes() if c not in rare)


DETECTION_VOCABULARIES: Dict[str, Callable[[], Tuple[str, ...]]] = {
    'coco': coco_classes,
    'ov_coco': ov_coco_classes,
    'ov_coco_base': lambda: OV_COCO_BASE_CLASSES,
    'ov_coco_novel': lambda: OV_COCO_NOVEL_CLASSES,
    'lvis_v1': lvis_v1_classes,
    'lvis_v1_base': lvis_v1_base_classes,
    'lvis_v1_rare': lambda: LVIS_V1_RARE_CLASSES,
}
"""Builtin detection vocabularies: name -> function returning the class names."""
