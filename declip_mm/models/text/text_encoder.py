"""A frozen CLIP text tower that turns class names into normalised, cached embeddings.

Vocabulary entries follow declip_mm's synonym rule (``declip_mm.vocab.split_synonyms``: a
class name, or several synonyms as a list or one string with ``;`` between them).
``encode_vocabulary`` returns one embedding per synonym plus the class index of each, so
callers take the max over synonyms (segmentation) or the mean (detection). Each name's
embedding is the L2-normalised mean of its L2-normalised prompt embeddings (CLIP's prompt
ensembling); the prompts come from a template set (``declip_mm.vocab.get_templates``, incl.
F-ViT's recipe ``'fvit'``). Results go through the one embedding cache
(``declip_mm.vocab.EmbeddingCache``: memory, and disk under the user cache folder by default).
"""
import sys
from typing import Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from mmengine.utils import ProgressBar
from torch import Tensor

from ...registry import MODELS
from ...utils.errors import ConfigError
from ...vocab import EmbeddingCache, check_vocabulary, get_templates, weights_fingerprint
from ...vocab.cache import CacheDir
from ...vocab.names import Entry
from ...vocab.templates import PromptTemplates, TemplateSpec
from ..backbones.archs import resolve_arch


@MODELS.register_module()
class DeCLIPTextEncoder(BaseModule):
    """CLIP text tower (open_clip ``TextTransformer``) for class-name embeddings.

    Args:
        arch: the same name / dict as the paired ``DeCLIPViT`` (its ``text_cfg`` and
            ``embed_dim`` are used).
        templates: a template set name (``'imagenet'`` (80), ``'vild'``, ``'single'``,
            ``'scene'``, ``'fvit'``), a list, or ``dict(templates=[...], style=...)``.
        cache_dir: disk folder of the embedding cache; None: the user cache folder
            (``$DECLIP_MM_TEXT_CACHE`` or ``~/.cache/declip_mm/text_embeddings``); False:
            memory only.
        init_cfg: ``dict(type='Pretrained', checkpoint=PATH)``: ``text.*`` keys of an EVA-CLIP /
            DeCLIP / open_clip custom-text checkpoint, or the top-level text keys of an
            OpenAI-style open_clip checkpoint.
    """

    def __init__(self, arch: Union[str, dict] = 'EVA02-CLIP-B-16',
                 templates: TemplateSpec = 'imagenet',
                 cache_dir: CacheDir = None, init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        from open_clip.model import _build_text_tower
        from open_clip.tokenizer import SimpleTokenizer
        cfg = resolve_arch(arch)
        if 'text_cfg' not in cfg:
            raise ConfigError(f'arch {arch!r} has no "text_cfg"')
        self.text = _build_text_tower(cfg['embed_dim'], cfg['text_cfg'],
                                      quick_gelu=cfg.get('quick_gelu', False))
        self.tokenizer = SimpleTokenizer(context_length=cfg['text_cfg'].get('context_length', 77))
        self.templates: PromptTemplates = get_templates(templates)
        self.cache = EmbeddingCache(cache_dir)
        for p in self.parameters():
            p.requires_grad_(False)

    def init_weights(self) -> None:
        from ...checkpoint import init_with_pretrained, load_text_checkpoint
        init_with_pretrained(self, lambda path, prefix: load_text_checkpoint(
            self.text, path, prefix), super().init_weights)

    def train(self, mode: bool = True) -> 'DeCLIPTextEncoder':
        super().train(mode)
        self.text.eval()  # always frozen
        return self

    def fingerprint(self) -> str:
        """Fingerprint of the text-tower weights (the cache key's weights part)."""
        return weights_fingerprint(self.text)

    @torch.no_grad()
    def encode_text(self, prompts: Sequence[str], batch_size: int = 256,
                    progress: bool = False) -> Tensor:
        """``(N, embed_dim)`` L2-normalised embeddings of raw prompts (``progress``: show a
        progress bar over the prompts)."""
        device = next(self.text.parameters()).device
        bar = ProgressBar(len(prompts), file=sys.stdout) if progress else None
        chunks = []
        for i in range(0, len(prompts), batch_size):
            tokens = self.tokenizer(list(prompts[i:i + batch_size])).to(device)
            chunks.append(F.normalize(self.text(tokens).float(), dim=-1))
            if bar is not None:
                bar.update(len(tokens))
        if bar is not None:
            bar.file.write('\n')
        return torch.cat(chunks)

    def encode_prompts(self, names: Sequence[str], templates: Optional[TemplateSpec] = None,
                       progress: bool = False) -> Tensor:
        """``(len(names), T, embed_dim)``: the normalised embedding of every prompt of every
        name (T templates; default: the encoder's)."""
        templates = self.templates if templates is None else get_templates(templates)
        prompts = [p for n in names for p in templates.prompts(n)]
        return self.encode_text(prompts, progress=progress).view(len(names), len(templates), -1)

    def encode_names(self, names: Sequence[str], templates: Optional[TemplateSpec] = None,
                     progress: bool = False) -> Tensor:
        """``(len(names), embed_dim)``: template-ensembled, normalised name embeddings."""
        emb = self.encode_prompts(names, templates, progress)
        return F.normalize(emb.mean(1), dim=-1)

    def encode_vocabulary(self, vocab: Sequence[Entry],
                          templates: Optional[TemplateSpec] = None) -> Tuple[Tensor, Tensor]:
        """Embeddings of every synonym, through the embedding cache.

        Returns:
            ``(S, embed_dim)`` synonym embeddings and ``(S,)`` the class index of each.
        """
        groups = check_vocabulary(vocab)
        templates = self.templates if templates is None else get_templates(templates)
        names = [n for g in groups for n in g]
        device = self.text.token_embedding.weight.device
        emb = self.cache.get_or_compute(
            names, templates, self.fingerprint(),
            lambda: self.encode_names(names, templates, progress=True)).to(device)
        index = torch.tensor([i for i, g in enumerate(groups) for _ in g], device=device)
        return emb, index

    def encode_classes(self, vocab: Sequence[Entry],
                       templates: Optional[TemplateSpec] = None) -> Tensor:
        """``(num_classes, embed_dim)``: one embedding per class (synonyms averaged)."""
        emb, index = self.encode_vocabulary(vocab, templates)
        out = torch.zeros(int(index.max()) + 1, emb.shape[1], device=emb.device)
        out.index_add_(0, index, emb)
        return F.normalize(out, dim=-1)
