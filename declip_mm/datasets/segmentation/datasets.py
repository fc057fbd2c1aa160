"""Segmentation datasets that MMSegmentation 1.2 lacks, as thin ``BaseSegDataset`` subclasses.

mmseg already has VOC-21 (``PascalVOCDataset``), Context-60 (``PascalContextDataset``),
Context-59 (``PascalContextDataset59``), COCO-Stuff-171, Cityscapes and ADE-150; the configs
use those. Added here:

* ``DeCLIPPascalVOC20Dataset``: VOC without background (label 0 ignored, 1-20 -> 0-19).
* ``DeCLIPCOCOObjectDataset``: background + the 80 COCO things, labels ``*_instanceTrainIds.png``
  (``convert.coco_stuff_to_object`` writes them from COCO-Stuff-171 train-id maps).
* ``DeCLIPADE20K847Dataset`` / ``DeCLIPPascalContext459Dataset``: the full ADE20K (847) and
  PASCAL-Context (459) label sets, as prepared by CAT-Seg's ``datasets/prepare_ade20k_full.py`` /
  ``prepare_pascal_context_459.py`` (16-bit ``.tif`` maps, 65535 = unlabelled). Load their maps
  with ``DeCLIPLoadWideSegAnnotations`` (mmseg's loader casts labels to uint8) and evaluate with
  ``IoUMetric(ignore_index=65535)``: 255 is a real class in both.
"""
from typing import Any, Dict

from mmseg.datasets import BaseSegDataset, COCOStuffDataset, PascalVOCDataset
from mmseg.registry import DATASETS

from ...vocab import resolve_vocabulary, split_synonyms

WIDE_IGNORE_INDEX = 65535


class _ClassFileMeta:
    """Class-level ``METAINFO`` read on first access from a class-name file (no import-time I/O)."""

    def __init__(self, name: str):
        self.name = name

    def __get__(self, obj: Any, owner: type) -> Dict[str, tuple]:
        entries = resolve_vocabulary(self.name)
        return dict(classes=tuple('; '.join(split_synonyms(e)) for e in entries))


@DATASETS.register_module()
class DeCLIPPascalVOC20Dataset(BaseSegDataset):
    """PASCAL VOC 2012 with the 20 object classes only (background pixels are ignored)."""

    METAINFO = dict(classes=PascalVOCDataset.METAINFO['classes'][1:],
                    palette=PascalVOCDataset.METAINFO['palette'][1:])

    def __init__(self, ann_file: str = '', img_suffix: str = '.jpg',
                 seg_map_suffix: str = '.png', reduce_zero_label: bool = True, **kwargs):
        super().__init__(ann_file=ann_file, img_suffix=img_suffix,
                         seg_map_suffix=seg_map_suffix, reduce_zero_label=reduce_zero_label,
                         **kwargs)


@DATASETS.register_module()
class DeCLIPCOCOObjectDataset(BaseSegDataset):
    """COCO-Object: background (0) + the 80 COCO thing classes (1-80)."""

    METAINFO = dict(classes=('background',) + COCOStuffDataset.METAINFO['classes'][:80],
                    palette=[[0, 0, 0]] + COCOStuffDataset.METAINFO['palette'][:80])

    def __init__(self, img_suffix: str = '.jpg', seg_map_suffix: str = '_instanceTrainIds.png',
                 reduce_zero_label: bool = False, **kwargs):
        super().__init__(img_suffix=img_suffix, seg_map_suffix=seg_map_suffix,
                         reduce_zero_label=reduce_zero_label, **kwargs)


@DATASETS.register_module()
class DeCLIPADE20K847Dataset(BaseSegDataset):
    """ADE20K full (847 classes, CAT-Seg's ``ADE20K_2021_17_01`` validation split)."""

    METAINFO = _ClassFileMeta('catseg_ade847')

    def __init__(self, img_suffix: str = '.jpg', seg_map_suffix: str = '.tif',
                 reduce_zero_label: bool = False, ignore_index: int = WIDE_IGNORE_INDEX, **kwargs):
        super().__init__(img_suffix=img_suffix, seg_map_suffix=seg_map_suffix,
                         reduce_zero_label=reduce_zero_label, ignore_index=ignore_index, **kwargs)


@DATASETS.register_module()
class DeCLIPPascalContext459Dataset(BaseSegDataset):
    """PASCAL-Context full (459 classes, CAT-Seg's ``annotations_detectron2/pc459_val``)."""

    METAINFO = _ClassFileMeta('catseg_pc459')

    def __init__(self, img_suffix: str = '.jpg', seg_map_suffix: str = '.tif',
                 reduce_zero_label: bool = False, ignore_index: int = WIDE_IGNORE_INDEX, **kwargs):
        super().__init__(img_suffix=img_suffix, seg_map_suffix=seg_map_suffix,
                         reduce_zero_label=reduce_zero_label, ignore_index=ignore_index, **kwargs)
