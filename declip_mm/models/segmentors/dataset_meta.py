"""``dataset_meta`` of the open-vocabulary segmentors, kept in step with their vocabulary.

mmseg's drawing tools (``MMSegInferencer``, ``show_result_pyplot``, ``SegLocalVisualizer``)
read ``model.dataset_meta`` (``classes`` + ``palette``); ``init_model`` and the inferencer
overwrite it with a checkpoint's classes or Cityscapes' when the file holds none. For a model
whose classes are whatever vocabulary it was last given, the vocabulary is the only truth:
the property below always answers with it, and a palette is kept only when it fits.
"""
from typing import List, Optional, Sequence, Tuple

import numpy as np


def vocabulary_palette(num_classes: int, seed: int = 42) -> List[Tuple[int, int, int]]:
    """A fixed pseudo-random RGB colour per class, for any number of classes.

    Args:
        num_classes: C.
        seed: the same seed gives the same colours (mmseg's datasets use 42 as well).

    Returns:
        C ``(r, g, b)`` tuples of ints in [0, 255).
    """
    rng = np.random.RandomState(seed)
    return [tuple(int(c) for c in rgb) for rgb in rng.randint(0, 255, size=(num_classes, 3))]


class VocabularyMeta:
    """Mixin for segmentors with a ``vocabulary`` property (one entry per output class).

    ``dataset_meta['classes']`` is the vocabulary as given (``'kitten; cat'`` stays one entry),
    ``dataset_meta['palette']`` the palette last assigned together with exactly these classes
    (e.g. a checkpoint's meta), otherwise ``vocabulary_palette``. Assigning ``dataset_meta``
    (as ``init_model`` and ``MMSegInferencer`` do, with a guessed dataset or Cityscapes when a
    checkpoint names no classes) cannot change the classes: use ``set_vocabulary``.
    """

    _assigned_meta: Optional[Tuple[tuple, Sequence]] = None

    @property
    def vocabulary(self) -> List[str]:  # pragma: no cover - provided by the segmentor
        raise NotImplementedError

    @property
    def num_classes(self) -> int:
        """C: entries of the current vocabulary."""
        return len(self.vocabulary)

    @property
    def dataset_meta(self) -> dict:
        """``{'classes': tuple of C entries, 'palette': C RGB triples}``."""
        classes = tuple(self.vocabulary)
        assigned = self._assigned_meta
        if assigned is not None and assigned[0] == classes:
            palette = assigned[1]
        else:
            palette = vocabulary_palette(len(classes))
        return dict(classes=classes, palette=[tuple(c) for c in palette])

    @dataset_meta.setter
    def dataset_meta(self, meta: Optional[dict]) -> None:
        meta = meta or {}
        classes, palette = tuple(meta.get('classes') or ()), meta.get('palette')
        fits = palette is not None and len(palette) == len(classes)
        self._assigned_meta = (classes, palette) if fits else None
