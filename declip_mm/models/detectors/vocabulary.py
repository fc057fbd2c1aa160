"""Class vocabulary of the open-vocabulary detector: names -> text embeddings, base-class mask.

The embeddings come from a frozen ``DeCLIPTextEncoder`` (template-ensembled CLIP text
embeddings, cached in memory and, with its ``cache_dir``, on disk) or from a file of
pre-computed embeddings:

* ``.pt`` with a dict ``{class name: (D,) tensor}`` (CLIPSelf F-ViT's layout; a
  ``'background'`` key is ignored, the background embedding is learned by the bbox head), or
* ``.pt`` / ``.npy`` with a ``(C, D)`` array whose rows follow the configured vocabulary
  (CLIM's layout).

Any list of words can replace the vocabulary at test time; with a text encoder they are encoded
on the fly, with a file only names present in it can be used.
"""
import os.path as osp
from typing import Dict, List, Optional, Sequence, Union

import numpy as np
import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import Tensor, nn

from ...datasets.ov_detection.class_names import resolve_class_names
from ...utils.errors import ConfigError
from ...checkpoint import safe_torch_load
from ..text.text_encoder import check_vocabulary, split_synonyms

VocabSpec = Union[str, Sequence[Union[str, Sequence[str]]]]
EmbeddingTable = Union[Dict[str, Tensor], Tensor]


def entry_key(entry: Union[str, Sequence[str]]) -> str:
    """Canonical name of a vocabulary entry: its first synonym, lower-case, ``_`` -> space."""
    return split_synonyms(entry)[0].lower()


def load_embedding_table(path: str) -> EmbeddingTable:
    """Read a class-embedding file (``.pt`` dict / tensor or ``.npy`` array).

    Raises:
        ConfigError: missing file, unknown extension or content.
    """
    if not osp.isfile(path):
        raise ConfigError(f'class embeddings file not found: {path}')
    if path.endswith('.npy'):
        table = torch.from_numpy(np.load(path, allow_pickle=False))
    elif path.endswith(('.pt', '.pth')):
        table = safe_torch_load(path)
    else:
        raise ConfigError(f'class embeddings file must be .pt, .pth or .npy: {path}')
    if isinstance(table, np.ndarray):
        table = torch.from_numpy(table)
    if isinstance(table, dict):
        out = {entry_key(k): torch.as_tensor(v).float().flatten() for k, v in table.items()
               if entry_key(k) != 'background'}
        if out:
            return out
    elif isinstance(table, Tensor) and table.dim() == 2:
        return table.float()
    raise ConfigError(f'{path}: expected a dict {{name: embedding}} or a (classes, dim) array')


def lookup_embeddings(table: EmbeddingTable, names: Sequence, table_names: Sequence) -> Tensor:
    """``(len(names), D)`` rows of ``table`` for ``names``.

    Args:
        table: a name dict, or a ``(len(table_names), D)`` array whose rows follow
            ``table_names``.
        names: the wanted vocabulary entries.
        table_names: the configured vocabulary (row order of an array table).

    Raises:
        ConfigError: names the table does not hold, or an array of the wrong length.
    """
    if isinstance(table, Tensor):
        if table.shape[0] != len(table_names):
            raise ConfigError(f'class embeddings have {table.shape[0]} rows but the vocabulary '
                              f'has {len(table_names)} classes')
        table = {entry_key(n): row for n, row in zip(table_names, table)}
    keys = [entry_key(n) for n in names]
    missing = [k for k in keys if k not in table]
    if missing:
        raise ConfigError(f'class embeddings file has no entry for {missing[:10]}'
                          f'{" ..." if len(missing) > 10 else ""}; give the detector a '
                          'text_encoder to use new class names')
    return F.normalize(torch.stack([table[k] for k in keys]), dim=-1)


class DeCLIPVocabulary(BaseModule):
    """Names, base-class set and text embeddings of a detector's classes.

    Args:
        vocabulary: the training vocabulary (a registered name such as ``'ov_coco'``, a
            ``.txt`` / ``.json`` class-names file, or a list); it must list the dataset's classes
            in label order.
        base_classes: classes trained with annotations (same forms). The others are *novel*:
            zero training weight, fused with the VLM weight ``beta`` at test time. ``None``: all
            training classes are base. Words of a test-time vocabulary that are not base
            classes are novel.
        text_encoder: a ``DeCLIPTextEncoder`` config (or module).
        class_embeddings: path of pre-computed embeddings (used for the training vocabulary;
            with a text encoder as well, other vocabularies are encoded by the encoder).
    """

    def __init__(self, vocabulary: VocabSpec, base_classes: Optional[VocabSpec] = None,
                 text_encoder: Optional[Union[dict, nn.Module]] = None,
                 class_embeddings: Optional[str] = None):
        super().__init__()
        self.names = resolve_class_names(vocabulary)
        check_vocabulary(self.names)
        keys = {entry_key(n) for n in self.names}
        self.base_keys = keys
        if base_classes is not None:
            self.base_keys = {entry_key(n) for n in resolve_class_names(base_classes)}
            unknown = sorted(self.base_keys - keys)
            if unknown:
                raise ConfigError(f'base_classes not in the vocabulary: {unknown[:10]}')
        if text_encoder is None and class_embeddings is None:
            raise ConfigError('the detector needs a text_encoder or a class_embeddings file '
                              'to embed its vocabulary')
        if isinstance(text_encoder, dict):
            from mmdet.registry import MODELS
            text_encoder = MODELS.build(text_encoder)
        self.text_encoder = text_encoder
        self.table = load_embedding_table(class_embeddings) if class_embeddings else None
        if self.table is not None and isinstance(self.table, Tensor):
            lookup_embeddings(self.table, self.names, self.names)  # row count check
        self._cache: Dict[tuple, Tensor] = {}

    def init_weights(self) -> None:
        super().init_weights()
        self._cache.clear()

    def _load_from_state_dict(self, *args, **kwargs) -> None:
        self._cache.clear()  # text-encoder weights may change
        super()._load_from_state_dict(*args, **kwargs)

    def base_mask(self, names: Optional[Sequence] = None) -> Tensor:
        """``(C,)`` bool: True where a class of ``names`` (default: the vocabulary) is base,
        i.e. was trained with annotations. Words outside the training vocabulary are novel."""
        names = self.names if names is None else names
        return torch.tensor([entry_key(n) in self.base_keys for n in names], dtype=torch.bool)

    def embeddings(self, names: Optional[Sequence] = None,
                   device: Optional[torch.device] = None) -> Tensor:
        """``(C, D)`` L2-normalised class embeddings of ``names`` (default: the vocabulary).

        Raises:
            ConfigError: empty / duplicated names, or names that neither the file nor a text
                encoder can embed.
        """
        names = list(self.names if names is None else names)
        key = tuple(str(n) for n in names)
        if key not in self._cache:
            check_vocabulary(names)
            self._cache[key] = self._compute(names)
        emb = self._cache[key]
        return emb if device is None else emb.to(device)

    def _compute(self, names: List) -> Tensor:
        if self.table is not None:
            try:
                return lookup_embeddings(self.table, names, self.names)
            except ConfigError:
                if self.text_encoder is None:
                    raise
        with torch.no_grad():
            return self.text_encoder.encode_classes(names).float()
