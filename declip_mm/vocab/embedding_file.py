"""Class-embedding files: declip_mm's one format, and readers for the upstream ones.

declip_mm's format (written by ``tools/dump_text_embeddings.py`` and the embedding cache) is a
``torch.save``-d dict, loadable with ``torch.load(..., weights_only=True)``::

    {'format': 'declip_mm.class_embeddings', 'version': 1,
     'names': [entry, ...],            # C vocabulary entries ('a; b' synonyms or lists)
     'embeddings': Tensor (C, D),      # float32, rows L2-normalised (used as stored), in
                                       # 'names' order
                                       # ((C, T, D): one row per template, not ensembled)
     'templates': [str, ...] | None,   # the prompt templates ...
     'prompt_style': 'plain' | 'fvit' | None,   # ... and their style (vocab.templates)
     'background': Tensor (D,) | None, # embedding of the word "background", same recipe
     'text_fingerprint': str | None}   # hash of the text-tower weights that made it

Upstream layouts read by :func:`load_class_embeddings`:

* CLIPSelf F-ViT ``.pt``: a dict ``{class name: (D,) tensor}`` whose ``'background'`` entry
  is kept as :attr:`ClassEmbeddings.background` (``F-ViT/datasets/embeddings/*.pt``);
* CLIM-style ``.pt`` / ``.pth``: a bare ``(C, D)`` tensor, rows in the vocabulary's order;
* ``.npy``: a ``(C, D)`` array, rows in the vocabulary's order (the official DeCLIP region
  classification files, e.g. ``coco_panoptic_clip_hand_craft_EVACLIP_ViTB16.npy``).
"""
import os.path as osp
from dataclasses import dataclass
from typing import List, Optional, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from ..checkpoint.safe_load import safe_torch_load
from ..engine.atomic_io import atomic_torch_save
from ..utils.errors import CheckpointError, ConfigError
from .names import Entry, entry_key

FORMAT = 'declip_mm.class_embeddings'
VERSION = 1
BACKGROUND = 'background'


@dataclass
class ClassEmbeddings:
    """Embeddings of a vocabulary, with what made them.

    Attributes:
        embeddings: ``(C, D)`` float32 (``(C, T, D)`` per template).
        names: the ``C`` entries, or None for a bare array (rows follow the configured
            vocabulary).
        templates, prompt_style: the prompt recipe, when known.
        background: ``(D,)`` embedding of "background", when the file has one.
        text_fingerprint: fingerprint of the text weights, when known.
        source: ``'declip_mm'``, ``'fvit'`` or ``'array'`` (the layout read).
        path: the file it was read from.
    """

    embeddings: Tensor
    names: Optional[List[Entry]] = None
    templates: Optional[List[str]] = None
    prompt_style: Optional[str] = None
    background: Optional[Tensor] = None
    text_fingerprint: Optional[str] = None
    source: str = FORMAT
    path: Optional[str] = None

    def to_dict(self) -> dict:
        """The file content of declip_mm's format."""
        return dict(format=FORMAT, version=VERSION,
                    names=[e if isinstance(e, str) else list(e) for e in self.names or []],
                    embeddings=self.embeddings.detach().float().cpu().contiguous(),
                    templates=list(self.templates) if self.templates is not None else None,
                    prompt_style=self.prompt_style,
                    background=None if self.background is None
                    else self.background.detach().float().cpu().contiguous(),
                    text_fingerprint=self.text_fingerprint)

    def all_rows(self) -> Tensor:
        """``(C, D)`` L2-normalised rows, in file order."""
        self._check_2d()
        return self._normalised(self.embeddings)

    def _normalised(self, rows: Tensor) -> Tensor:
        # declip_mm's files hold normalised rows: returned bit for bit as written, so a dumped
        # file gives exactly the embeddings computed in place; other layouts are normalised.
        return rows if self.source == FORMAT else F.normalize(rows, dim=-1)

    def _check_2d(self) -> None:
        if self.embeddings.dim() != 2:
            raise ConfigError(f'{self.path or "class embeddings"}: expected (classes, dim) '
                              f'embeddings, got shape {tuple(self.embeddings.shape)}')

    def rows(self, names: Sequence[Entry], vocabulary: Optional[Sequence[Entry]] = None
             ) -> Tensor:
        """``(len(names), D)`` L2-normalised rows for ``names``, matched by first synonym
        (case-insensitive).

        Args:
            names: the wanted entries.
            vocabulary: row order of a bare array (the configured vocabulary).

        Raises:
            ConfigError: names the file does not hold, a bare array of the wrong length, or a
                per-template file.
        """
        where = self.path or 'class embeddings'
        self._check_2d()
        table_names = self.names if self.names is not None else vocabulary
        if table_names is None or len(table_names) != self.embeddings.shape[0]:
            n = 'no' if table_names is None else len(table_names)
            raise ConfigError(f'{where} has {self.embeddings.shape[0]} rows but the '
                              f'vocabulary has {n} classes')
        index = {entry_key(n): i for i, n in enumerate(table_names)}
        keys = [entry_key(n) for n in names]
        missing = [k for k in keys if k not in index]
        if missing:
            raise ConfigError(f'{where} has no entry for {missing[:10]}'
                              f'{" ..." if len(missing) > 10 else ""}; give a text_encoder to '
                              'embed new class names')
        return self._normalised(self.embeddings[[index[k] for k in keys]])


