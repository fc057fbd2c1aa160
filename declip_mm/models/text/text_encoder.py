"""A frozen CLIP text tower that turns class names into normalised, cached embeddings.

Vocabulary entries are a class name, or several synonyms (a list, or one string with ``'; '``
or ``', '`` between them as in the training-free class files). ``encode_vocabulary`` returns
one embedding per synonym plus the class index of each, so callers take the max over synonyms
(segmentation) or the mean (detection). Each name's embedding is the L2-normalised mean of its
L2-normalised template embeddings (CLIP's prompt ensembling).
"""
import hashlib
import os
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import Tensor

from ...registry import MODELS
from ...utils.errors import ConfigError
from ..backbones.archs import resolve_arch
from .templates import get_templates

VocabEntry = Union[str, Sequence[str]]


def split_synonyms(entry: VocabEntry) -> List[str]:
    """``'person; man'`` / ``['person', 'man']`` -> ``['person', 'man']`` (stripped, non-empty)."""
    if isinstance(entry, str):
        sep = '; ' if '; ' in entry else (', ' if ', ' in entry else None)
        entry = entry.split(sep) if sep else [entry]
    names = [n.strip().replace('_', ' ') for n in entry if n and n.strip()]
    if not names:
        raise ConfigError(f'empty class name in vocabulary: {entry!r}')
    return names


def check_vocabulary(vocab: Sequence[VocabEntry]) -> List[List[str]]:
    """Split synonyms and reject empty or duplicated vocabularies with one clear message."""
    if vocab is None or len(vocab) == 0:
        raise ConfigError('vocabulary is empty: give at least one class name')
    groups = [split_synonyms(v) for v in vocab]
    # Only the class names (first entries) must be unique: real class files (ADE-847,
    # COCO-Object) legitimately share synonyms between classes.
    firsts = [g[0].lower() for g in groups]
    dup = sorted({n for n in firsts if firsts.count(n) > 1})
    if dup:
        raise ConfigError(f'vocabulary has duplicated class names: {dup}')
    return groups


def _version(t: Tensor) -> int:
    """In-place modification counter (inference-mode tensors have none: they cannot change)."""
    try:
        return t._version
    except RuntimeError:
        return -1


