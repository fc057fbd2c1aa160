"""Vocabulary specs -> class entries, and the one synonym rule.

A *vocabulary spec* is one of

* a builtin name: the detection lists of :mod:`.benchmarks` (``'coco'``, ``'ov_coco'``,
  ``'ov_coco_base'``, ``'ov_coco_novel'``, ``'lvis_v1'``, ``'lvis_v1_base'``,
  ``'lvis_v1_rare'``) or a class file shipped in ``class_names/`` (``'voc21'``, ``'ade150'``,
  ``'catseg_ade847'`` ..., see :func:`builtin_vocabularies`);
* a class file: ``.txt`` (one class a line; blank lines and lines starting with ``#``
  skipped) or ``.json`` (a list of entries, or ``{"classes": [...]}``);
* a comma-separated string, ``'cat, red car, kitten; cat'`` (classes split at ``,``);
* a Python list / tuple of entries.

An *entry* is one class: a string, or a list of synonyms. **The synonym rule** (everywhere in
declip_mm): a string entry holds its synonyms separated by ``;`` (``'person; man'``; the
DeCLIP / ClearCLIP segmentation class files write ``'; '``), a list entry holds one synonym per
item; each name is stripped and ``_`` becomes a space (LVIS names). The first synonym names the
class.

Provenance of the shipped class files (names are dataset facts):

* training-free sets ``voc21``, ``voc20``, ``context60``, ``context59``, ``coco_object``,
  ``coco_stuff171``, ``ade150``, ``cityscapes``: mc-lan/ClearCLIP ``configs/cls_*.txt``
  (commit ad68a40), the files DeCLIP's training-free segmentor reads (its
  ``configs/cfg_*.py`` name ``configs/cls_*.txt``; its parser splits lines at ``'; '``).
  ``voc21`` / ``coco_object`` start with the single word ``background``.
* ``sclip_voc21``, ``sclip_voc20``, ``sclip_coco_object``: the SCLIP / ProxyCLIP variants
  (``', '`` synonyms rewritten as ``'; '``): the background as a group of stuff words and
  synonyms of ``person`` / ``tvmonitor``. The other training-free lists are the same there.
* CAT-Seg sets ``catseg_*``: KU-CVLAB/CAT-Seg ``datasets/*.json`` (MIT licence), alternative
  names (``', '``) rewritten as ``'; '``. ``catseg_voc21`` is CAT-Seg's "VOC-20b": line 0
  groups the 39 PASCAL-Context classes that are not VOC classes as the background, lines 1-20
  are VOC. ``catseg_ade847`` repeats some names (distinct ADE classes sharing a name).
"""
import json
import os
import os.path as osp
from typing import List, Sequence, Union

from ..utils.errors import ConfigError
from .benchmarks import DETECTION_VOCABULARIES

Entry = Union[str, Sequence[str]]
VocabSpec = Union[str, Sequence[Entry]]

CLASS_NAME_DIR = osp.join(osp.dirname(osp.abspath(__file__)), 'class_names')
SYNONYM_SEPARATOR = ';'
CLASS_SEPARATOR = ','
CLASS_FILE_EXTENSIONS = ('.txt', '.json')


def split_synonyms(entry: Entry) -> List[str]:
    """The names of one class: ``'person; man'`` / ``['person', 'man']`` -> ``['person', 'man']``;
    ``'traffic_light'`` -> ``['traffic light']``.

    Raises:
        ConfigError: the entry holds no name.
    """
    parts = entry.split(SYNONYM_SEPARATOR) if isinstance(entry, str) else list(entry or [])
    names = [str(n).strip().replace('_', ' ') for n in parts if n is not None and str(n).strip()]
    if not names:
        raise ConfigError(f'empty class name in vocabulary: {entry!r}')
    return names


def entry_key(entry: Entry) -> str:
    """Canonical name of an entry (file lookups): its first synonym, lower-case."""
    return split_synonyms(entry)[0].lower()


def check_vocabulary(vocab: Sequence[Entry]) -> List[List[str]]:
    """Synonym groups of a vocabulary; rejects an empty vocabulary, empty entries and duplicated
    class names (first synonyms; classes may share other synonyms, as real class files do).

    Raises:
        ConfigError: one line naming the problem.
    """
    if vocab is None or len(vocab) == 0:
        raise ConfigError('vocabulary is empty: give at least one class name')
    groups = [split_synonyms(v) for v in vocab]
    firsts = [g[0].lower() for g in groups]
    dup = sorted({n for n in firsts if firsts.count(n) > 1})
    if dup:
        raise ConfigError(f'vocabulary has duplicated class names: {dup}')
    return groups