def save_class_embeddings(path: str, emb: ClassEmbeddings) -> None:
    """Write ``emb`` in declip_mm's format, atomically (``engine.atomic_io``): a reader sees
    the complete old or the complete new file.

    Raises:
        ConfigError: names and embedding rows disagree.
    """
    if emb.names is not None and len(emb.names) != emb.embeddings.shape[0]:
        raise ConfigError(f'{path}: {len(emb.names)} names but {emb.embeddings.shape[0]} '
                          'embedding rows')
    atomic_torch_save(emb.to_dict(), path)


def load_class_embeddings(path: str) -> ClassEmbeddings:
    """Read any supported class-embedding file (see the module docstring).

    Raises:
        ConfigError: missing or unreadable file, or content of no known layout (naming it).
    """
    if not osp.isfile(path):
        raise ConfigError(f'class embeddings file not found: {path}')
    if not path.endswith(('.pt', '.pth', '.npy')):
        raise ConfigError(f'class embeddings file must be .pt, .pth or .npy: {path}')
    try:
        if path.endswith('.npy'):
            data = torch.from_numpy(np.load(path, allow_pickle=False))
        else:
            data = safe_torch_load(path)
    except CheckpointError as err:  # truncated, refused globals, not a torch file
        raise ConfigError(f'cannot read class embeddings {path}: {err}') from None
    except Exception as err:  # not a numpy file
        raise ConfigError(f'cannot read class embeddings {path}: '
                          f'{type(err).__name__}: {str(err).splitlines()[0][:200]}') from None
    out = _parse(data)
    if out is None:
        raise ConfigError(f'{path}: not a class-embeddings file (expected declip_mm\'s format, '
                          'a dict {name: (D,) tensor} or a (classes, dim) array)')
    out.path = path
    return out


def _parse(data) -> Optional[ClassEmbeddings]:
    if isinstance(data, Tensor):
        return ClassEmbeddings(data.float(), source='array') if data.dim() == 2 else None
    if not isinstance(data, dict) or not data:
        return None
    if data.get('format') == FORMAT:
        emb = data.get('embeddings')
        if not isinstance(emb, Tensor) or emb.dim() not in (2, 3):
            return None
        bg = data.get('background')
        return ClassEmbeddings(emb.float(), list(data.get('names') or []) or None,
                               data.get('templates'), data.get('prompt_style'),
                               None if bg is None else bg.float().flatten(),
                               data.get('text_fingerprint'))
    if not all(isinstance(k, str) and isinstance(v, Tensor) for k, v in data.items()):
        return None
    bg = next((v for k, v in data.items() if entry_key(k) == BACKGROUND), None)
    rows = [(k, v.float().flatten()) for k, v in data.items() if entry_key(k) != BACKGROUND]
    if not rows or len({v.numel() for _, v in rows}) != 1:
        return None
    return ClassEmbeddings(torch.stack([v for _, v in rows]), [k for k, _ in rows],
                           background=None if bg is None else bg.float().flatten(),
                           source='fvit')