@MODELS.register_module()
class DeCLIPTextEncoder(BaseModule):
    """CLIP text tower (open_clip ``TextTransformer``) for class-name embeddings.

    Args:
        arch: the same name / dict as the paired ``DeCLIPViT`` (its ``text_cfg`` and
            ``embed_dim`` are used).
        templates: ``'imagenet'`` (80), ``'vild'``, ``'single'``, ``'scene'`` or a list.
        cache_dir: if set, embeddings of each (vocabulary, templates, weights) are saved there
            and reused across runs.
        init_cfg: ``dict(type='Pretrained', checkpoint=PATH)``: ``text.*`` keys of an EVA-CLIP /
            DeCLIP / open_clip custom-text checkpoint, or the top-level text keys of an
            OpenAI-style open_clip checkpoint.
    """

    def __init__(self, arch: Union[str, dict] = 'EVA02-CLIP-B-16',
                 templates: Union[str, Sequence[str]] = 'imagenet',
                 cache_dir: Optional[str] = None, init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        from open_clip.model import _build_text_tower
        from open_clip.tokenizer import SimpleTokenizer
        cfg = resolve_arch(arch)
        if 'text_cfg' not in cfg:
            raise ConfigError(f'arch {arch!r} has no "text_cfg"')
        self.text = _build_text_tower(cfg['embed_dim'], cfg['text_cfg'],
                                      quick_gelu=cfg.get('quick_gelu', False))
        self.tokenizer = SimpleTokenizer(context_length=cfg['text_cfg'].get('context_length', 77))
        self.templates = get_templates(templates)
        self.cache_dir = cache_dir
        self._memory: Dict[str, Tensor] = {}
        for p in self.parameters():
            p.requires_grad_(False)

    def init_weights(self) -> None:
        from ...checkpoint import init_with_pretrained, load_text_checkpoint
        init_with_pretrained(self, lambda path, prefix: load_text_checkpoint(
            self.text, path, prefix), super().init_weights)
        self._memory.clear()

    def train(self, mode: bool = True) -> 'DeCLIPTextEncoder':
        super().train(mode)
        self.text.eval()  # always frozen
        return self

    @torch.no_grad()
    def encode_text(self, prompts: Sequence[str], batch_size: int = 256) -> Tensor:
        """``(N, embed_dim)`` L2-normalised embeddings of raw prompts."""
        device = next(self.text.parameters()).device
        chunks = []
        for i in range(0, len(prompts), batch_size):
            tokens = self.tokenizer(list(prompts[i:i + batch_size])).to(device)
            chunks.append(F.normalize(self.text(tokens).float(), dim=-1))
        return torch.cat(chunks)

    def encode_names(self, names: Sequence[str],
                     templates: Optional[Sequence[str]] = None) -> Tensor:
        """``(len(names), embed_dim)``: template-ensembled, normalised name embeddings."""
        templates = list(templates or self.templates)
        emb = self.encode_text([t.format(n) for n in names for t in templates])
        emb = emb.view(len(names), len(templates), -1).mean(1)
        return F.normalize(emb, dim=-1)

    def encode_vocabulary(self, vocab: Sequence[VocabEntry],
                          templates: Optional[Sequence[str]] = None) -> Tuple[Tensor, Tensor]:
        """Embeddings of every synonym, cached.

        Returns:
            ``(S, embed_dim)`` synonym embeddings and ``(S,)`` the class index of each.
        """
        groups = check_vocabulary(vocab)
        templates = list(templates or self.templates)
        key = self._cache_key(groups, templates)
        if key not in self._memory:
            self._memory[key] = self._load_or_compute(key, groups, templates)
        emb = self._memory[key]
        index = torch.tensor([i for i, g in enumerate(groups) for _ in g], device=emb.device)
        return emb, index

    def encode_classes(self, vocab: Sequence[VocabEntry],
                       templates: Optional[Sequence[str]] = None) -> Tensor:
        """``(num_classes, embed_dim)``: one embedding per class (synonyms averaged)."""
        emb, index = self.encode_vocabulary(vocab, templates)
        out = torch.zeros(int(index.max()) + 1, emb.shape[1], device=emb.device)
        out.index_add_(0, index, emb)
        return F.normalize(out, dim=-1)

    def _cache_key(self, groups: List[List[str]], templates: List[str]) -> str:
        h = hashlib.sha1(repr((groups, templates)).encode())
        h.update(self._weights_fingerprint().encode())
        return h.hexdigest()[:16]

    def _weights_fingerprint(self) -> str:
        """Hash of a sample of *every* text-tower tensor (name, shape, values), so embeddings of
        one text checkpoint are never reused for another. Recomputed only when a tensor was
        replaced or modified in place (``load_state_dict`` bumps ``_version``)."""
        tensors = dict(self.text.state_dict(keep_vars=True))
        signature = tuple((t.data_ptr(), _version(t)) for t in tensors.values())
        if getattr(self, '_fingerprint', (None, ''))[0] != signature:
            h = hashlib.sha1()
            for name, t in tensors.items():
                flat = t.detach().reshape(-1)
                sample = flat[::max(1, flat.numel() // 64)][:64].float().cpu()
                h.update(f'{name}{tuple(t.shape)}'.encode())
                h.update(sample.numpy().tobytes())
            self._fingerprint = (signature, h.hexdigest())
        return self._fingerprint[1]

    def _load_or_compute(self, key: str, groups: List[List[str]], templates: List[str]) -> Tensor:
        path = os.path.join(self.cache_dir, f'text_{key}.pt') if self.cache_dir else None
        names = [n for g in groups for n in g]
        device = self.text.token_embedding.weight.device
        if path and os.path.isfile(path):
            try:
                emb = torch.load(path, map_location='cpu', weights_only=True)
            except Exception:  # unreadable (truncated, foreign): recompute and overwrite
                emb = None
            if isinstance(emb, Tensor) and emb.dim() == 2 and emb.shape[0] == len(names):
                return emb.to(device)
        emb = self.encode_names(names, templates)
        if path:
            os.makedirs(self.cache_dir, exist_ok=True)
            tmp = f'{path}.{os.getpid()}.tmp'  # per process: ranks may write the same entry
            try:
                torch.save(emb.cpu(), tmp)
                os.replace(tmp, path)
            finally:
                if os.path.exists(tmp):
                    os.remove(tmp)
        return emb
