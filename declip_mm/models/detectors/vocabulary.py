"""Class vocabulary of the open-vocabulary detector: names -> text embeddings, base-class mask.

The embeddings come from a frozen ``DeCLIPTextEncoder`` (template-ensembled CLIP text
embeddings, through the one embedding cache of ``declip_mm.vocab``) or from a class-embedding
file read by ``declip_mm.vocab.load_class_embeddings``: declip_mm's format (written by
``tools/dump_text_embeddings.py``), CLIPSelf F-ViT's ``{name: (D,) tensor}`` ``.pt`` (its
``'background'`` entry is kept: :meth:`DeCLIPVocabulary.background_embedding`), or a ``(C, D)``
``.pt`` / ``.npy`` array whose rows follow the configured vocabulary (CLIM's layout).

Any list of words can replace the vocabulary at test time; with a text encoder they are encoded
on the fly, with a file only names present in it can be used.
"""
from typing import Optional, Sequence, Union

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import Tensor, nn

from ...utils.errors import ConfigError
from ...vocab import (VocabSpec, check_vocabulary, entry_key, load_class_embeddings,
                      resolve_vocabulary)
from ...vocab.embedding_file import BACKGROUND


class DeCLIPVocabulary(BaseModule):
    """Names, base-class set and text embeddings of a detector's classes.

    Args:
        vocabulary: the training vocabulary (any spec of ``declip_mm.vocab.resolve_vocabulary``
            such as ``'ov_coco'``, a ``.txt`` / ``.json`` class-names file, or a list); it must
            list the dataset's classes in label order.
        base_classes: classes trained with annotations (same forms). The others are *novel*:
            zero training weight, fused with the VLM weight ``beta`` at test time. ``None``: all
            training classes are base. Words of a test-time vocabulary that are not base
            classes are novel.
        text_encoder: a ``DeCLIPTextEncoder`` config (or module).
        class_embeddings: path of a class-embedding file (used for the names it holds; with a
            text encoder as well, other names are encoded by the encoder).
    """

    def __init__(self, vocabulary: VocabSpec, base_classes: Optional[VocabSpec] = None,
                 text_encoder: Optional[Union[dict, nn.Module]] = None,
                 class_embeddings: Optional[str] = None):
        super().__init__()
        self.names = resolve_vocabulary(vocabulary)
        check_vocabulary(self.names)
        keys = {entry_key(n) for n in self.names}
        self.base_keys = keys
        if base_classes is not None:
            self.base_keys = {entry_key(n) for n in resolve_vocabulary(base_classes)}
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
        self.table = load_class_embeddings(class_embeddings) if class_embeddings else None
        if self.table is not None and self.table.names is None:
            self.table.rows(self.names, self.names)  # a bare array must have one row a class

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
        check_vocabulary(names)
        emb = None
        if self.table is not None:
            try:
                emb = self.table.rows(names, self.names)
            except ConfigError:
                if self.text_encoder is None:
                    raise
        if emb is None:
            with torch.no_grad():
                emb = self.text_encoder.encode_classes(names).float()
        return emb if device is None else emb.to(device)

    def background_embedding(self, device: Optional[torch.device] = None) -> Tensor:
        """``(D,)`` L2-normalised embedding of the word "background" (F-ViT's fixed background
        class, ``background='text'``): the ``'background'`` row of the class-embedding file if
        it has one (same recipe as its class rows), else the text encoder's embedding of
        "background" under its templates.

        Raises:
            ConfigError: neither a background row nor a text encoder.
        """
        if self.table is not None and self.table.background is not None:
            emb = F.normalize(self.table.background.float(), dim=-1)
        elif self.text_encoder is not None:
            with torch.no_grad():
                emb = self.text_encoder.encode_classes([BACKGROUND])[0].float()
        else:
            path = self.table.path if self.table is not None else None
            raise ConfigError(f"embedding file {path} has no background row; background='text' "
                              'needs a file with a "background" entry (F-ViT layout, or '
                              'tools/dump_text_embeddings.py --background) or a text_encoder')
        return emb if device is None else emb.to(device)
