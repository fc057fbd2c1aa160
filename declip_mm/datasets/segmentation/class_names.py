"""Class-name files for open-vocabulary segmentation (package data under ``class_names/``).

One class per line; a line may list synonyms separated by ``'; '`` (the training-free segmentor
scores a class by the max over its synonyms, CAT-Seg encodes the first one unless told
otherwise). Provenance of the lists (names are dataset facts):

* training-free sets (``voc21``, ``voc20``, ``context60``, ``context59``, ``coco_object``,
  ``coco_stuff171``, ``ade150``, ``cityscapes``): the class files of the SCLIP / ClearCLIP /
  DeCLIP-ZSSS harness (``configs/cls_*.txt``), ``', '`` separators rewritten as ``'; '``. The
  first line of ``voc21`` / ``coco_object`` is the background as a group of stuff words.
* CAT-Seg sets (``catseg_*``): KU-CVLAB/CAT-Seg ``datasets/*.json`` (MIT licence), alternative
  names (``', '``) rewritten as ``'; '``. ``catseg_voc21`` is CAT-Seg's "VOC-20b": line 0 groups
  the 39 PASCAL-Context classes that are not VOC classes as the background, lines 1-20 are VOC.
"""
import os.path as osp
from functools import lru_cache
from typing import List, Sequence, Tuple, Union

from ...utils.errors import ConfigError

CLASS_NAME_DIR = osp.join(osp.dirname(osp.abspath(__file__)), 'class_names')
ClassNames = Union[str, Sequence[str]]


def builtin_class_files() -> List[str]:
    """Names of the class-name files shipped with declip_mm (without ``.txt``)."""
    import os
    return sorted(f[:-4] for f in os.listdir(CLASS_NAME_DIR) if f.endswith('.txt'))


@lru_cache(maxsize=64)
def _read_lines(path: str) -> Tuple[str, ...]:
    with open(path, encoding='utf-8') as f:
        lines = tuple(ln.strip() for ln in f.read().splitlines())
    lines = tuple(ln for ln in lines if ln)
    if not lines:
        raise ConfigError(f'class-name file {path} is empty')
    return lines


def load_class_names(spec: ClassNames) -> List[str]:
    """Resolve a vocabulary: a builtin file name (``'voc21'``), a ``.txt`` path, or a list.

    Returns:
        one entry per class; an entry may hold ``'; '``-separated synonyms.
    """
    if isinstance(spec, str):
        path = spec if osp.isfile(spec) else osp.join(CLASS_NAME_DIR, f'{spec}.txt')
        if not osp.isfile(path):
            raise ConfigError(f'unknown class names {spec!r}: not a file and not one of '
                              f'{builtin_class_files()}')
        return list(_read_lines(osp.abspath(path)))
    names = [str(n).strip() for n in spec]
    if not names or not all(names):
        raise ConfigError(f'class names must be a non-empty list of non-empty strings: {spec!r}')
    return names


def first_names(entries: Sequence[str]) -> Tuple[str, ...]:
    """``['building; edifice', 'sky']`` -> ``('building', 'sky')`` (dataset ``METAINFO`` use)."""
    return tuple(e.split('; ')[0].strip() for e in entries)
