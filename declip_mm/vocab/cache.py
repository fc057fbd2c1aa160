"""The one cache of text embeddings: in memory and on disk, keyed by weights, templates, names.

Every consumer of class-name embeddings (``DeCLIPTextEncoder`` and, through it, the detector
vocabulary, the training-free segmentor and the region classifier; CAT-Seg's text encoder in
eval mode) goes through :class:`EmbeddingCache`. An entry is identified by

* the fingerprint of the text-tower weights (:func:`weights_fingerprint`: a hash of the name,
  shape and a sample of the values of every tensor, so a fine-tuned or another checkpoint never
  reuses the embeddings of the first),
* the prompt templates and their style,
* the names, in order, and the kind of result (``'ensemble'``: one row per name;
  ``'per_template'``: one row per name and template).

Disk entries are class-embedding files in declip_mm's format (:mod:`.embedding_file`), one
``<key>.pt`` per entry, written atomically. The default folder is :func:`default_cache_dir`
(``$DECLIP_MM_TEXT_CACHE``, else ``$XDG_CACHE_HOME/declip_mm/text_embeddings``, else
``~/.cache/declip_mm/text_embeddings``), never a path relative to the working directory.
"""
import hashlib
import json
import logging
import os
import os.path as osp
from collections import OrderedDict
from typing import Callable, List, Optional, Union

from mmengine.logging import print_log
from torch import Tensor, nn

from ..utils.errors import ConfigError
from .embedding_file import ClassEmbeddings, load_class_embeddings, save_class_embeddings
from .templates import PromptTemplates

CACHE_ENV = 'DECLIP_MM_TEXT_CACHE'
KINDS = ('ensemble', 'per_template')
CacheDir = Union[str, bool, None]


def default_cache_dir() -> str:
    """Folder of the disk cache: ``$DECLIP_MM_TEXT_CACHE``, else the user cache folder."""
    if os.environ.get(CACHE_ENV):
        return osp.expanduser(os.environ[CACHE_ENV])
    base = os.environ.get('XDG_CACHE_HOME') or osp.join(osp.expanduser('~'), '.cache')
    return osp.join(base, 'declip_mm', 'text_embeddings')


def _version(t: Tensor) -> int:
    """In-place modification counter (inference-mode tensors have none: they cannot change)."""
    try:
        return t._version
    except RuntimeError:
        return -1


def weights_fingerprint(module: nn.Module) -> str:
    """Hash of ``module``'s tensors (name, shape and every value).

    Recomputed only when a tensor was replaced or modified in place (``load_state_dict`` and
    optimiser steps bump ``_version``); the memo is kept on the module.
    """
    tensors = dict(module.state_dict(keep_vars=True))
    signature = tuple((t.data_ptr(), _version(t)) for t in tensors.values())
    memo = getattr(module, '_declip_fingerprint', None)
    if memo is None or memo[0] != signature:
        h = hashlib.sha1()
        for name, t in tensors.items():
            h.update(f'{name}{tuple(t.shape)}{t.dtype}'.encode())
            h.update(t.detach().float().cpu().contiguous().numpy().data)
        memo = (signature, h.hexdigest())
        object.__setattr__(module, '_declip_fingerprint', memo)
    return memo[1]


def cache_key(fingerprint: str, templates: PromptTemplates, names: List[str],
              kind: str = 'ensemble') -> str:
    """Hex key of an entry (see the module docstring)."""
    if kind not in KINDS:
        raise ConfigError(f'unknown embedding kind {kind!r}: use one of {KINDS}')
    blob = json.dumps([fingerprint, list(templates.templates), templates.style, list(names), kind])
    return hashlib.sha1(blob.encode()).hexdigest()[:20]


class EmbeddingCache:
    """Memory (least-recently-used, ``max_entries``) and disk cache of text embeddings.

    Args:
        cache_dir: disk folder; None: :func:`default_cache_dir`; False or ``''``: memory only.
        max_entries: entries kept in memory.
    """

    def __init__(self, cache_dir: CacheDir = None, max_entries: int = 32):
        if cache_dir is None or cache_dir is True:
            cache_dir = default_cache_dir()
        self.cache_dir: Optional[str] = osp.expanduser(cache_dir) if cache_dir else None
        self.max_entries = max_entries
        self._memory: 'OrderedDict[str, Tensor]' = OrderedDict()

    def path(self, key: str) -> Optional[str]:
        """Disk file of an entry (None without a disk cache)."""
        return osp.join(self.cache_dir, f'{key}.pt') if self.cache_dir else None

    def get_or_compute(self, names: List[str], templates: PromptTemplates, fingerprint: str,
                       compute: Callable[[], Tensor], kind: str = 'ensemble') -> Tensor:
        """The cached embeddings of ``names``, else ``compute()`` (stored in memory and on disk).

        Args:
            names: the names embedded, in row order.
            templates: the prompt recipe ``compute`` uses.
            fingerprint: :func:`weights_fingerprint` of the text tower.
            compute: returns ``(N, D)`` (``'ensemble'``) or ``(N, T, D)`` (``'per_template'``).
            kind: see the module docstring.

        Returns:
            the embeddings, on the device ``compute`` uses (disk entries are on the CPU).
        """
        key = cache_key(fingerprint, templates, names, kind)
        if key in self._memory:
            self._memory.move_to_end(key)
            return self._memory[key]
        emb = self._read(key, names, templates, fingerprint)
        if emb is None:
            where = self.path(key) or 'memory only (no cache_dir)'
            print_log(f'text embeddings: computing {len(names)} names x {len(templates)} '
                      f'templates ({templates.style} prompts); cache: {where}', logger='current')
            emb = compute()
            if self.cache_dir:
                self._write(key, emb, names, templates, fingerprint)
        self._memory[key] = emb
        while len(self._memory) > self.max_entries:
            self._memory.popitem(last=False)
        return emb

    def _write(self, key: str, emb: Tensor, names: List[str], templates: PromptTemplates,
               fingerprint: str) -> None:
        """Store a disk entry; the cache is an optimisation, so a failed write (full disk,
        another rank writing the same entry) is one log line, not an error."""
        try:
            save_class_embeddings(self.path(key), ClassEmbeddings(
                emb, list(names), list(templates.templates), templates.style,
                text_fingerprint=fingerprint))
        except OSError as err:
            print_log(f'text embeddings: could not write the cache entry {self.path(key)}: '
                      f'{err}', logger='current', level=logging.WARNING)

    def _read(self, key: str, names: List[str], templates: PromptTemplates,
              fingerprint: str) -> Optional[Tensor]:
        """A disk entry, if present and made from the same inputs; an unreadable or foreign
        file is ignored (recomputed and overwritten)."""
        path = self.path(key)
        if not path or not osp.isfile(path):
            return None
        try:
            entry = load_class_embeddings(path)
        except ConfigError:
            return None
        same = (entry.names == list(names) and entry.text_fingerprint == fingerprint
                and entry.templates == list(templates.templates)
                and entry.prompt_style == templates.style
                and entry.embeddings.shape[0] == len(names))
        return entry.embeddings if same else None

