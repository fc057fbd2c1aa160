"""``DeCLIPVocabularyCheckHook``: the model's vocabulary must be the dataset's class list.

An open-vocabulary model labels its outputs by position in its own vocabulary, while the
dataset's annotations and metric count by position in ``dataset.metainfo['classes']``. When the
two lists differ in length, training fails later with an ``IndexError``; when they hold the same
names in another order, training and evaluation run silently on wrong labels. Before training,
validation and testing this hook compares them and refuses a mismatch in one line:

* **count**: the lists have different lengths;
* **order**: the entry at some position is not the dataset's class there, but is the dataset's
  class at another position (a permutation). Entries are compared case-insensitively, ``_`` as a
  space, and an entry matches if any of its synonyms (``'person; human'``) does, so a vocabulary
  that words a class differently (``'tv'`` for ``'television'``) is not refused. A vocabulary
  with duplicated names is left to the model's own check (it names the duplicates).

``allow_mismatch=True`` says the mismatch is intended (e.g. a dataset evaluated with a
deliberately different vocabulary). Models that take their vocabulary from the data samples'
``text`` are not checked. Named in ``configs/_base_/default_runtime_*.py``.
"""
import re
from typing import List, Optional, Sequence

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from ..registry import HOOKS
from ..utils.errors import ConfigError


def _synonyms(entry) -> List[str]:
    parts = entry if isinstance(entry, (list, tuple)) else re.split(r'[;,]', str(entry))
    return [' '.join(str(p).replace('_', ' ').lower().split()) for p in parts if str(p).strip()]


def vocabulary_problem(vocabulary: Sequence, classes: Sequence[str]) -> Optional[str]:
    """Why ``vocabulary`` does not label ``classes`` (count or order), or ``None``."""
    if len(vocabulary) != len(classes):
        return (f'the model vocabulary has {len(vocabulary)} entries, the dataset '
                f'{len(classes)} classes')
    firsts = [(_synonyms(e) or [''])[0] for e in vocabulary]
    if len(set(firsts)) < len(firsts):
        return None  # duplicated names: the model's own vocabulary check says so, more precisely
    wanted = [_synonyms(c)[0] if _synonyms(c) else '' for c in classes]
    position = {name: i for i, name in enumerate(wanted)}
    for i, entry in enumerate(vocabulary):
        names = _synonyms(entry)
        if wanted[i] in names:
            continue
        elsewhere = [position[n] for n in names if n in position]
        if elsewhere:
            return (f"the model vocabulary is in another order: entry {i} is '{names[0]}', "
                    f"the dataset's class {i} is '{classes[i]}' ('{names[0]}' is its class "
                    f'{elsewhere[0]})')
    return None


def model_vocabulary(model, stage: str) -> Optional[list]:
    """The vocabulary ``model`` labels with in ``stage`` ('train' or 'test'), or ``None`` for
    models without one (or that read it from the data samples)."""
    model = model.module if is_model_wrapper(model) else model
    vocab = getattr(model, 'vocabulary', None)
    if hasattr(vocab, 'names'):  # DeCLIPFViT
        test = getattr(model, 'test_vocabulary', None)
        return list(test if stage == 'test' and test else vocab.names)
    if stage == 'test' and getattr(model, 'test_entries', None) is not None:  # DeCLIPCATSeg
        return list(model.test_entries)
    names, index = getattr(model, 'train_names', None), getattr(model, 'train_index', None)
    if stage == 'train' and names is not None and index is not None:
        first = {}
        for name, group in zip(names, [int(i) for i in index]):
            first.setdefault(group, name)
        return [first[g] for g in sorted(first)]
    if getattr(model, 'class_names', None) is not None:  # training-free segmentor
        return list(model.class_names)
    return None


def dataset_classes(dataset) -> Optional[list]:
    """``dataset.metainfo['classes']`` (``None`` when absent or labelled by text prompts)."""
    meta = getattr(dataset, 'metainfo', None) or {}
    if getattr(dataset, 'return_classes', False):
        return None
    classes = meta.get('classes')
    return list(classes) if classes else None


@HOOKS.register_module()
class DeCLIPVocabularyCheckHook(Hook):
    """Refuse a model vocabulary that does not match the dataset's classes (count or order).

    Args:
        allow_mismatch: skip the check (the mismatch is intended).
    """

    priority = 'VERY_HIGH'

    def __init__(self, allow_mismatch: bool = False) -> None:
        self.allow_mismatch = allow_mismatch

    def _check(self, runner, loader_name: str, dataloader, stage: str) -> None:
        if self.allow_mismatch or dataloader is None:
            return
        vocab = model_vocabulary(runner.model, stage)
        classes = dataset_classes(getattr(dataloader, 'dataset', None))
        if vocab is None or classes is None:
            return
        problem = vocabulary_problem(vocab, classes)
        if problem:
            raise ConfigError(f'{loader_name}.dataset: {problem}; fix the model vocabulary or the '
                              'dataset classes, or set allow_mismatch=True on '
                              'DeCLIPVocabularyCheckHook if this is intended')

    def before_train(self, runner) -> None:
        self._check(runner, 'train_dataloader', runner.train_dataloader, 'train')

    def before_val(self, runner) -> None:
        self._check(runner, 'val_dataloader', runner.val_loop.dataloader, 'test')

    def before_test(self, runner) -> None:
        self._check(runner, 'test_dataloader', runner.test_loop.dataloader, 'test')