def builtin_class_files() -> List[str]:
    """Names of the class files shipped in ``class_names/`` (without ``.txt``)."""
    return sorted(f[:-4] for f in os.listdir(CLASS_NAME_DIR) if f.endswith('.txt'))


def builtin_vocabularies() -> List[str]:
    """Every builtin vocabulary name (detection lists and shipped class files)."""
    return sorted(set(DETECTION_VOCABULARIES) | set(builtin_class_files()))


def read_class_file(path: str) -> List[Entry]:
    """Entries of a ``.txt`` or ``.json`` class file.

    Raises:
        ConfigError: missing, unreadable, malformed or empty file (naming it).
    """
    if not osp.isfile(path):
        raise ConfigError(f'class names file not found: {path} (give a .txt with one class per '
                          'line, a .json list, a comma-separated list, a list of names, or one '
                          f'of {builtin_vocabularies()})')
    try:
        with open(path, encoding='utf-8') as f:
            text = f.read()
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(f'cannot read class names file {path}: {err}') from None
    if path.endswith('.json'):
        entries = _json_entries(path, text)
    else:
        lines = (ln.strip() for ln in text.splitlines())
        entries = [ln for ln in lines if ln and not ln.startswith('#')]
    if not entries:
        raise ConfigError(f'class names file {path} is empty')
    return entries


def _json_entries(path: str, text: str) -> List[Entry]:
    try:
        data = json.loads(text)
    except ValueError as err:
        raise ConfigError(f'class names file {path} is not valid JSON: {err}') from None
    if isinstance(data, dict):
        data = data.get('classes')
    if not isinstance(data, list) or not all(
            isinstance(n, str) or (isinstance(n, list) and all(isinstance(s, str) for s in n))
            for n in data):
        raise ConfigError(f'class names file {path}: expected a JSON list of class names (or of '
                          'synonym lists), or {"classes": [...]}')
    return data


def resolve_vocabulary(spec: VocabSpec, free_text: bool = False) -> List[Entry]:
    """A vocabulary spec (see the module docstring) -> its list of entries.

    Args:
        spec: builtin name, class file, comma-separated string or list of entries.
        free_text: read a string that is neither a builtin name nor a file as a comma list
            even without a comma (``'cat'`` -> ``['cat']``; command-line word lists). Otherwise
            such a string is an unknown vocabulary name.

    Returns:
        the entries, in order (strings with ``;`` synonyms, or synonym lists). Duplicates are
        not rejected here (see :func:`check_vocabulary`).

    Raises:
        ConfigError: unknown name, missing / malformed / empty file, or an empty vocabulary.
    """
    if spec is None:
        raise ConfigError('vocabulary is empty: give at least one class name')
    if isinstance(spec, str):
        name = spec.strip()
        if name in DETECTION_VOCABULARIES:
            entries = list(DETECTION_VOCABULARIES[name]())
        elif name in builtin_class_files():
            entries = read_class_file(osp.join(CLASS_NAME_DIR, f'{name}.txt'))
        elif name.endswith(CLASS_FILE_EXTENSIONS) or osp.isfile(name):
            entries = read_class_file(name)
        elif CLASS_SEPARATOR in name or free_text:
            entries = [w.strip() for w in name.split(CLASS_SEPARATOR) if w.strip()]
        elif osp.sep in name:
            entries = read_class_file(name)  # a path: says it is not found
        else:
            raise ConfigError(f'unknown vocabulary {spec!r}: use one of '
                              f'{builtin_vocabularies()}, a .txt / .json class-names file, a '
                              'comma-separated list or a list of names')
    else:
        entries = [e.strip() if isinstance(e, str) else list(e) for e in spec]
        if not entries:
            raise ConfigError(f'class names must be a non-empty list of non-empty strings: '
                              f'{spec!r}')
    if not entries:
        raise ConfigError(f'vocabulary is empty: {spec!r} gives no class names')
    for e in entries:
        split_synonyms(e)  # every entry must hold a name
    return entries
