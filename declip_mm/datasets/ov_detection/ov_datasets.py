"""OV-COCO / OV-LVIS datasets: mmdet's ``CocoDataset`` / ``LVISV1Dataset`` with the split's
metainfo and a data check that names the expected tree and the converter command.

Only two things are added to mmdet's classes:

* ``DeCLIPOVCocoDataset`` defaults its ``metainfo`` to the 65 OV-COCO classes with their
  ``base_classes`` / ``novel_classes`` (what mmdet's ``OVCocoMetric`` reads);
* both check, before reading, that the annotation file and the image folder exist, and raise
  one ``DataError`` otherwise; ``missing_data_hint(data_root)`` gives the expected tree and the
  converter command (for tools that check data roots before building).
"""
import os.path as osp
from typing import List

from mmdet.datasets import CocoDataset, LVISV1Dataset
from mmdet.registry import DATASETS

from ...utils.errors import DataError
from ...vocab import (LVIS_V1_RARE_CLASSES, OV_COCO_BASE_CLASSES, OV_COCO_NOVEL_CLASSES,
                      ov_coco_classes)

OV_COCO_TREE = ('{root}train2017/, {root}val2017/, {root}annotations/instances_train2017.json, '
                '{root}annotations/instances_val2017.json and the split files '
                '{root}zero-shot/instances_train2017_seen_2_65_cat.json, '
                '{root}zero-shot/instances_val2017_all_2.json')
OV_COCO_CONVERT = 'python tools/dataset_converters/coco2ov.py {root}'
OV_LVIS_TREE = ('{root}train2017/, {root}val2017/, {root}annotations/lvis_v1_train.json, '
                '{root}annotations/lvis_v1_val.json and the split file '
                '{root}annotations/lvis_v1_train_norare.json')
OV_LVIS_CONVERT = 'python tools/dataset_converters/lvis2ov.py {root}'


def data_hint(root: str, tree: str, convert: str) -> str:
    """``'Expected <tree>; ... make the split files with: <command>'`` for ``root``."""
    root = root or ''
    root = root if not root or root.endswith('/') else root + '/'
    return (f'Expected {tree.format(root=root)}; put the images and annotations there and make '
            f'the split files with: {convert.format(root=root or ".")}')


def check_data_tree(dataset, name: str) -> None:
    """Raise one ``DataError`` if the annotation file or image folder of ``dataset`` is missing.

    Remote backends (``backend_args`` set) are not checked.
    """
    if getattr(dataset, 'backend_args', None):
        return
    missing: List[str] = []
    if dataset.ann_file and not osp.isfile(dataset.ann_file):
        missing.append(dataset.ann_file)
    img_dir = dataset.data_prefix.get('img', '') if dataset.data_prefix else ''
    if img_dir and not osp.isdir(img_dir):
        missing.append(img_dir)
    if missing:
        raise DataError(f'{name} data not found ({", ".join(missing)}). '
                        f'{dataset.missing_data_hint(dataset.data_root)}')


@DATASETS.register_module()
class DeCLIPOVCocoDataset(CocoDataset):
    """COCO with the OV-COCO 48 base / 17 novel split (65 classes in COCO id order).

    Use the files written by ``tools/dataset_converters/coco2ov.py``: training annotations of
    the base classes only, all 65 categories listed (so labels are the same in training and
    test). Works with ``OVCocoMetric`` (``base_ap50`` / ``novel_ap50``, ``bbox_mAP_50`` over all
    65 classes).
    """
    METAINFO = dict(
        classes=ov_coco_classes(),
        base_classes=OV_COCO_BASE_CLASSES,
        novel_classes=OV_COCO_NOVEL_CLASSES,
        palette=[CocoDataset.METAINFO['palette'][CocoDataset.METAINFO['classes'].index(c)]
                 for c in ov_coco_classes()])

    @staticmethod
    def missing_data_hint(data_root: str) -> str:
        """What to do when the data under ``data_root`` is missing (tree + converter)."""
        return data_hint(data_root, OV_COCO_TREE, OV_COCO_CONVERT)

    def load_data_list(self) -> List[dict]:
        check_data_tree(self, 'OV-COCO')
        return super().load_data_list()


@DATASETS.register_module()
class DeCLIPOVLVISDataset(LVISV1Dataset):
    """LVIS v1 for OV-LVIS (rare classes novel); adds ``base_classes`` / ``novel_classes`` to
    the metainfo and the data check. Train on ``lvis_v1_train_norare.json``
    (``tools/dataset_converters/lvis2ov.py``)."""
    METAINFO = dict(
        LVISV1Dataset.METAINFO,
        base_classes=tuple(c for c in LVISV1Dataset.METAINFO['classes']
                           if c not in set(LVIS_V1_RARE_CLASSES)),
        novel_classes=LVIS_V1_RARE_CLASSES)

    @staticmethod
    def missing_data_hint(data_root: str) -> str:
        """What to do when the data under ``data_root`` is missing (tree + converter)."""
        return data_hint(data_root, OV_LVIS_TREE, OV_LVIS_CONVERT)

    def load_data_list(self) -> List[dict]:
        check_data_tree(self, 'OV-LVIS')
        return super().load_data_list()
