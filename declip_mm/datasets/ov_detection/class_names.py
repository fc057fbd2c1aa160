"""Class lists of the open-vocabulary detection benchmarks and a resolver for vocabularies.

OV-COCO is the OVR-CNN split of COCO (Zareian et al., CVPR 2021) used by ViLD, F-VLM, CLIPSelf's
F-ViT and DeCLIP: 48 base classes with box annotations for training, 17 novel classes seen only
at test time; the other 15 COCO classes are dropped. The names are COCO's own (mmdet's
``CocoDataset.METAINFO['classes']``), the 65 kept ones in COCO category-id order so that mmdet's
``CocoDataset`` maps the converted annotation files (``tools/dataset_converters/coco2ov.py``) to
the same label indices. OV-LVIS keeps the 866 frequent + common LVIS v1 classes as base and the
337 rare ones as novel.

A *vocabulary* is given to the detector as one of

* a name registered here: ``'coco'`` (80), ``'ov_coco'`` (65), ``'ov_coco_base'`` (48),
  ``'ov_coco_novel'`` (17), ``'lvis_v1'`` (1203), ``'lvis_v1_base'`` (866),
  ``'lvis_v1_rare'`` (337);
* a path to a class-names file: ``.txt`` (one class per line; synonyms separated by ``'; '``)
  or ``.json`` (a list of names, or a dict with a ``classes`` list);
* a list / tuple of names.
"""
import json
import os.path as osp
from typing import List, Sequence, Tuple, Union

from ...utils.errors import ConfigError
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


NAMED_VOCABULARIES = {
    'coco': coco_classes,
    'ov_coco': ov_coco_classes,
    'ov_coco_base': lambda: OV_COCO_BASE_CLASSES,
    'ov_coco_novel': lambda: OV_COCO_NOVEL_CLASSES,
    'lvis_v1': lvis_v1_classes,
    'lvis_v1_base': lvis_v1_base_classes,
    'lvis_v1_rare': lambda: LVIS_V1_RARE_CLASSES,
}


def ov_coco_metainfo() -> dict:
    """``metainfo`` for mmdet's ``CocoDataset`` / ``OVCocoMetric`` on the 65-class split."""
    return dict(classes=ov_coco_classes(), base_classes=OV_COCO_BASE_CLASSES,
                novel_classes=OV_COCO_NOVEL_CLASSES)


def read_class_file(path: str) -> List[str]:
    """Class names from a ``.txt`` (one per line) or ``.json`` (list or ``{'classes': [...]}``)."""
    if not osp.isfile(path):
        raise ConfigError(f'class names file not found: {path} (give a .txt with one class per '
                          f'line, a .json list, a list of names, or one of '
                          f'{sorted(NAMED_VOCABULARIES)})')
    if path.endswith('.json'):
        with open(path, encoding='utf-8') as f:
            data = json.load(f)
        if isinstance(data, dict):
            data = data.get('classes')
        if not isinstance(data, list) or not all(isinstance(n, (str, list)) for n in data):
            raise ConfigError(f'{path}: expected a JSON list of class names or '
                              '{"classes": [...]}')
        return data
    with open(path, encoding='utf-8') as f:
        return [line.strip() for line in f if line.strip() and not line.startswith('#')]


def resolve_class_names(spec: Union[str, Sequence[str]]) -> List[str]:
    """A vocabulary spec (registered name, class-names file or list) -> list of names.

    Raises:
        ConfigError: unknown name, missing / malformed file, or an empty vocabulary.
    """
    if isinstance(spec, str):
        if spec in NAMED_VOCABULARIES:
            names = list(NAMED_VOCABULARIES[spec]())
        elif osp.splitext(spec)[1] in ('.txt', '.json') or osp.sep in spec:
            names = read_class_file(spec)
        else:
            raise ConfigError(f'unknown vocabulary {spec!r}: use one of '
                              f'{sorted(NAMED_VOCABULARIES)}, a .txt / .json class-names file '
                              'or a list of names')
    elif spec is None:
        raise ConfigError('vocabulary is empty: give at least one class name')
    else:
        names = list(spec)
    if not names:
        raise ConfigError(f'vocabulary is empty: {spec!r} gives no class names')
    return names
