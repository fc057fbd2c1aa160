"""CAT-Seg's text tower: the DeCLIP text encoder with its attention in-projections trainable.

CAT-Seg (and the DeCLIP CAT-Seg branch) fine-tunes, in the text transformer, only the fused
q/k/v in-projection weights of every residual block (``attn.in_proj_weight``), and encodes the
class prompts with gradients at every training step. ``DeCLIPTextEncoder`` keeps its tower
frozen and encodes under ``no_grad``; this subclass re-enables the chosen parameters and adds a
differentiable ``forward``. In eval mode the per-template embeddings of a vocabulary go
through the one embedding cache (``declip_mm.vocab.EmbeddingCache``, keyed by the weights'
fingerprint, so trained weights never reuse stale entries; memory only unless ``cache_dir`` is
given).
"""
from typing import Optional, Sequence, Union

import torch.nn.functional as F
from mmseg.registry import MODELS
from torch import Tensor

from ...vocab.cache import CacheDir
from ...vocab.templates import TemplateSpec
from ..freezing import lock
from ..text.text_encoder import DeCLIPTextEncoder

TEXT_IN_PROJ = ('transformer.resblocks.*.attn.in_proj_weight',)


@MODELS.register_module()
class DeCLIPCATSegTextEncoder(DeCLIPTextEncoder):
    """Text tower for CAT-Seg.

    Args:
        arch: as for ``DeCLIPTextEncoder`` (same as the paired ``DeCLIPViT``).
        templates: ``'scene'`` (CAT-Seg's 'A photo of a {} in the scene'), ``'imagenet'`` ... or
            a list; each template is one channel of the cost volume.
        trainable: fnmatch patterns (names relative to the open_clip text tower) left trainable.
        cache_dir: disk folder of the eval-mode embedding cache (default False: memory only,
            the weights are trained).
        init_cfg: ``dict(type='Pretrained', checkpoint=PATH)`` (``text.*`` keys).
    """

    def __init__(self, arch: Union[str, dict] = 'EVA02-CLIP-B-16',
                 templates: TemplateSpec = 'scene',
                 trainable: Sequence[str] = TEXT_IN_PROJ,
                 cache_dir: CacheDir = False,
                 init_cfg: Optional[dict] = None):
        super().__init__(arch=arch, templates=templates, cache_dir=cache_dir, init_cfg=init_cfg)
        self.trainable = list(trainable)
        lock(self.text, [n for n, _ in self.text.named_parameters()], self.trainable)

    @property
    def num_templates(self) -> int:
        return len(self.templates)

    def forward(self, names: Sequence[str]) -> Tensor:
        """Normalised prompt embeddings ``(N, T, D)`` of ``names`` (T templates), with gradients
        in training mode; cached in eval mode."""
        device = self.text.token_embedding.weight.device
        if not self.training:
            return self.cache.get_or_compute(
                list(names), self.templates, self.fingerprint(),
                lambda: self.encode_prompts(names, progress=True),
                kind='per_template').to(device)
        prompts = [p for n in names for p in self.templates.prompts(n)]
        emb = F.normalize(self.text(self.tokenizer(prompts).to(device)).float(), dim=-1)
        return emb.view(len(names), self.num_templates, -1)
